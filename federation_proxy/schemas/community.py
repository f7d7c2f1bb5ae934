"""Bodies and answers of users, VOs, memberships, requests, invitations
and audit records."""

from svc_common.schemas import parameter_types
from svc_common.schemas import response_types

#: A group or VO name: it becomes part of a group path (``vo:group``) and
#: of an entitlement URN, so it has no ``:`` and no control characters.
GROUP_NAME = {'type': 'string', 'minLength': 1, 'maxLength': 64,
              'pattern': '^[^:\\x00-\\x1f\\x7f-\\x9f]+$'}
ROLE_NAME = GROUP_NAME
DESCRIPTION = parameter_types.nullable({'type': 'string', 'maxLength': 255})
URI = {'type': 'string', 'minLength': 1, 'maxLength': 255,
       'pattern': '^[\\x21-\\x7e]+$'}
SUBJECT = {'type': 'string', 'minLength': 1, 'maxLength': 255,
           'pattern': '^[^\\x00-\\x1f\\x7f-\\x9f]+$'}
_EMAIL_PART = '[^@\\x00-\\x20\\x7f-\\x9f]+'
EMAIL = {'type': 'string', 'maxLength': 255,
         'pattern': '^%s@%s$' % (_EMAIL_PART, _EMAIL_PART)}
STATUS = {'enum': ['pending', 'active', 'suspended', 'expired']}
DAYS = parameter_types.amount(minimum=1, maximum=36500)

USER_CREATE = {
    'type': 'object',
    'properties': {
        'id': parameter_types.ID,
        'issuer': URI, 'subject': SUBJECT,
        'name': parameter_types.NULLABLE_NAME,
        'email': parameter_types.nullable(EMAIL),
    },
    'required': ['issuer', 'subject'],
    'additionalProperties': False,
}

IDENTITY_CREATE = {
    'type': 'object',
    'properties': {'issuer': URI, 'subject': SUBJECT},
    'required': ['issuer', 'subject'],
    'additionalProperties': False,
}

VO_CREATE = {
    'type': 'object',
    'properties': {
        'name': GROUP_NAME,
        'description': DESCRIPTION,
        'managers': {'type': 'array', 'items': parameter_types.ID,
                     'maxItems': 20, 'uniqueItems': True},
    },
    'required': ['name', 'managers'],
    'additionalProperties': False,
}

MEMBERSHIP_CREATE = {
    'type': 'object',
    'properties': {
        'user_id': parameter_types.ID,
        'role': ROLE_NAME,
        'group_id': parameter_types.NULLABLE_ID,
        'status': STATUS,
        'lifetime_days': DAYS,
    },
    'required': ['user_id', 'role'],
    'additionalProperties': False,
}

MEMBERSHIP_UPDATE = {
    'type': 'object',
    'properties': {'status': STATUS, 'renew_days': DAYS},
    'minProperties': 1,
    'additionalProperties': False,
}

REQUEST_CREATE = {
    'type': 'object',
    'properties': {
        # One line of text: no control characters.
        'reason': parameter_types.nullable({
            'type': 'string', 'maxLength': 1024,
            'pattern': '^[^\\x00-\\x1f\\x7f-\\x9f]*$'}),
        'role': ROLE_NAME,
        'group_id': parameter_types.NULLABLE_ID,
    },
    'additionalProperties': False,
}

REQUEST_DECIDE = {
    'type': 'object',
    'properties': {'status': {'enum': ['approved', 'rejected']}},
    'required': ['status'],
    'additionalProperties': False,
}

INVITATION_CREATE = {
    'type': 'object',
    'properties': {
        'email': EMAIL, 'role': ROLE_NAME,
        'group_id': parameter_types.NULLABLE_ID,
    },
    'required': ['email'],
    'additionalProperties': False,
}

INVITATION_ACCEPT = {
    'type': 'object',
    'properties': {'token': {'type': 'string', 'minLength': 1,
                             'maxLength': 128,
                             'pattern': '^[A-Za-z0-9_-]+$'}},
    'required': ['token'],
    'additionalProperties': False,
}

#: The query of a request that reads no query parameter.
NO_QUERY = {'type': 'object', 'additionalProperties': False}


def _list_query(**filters):
    """The query of a list: ``limit``, ``marker`` and ``filters``, and
    nothing else (a filter the list does not have, ``status`` of
    memberships say, is a 400 naming it rather than silently the whole
    list)."""
    return {'type': 'object',
            'properties': dict(parameter_types.PAGINATION['properties'],
                               **filters),
            'additionalProperties': False}


LIST_QUERY = _list_query()
MEMBERSHIP_QUERY = _list_query(user_id=parameter_types.ID)
REQUEST_STATUS = {'enum': ['pending', 'approved', 'rejected', 'withdrawn']}
REQUEST_QUERY = _list_query(status=REQUEST_STATUS)
#: The query of a person's own requests: across VOs, or of one.
USER_REQUEST_QUERY = _list_query(status=REQUEST_STATUS,
                                 vo_id=parameter_types.ID)
AUDIT_QUERY = _list_query(vo_id=parameter_types.ID)

_S = {'type': 'string'}
_NS = response_types.NULLABLE_STRING
_T = response_types.TIMESTAMP
_NT = response_types.NULLABLE_TIMESTAMP

USER = response_types.obj({'id': _S, 'name': _NS, 'email': _NS,
                           'created_at': _T})
IDENTITY = response_types.obj({'id': _S, 'user_id': _S, 'issuer': _S,
                               'subject': _S, 'created_at': _T})
VO = response_types.obj({'id': _S, 'name': _S, 'description': _NS,
                         'created_at': _T})
MEMBERSHIP = response_types.obj({
    'id': _S, 'vo_id': _S, 'group_id': _S, 'user_id': _S, 'role': _S,
    'status': STATUS, 'expires_at': _NT, 'created_at': _T})
REQUEST = response_types.obj({
    'id': _S, 'vo_id': _S, 'group_id': _S, 'user_id': _S, 'role': _S,
    'reason': _NS,
    'status': {'enum': ['pending', 'approved', 'rejected', 'withdrawn']},
    'decided_by': _NS, 'decided_at': _NT, 'created_at': _T})
#: A request as the person who made it sees it: not who decided it.
OWN_REQUEST = response_types.obj({
    name: value for name, value in REQUEST['properties'].items()
    if name != 'decided_by'})
INVITATION = response_types.obj({
    'id': _S, 'vo_id': _S, 'group_id': _S, 'role': _S, 'email': _S,
    'status': {'enum': ['pending', 'accepted', 'expired']},
    'expires_at': _T,
    'created_by': _NS, 'inviting_manager': _NS, 'accepted_by': _NS,
    'created_at': _T,
    'token': _S}, optional=('token',))
AUDIT = response_types.obj({
    'id': {'type': 'integer'}, 'at': _T, 'actor': _NS, 'vo_id': _NS,
    'action': _S, 'object_type': _S, 'object_id': _S, 'detail': _NS})

RESPONSE_USER = response_types.member('user', USER)
RESPONSE_USERS = response_types.collection('users', USER)
RESPONSE_IDENTITY = response_types.member('identity', IDENTITY)
RESPONSE_IDENTITIES = response_types.collection('identities', IDENTITY)
RESPONSE_VO = response_types.member('vo', VO)
RESPONSE_VOS = response_types.collection('vos', VO)
RESPONSE_MEMBERSHIP = response_types.member('membership', MEMBERSHIP)
RESPONSE_MEMBERSHIPS = response_types.collection('memberships', MEMBERSHIP)
RESPONSE_REQUEST = response_types.member('request', REQUEST)
RESPONSE_REQUESTS = response_types.collection('requests', REQUEST)
RESPONSE_OWN_REQUEST = response_types.member('request', OWN_REQUEST)
RESPONSE_OWN_REQUESTS = response_types.collection('requests', OWN_REQUEST)
RESPONSE_INVITATION = response_types.member('invitation', INVITATION)
RESPONSE_INVITATIONS = response_types.collection('invitations', INVITATION)
RESPONSE_AUDIT = response_types.collection('audit', AUDIT)
RESPONSE_ENTITLEMENTS = response_types.member(
    'entitlements', response_types.obj({
        'eduperson_entitlement': {'type': 'array', 'items': _S},
        'groups': {'type': 'array', 'items': _S}}))
