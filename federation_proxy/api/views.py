"""The JSON of the proxy's objects, and the announcement of changes."""

import datetime
import json

import pecan

from federation_proxy.db import clients as clients_db
from federation_proxy.db import communities
from federation_proxy.db import idps as idps_db
from federation_proxy import entitlements
from svc_common.api import controller


def user(row):
    return {'id': row.id, 'name': row.name, 'email': row.email,
            'created_at': controller.isoformat(row.created_at)}


def identity(row):
    return {'id': row.id, 'user_id': row.user_id, 'issuer': row.issuer,
            'subject': row.subject,
            'created_at': controller.isoformat(row.created_at)}


def vo(row):
    return {'id': row.id, 'name': row.name, 'description': row.description,
            'created_at': controller.isoformat(row.created_at)}


def membership(row, now=None):
    """A membership as shown: past its expiry an active one is
    ``expired`` (:func:`federation_proxy.entitlements.shown_status`)."""
    status = entitlements.shown_status(
        row.status, row.expires_at, now or datetime.datetime.utcnow())
    return {'id': row.id, 'vo_id': row.vo_id, 'group_id': row.group_id,
            'user_id': row.user_id, 'role': row.role, 'status': status,
            'expires_at': controller.isoformat(row.expires_at),
            'created_at': controller.isoformat(row.created_at)}


def request(row):
    return {'id': row.id, 'vo_id': row.vo_id, 'group_id': row.group_id,
            'user_id': row.user_id, 'role': row.role, 'reason': row.reason,
            'status': row.status, 'decided_by': row.decided_by,
            'decided_at': controller.isoformat(row.decided_at),
            'created_at': controller.isoformat(row.created_at)}


def own_request(row):
    """A request as the person who made it sees it, under
    ``/v1/users/{user_id}/requests``: the decision and its time, not who
    decided (a rejected applicant is not told which manager rejected
    them; the VO's managers and system readers see ``decided_by`` in the
    VO's requests)."""
    body = request(row)
    del body['decided_by']
    return body


def invitation(row, token=None, now=None):
    """An invitation as shown: past its expiry a pending one is
    ``expired`` (it can no longer be accepted)."""
    status = row.status
    if status == 'pending' and row.expires_at <= (
            now or datetime.datetime.utcnow()):
        status = 'expired'
    body = {'id': row.id, 'vo_id': row.vo_id, 'group_id': row.group_id,
            'role': row.role, 'email': row.email, 'status': status,
            'expires_at': controller.isoformat(row.expires_at),
            'created_by': row.created_by,
            'inviting_manager': row.inviting_manager,
            'accepted_by': row.accepted_by,
            'created_at': controller.isoformat(row.created_at)}
    if token is not None:
        body['token'] = token
    return body


def audit(row):
    return {'id': row.id, 'at': controller.isoformat(row.at),
            'actor': row.actor, 'vo_id': row.vo_id, 'action': row.action,
            'object_type': row.object_type, 'object_id': row.object_id,
            'detail': row.detail}


def announce(*events):
    """Publish ``(event type, payload)`` events, e.g. from
    :func:`federation_proxy.db.communities.membership_event`, after the
    change is committed."""
    notifier = pecan.request.notifier
    if notifier is None:
        return
    for event in events:
        if event is not None:
            event_type, payload = event
            notifier.info(pecan.request.context.to_dict(), event_type,
                          json.loads(json.dumps(payload)))


def group(row):
    return {'id': row.id, 'vo_id': row.vo_id, 'parent_id': row.parent_id,
            'path': row.path, 'description': row.description,
            'created_at': controller.isoformat(row.created_at)}


def role(row):
    return {'id': row.id, 'vo_id': row.vo_id, 'name': row.name,
            'description': row.description,
            'builtin': row.name in communities.BUILTIN_ROLES}


def idp(row):
    """An IdP as answers show it: never its client secret."""
    return dict({
        'id': row.id, 'name': row.name, 'issuer': row.issuer,
        'client_id': row.client_id,
        'has_client_secret': bool(row.client_secret),
        'scopes': (row.scopes or '').split(),
        'claim_mapping': idps_db.claim_mapping(row),
        'enabled': bool(row.enabled),
        'created_at': controller.isoformat(row.created_at)},
        **idps_db.endpoints(row))


def client(row, secret=None):
    body = {'id': row.id, 'name': row.name,
            'redirect_uris': clients_db.redirect_uris(row),
            'grant_types': clients_db.grant_types(row),
            'scopes': clients_db.scopes(row),
            'public': clients_db.is_public(row),
            'created_at': controller.isoformat(row.created_at)}
    if secret is not None:
        body['secret'] = secret
    return body
