"""/v1/invitation_acceptances and /v1/audit."""

import re

import pecan
from pecan import rest

from federation_proxy.api import views
from federation_proxy.api import vo_access
from federation_proxy.db import communities
from federation_proxy.schemas import community as schema
from svc_common.api import controller
from svc_common.api import openapi
from svc_common.api import validation
from svc_common import errors

# An audit record's ID, written in ASCII digits: no more of them than a
# 64-bit integer column compares with (SQLite refuses larger numbers).
_AUDIT_ID = re.compile('[0-9]{1,18}')


def _audit_marker(marker):
    """The ID of the audit record a page starts after, as a number, or
    None without a marker; a 400 ``invalid_marker`` for anything that is
    not such an ID (a huge number reached the database: a 500)."""
    if not marker:
        return None
    if not _AUDIT_ID.fullmatch(marker):
        raise errors.BadRequest(
            'No audit record %s to start after: a marker is the id of an '
            'audit record.' % errors.quoted_id(marker),
            code='invalid_marker', field='marker')
    return int(marker)


class InvitationAcceptancesController(rest.RestController):
    """A person accepts an invitation with its token, for themselves."""

    OPENAPI = {
        'post': openapi.Operation('invitation:accept',
                                  schema.RESPONSE_MEMBERSHIP, status=201,
                                  body=schema.INVITATION_ACCEPT,
                                  errors=(404, 409)),
    }

    @pecan.expose('json')
    def post(self):
        vo_access.enforce('invitation:accept',
                          {'is_user': vo_access.is_user()})
        body = validation.json_body(schema.INVITATION_ACCEPT)
        conf = pecan.request.conf.federation
        _, event = communities.accept_invitation(
            pecan.request.db, pecan.request.context, body['token'],
            vo_access.caller_id(), conf.membership_lifetime_days)
        views.announce(event)
        row = communities.get_membership(
            pecan.request.db, pecan.request.context, event[1]['vo_id'],
            event[1]['membership_id'])
        return controller.created({'membership': views.membership(row)})


class AuditController(rest.RestController):
    """System readers read every record, those of a VO that no longer
    exists included; a VO's managers read their VO's (``vo_id`` required
    for them)."""

    OPENAPI = {
        # 404: the vo_id given is absent, or hidden from the caller.
        'get_all': openapi.Operation('audit:list', schema.RESPONSE_AUDIT,
                                     query=schema.AUDIT_QUERY,
                                     errors=(404,)),
    }

    @pecan.expose('json')
    def get_all(self):
        params = pecan.request.params
        validation.validate(schema.AUDIT_QUERY, dict(params))
        vo_id = params.get('vo_id')
        if vo_id and not vo_access.system_scoped():
            vo_access.authorize_vo('audit:list', vo_id)
        else:
            # No VO to be a manager of: the system readers' rule alone,
            # which needs no VO to exist (a deleted one's trail stays).
            vo_access.enforce('audit:list', {'vo_manager': False})
        limit, marker = validation.page(
            {k: v for k, v in params.items() if k != 'vo_id'},
            pecan.request.conf.api.max_limit)
        marker = _audit_marker(marker)
        items = [views.audit(r) for r in communities.list_audit(
            pecan.request.db, pecan.request.context, vo_id, limit, marker)]
        return {'audit': items, 'links': validation.links_for_page(
            items, limit, 'id', '/v1/audit', params)}
