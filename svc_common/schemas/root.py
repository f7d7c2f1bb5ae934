"""Answers of ``GET /``, ``GET /v1`` and ``GET /v1/openapi.json``, the
same for every service (:mod:`svc_common.api.root`)."""

from svc_common.schemas import response_types

_LINK = response_types.LINKS

RESPONSE_VERSIONS = response_types.obj({'versions': {
    'type': 'array',
    'items': response_types.obj({
        'id': {'type': 'string'},
        'status': {'enum': ['CURRENT', 'SUPPORTED', 'DEPRECATED']},
        'min_version': {'type': 'string'},
        'max_version': {'type': 'string'},
        'links': _LINK,
    }),
}})

RESPONSE_V1_INDEX = response_types.obj({'resources': {
    'type': 'array',
    'items': response_types.obj({'name': {'type': 'string'},
                                 'links': _LINK}),
}})

#: An OpenAPI 3.1 document (what this schema checks is only its outline).
RESPONSE_OPENAPI = {
    'type': 'object',
    'properties': {'openapi': {'type': 'string', 'pattern': '^3\\.1\\.'},
                   'info': {'type': 'object'},
                   'paths': {'type': 'object'}},
    'required': ['openapi', 'info', 'paths'],
}
