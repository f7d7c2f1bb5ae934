"""The JSON of the proxy's objects, and the announcement of changes."""

import json

import pecan

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


def membership(row):
    return {'id': row.id, 'vo_id': row.vo_id, 'group_id': row.group_id,
            'user_id': row.user_id, 'role': row.role, 'status': row.status,
            'expires_at': controller.isoformat(row.expires_at),
            'created_at': controller.isoformat(row.created_at)}


def request(row):
    return {'id': row.id, 'vo_id': row.vo_id, 'group_id': row.group_id,
            'user_id': row.user_id, 'role': row.role, 'reason': row.reason,
            'status': row.status, 'decided_by': row.decided_by,
            'decided_at': controller.isoformat(row.decided_at),
            'created_at': controller.isoformat(row.created_at)}


def invitation(row, token=None):
    body = {'id': row.id, 'vo_id': row.vo_id, 'group_id': row.group_id,
            'role': row.role, 'email': row.email, 'status': row.status,
            'expires_at': controller.isoformat(row.expires_at),
            'created_by': row.created_by, 'accepted_by': row.accepted_by,
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
