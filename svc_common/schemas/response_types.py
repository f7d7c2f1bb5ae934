"""Schemas of what every service's responses share: the error shape,
timestamps, the links of a page, the envelopes of one object and of a
list.

They describe answers, not input: the OpenAPI document of each service
(:mod:`svc_common.api.openapi`) holds them, and the schemathesis tests
check every answer against them.
"""

import re

#: An ISO 8601 UTC time as :func:`svc_common.api.controller.isoformat`
#: writes it, in whole seconds (``2024-05-01T12:00:00Z``).
TIMESTAMP = {'type': 'string', 'format': 'date-time'}
NULLABLE_TIMESTAMP = {'anyOf': [TIMESTAMP, {'type': 'null'}]}

#: A string or ``null``, for names and descriptions read back.
NULLABLE_STRING = {'type': ['string', 'null']}

#: ``{resource name: integer}``: amounts, usages, changes of usage.
AMOUNTS = {'type': 'object', 'additionalProperties': {'type': 'integer'}}

#: Links of a list (:func:`svc_common.api.validation.links_for_page`):
#: ``next`` when the page is full.
LINKS = {
    'type': 'array',
    'items': {
        'type': 'object',
        'properties': {'rel': {'type': 'string'},
                       'href': {'type': 'string'}},
        'required': ['rel', 'href'],
        'additionalProperties': False,
    },
}


def obj(properties, optional=()):
    """An object with exactly ``properties``, all of them required but
    those named in ``optional``."""
    return {'type': 'object', 'properties': dict(properties),
            'required': [name for name in properties
                         if name not in optional],
            'additionalProperties': False}


def member(key, schema):
    """The answer about one object: ``{key: object}``."""
    return obj({key: schema})


def collection(key, schema):
    """A page of a list: ``{key: [object, ...], "links": [...]}``."""
    return obj({key: {'type': 'array', 'items': schema}, 'links': LINKS})


def error_body(namespace):
    """DESIGN.md's error shape, with the codes of ``namespace``.

    Errors may carry more members where a client can act on them
    (``field`` of a 400, ``blocking`` of an over-limit 409).
    """
    return {
        'type': 'object',
        'properties': {'errors': {
            'type': 'array',
            'minItems': 1,
            'items': {
                'type': 'object',
                'properties': {
                    'status': {'type': 'integer', 'minimum': 400,
                               'maximum': 599},
                    'code': {'type': 'string',
                             'pattern': '^%s\\.[a-z0-9_]+$'
                                        % re.escape(namespace)},
                    'title': {'type': 'string'},
                    'detail': {'type': 'string'},
                    'request_id': {'type': 'string'},
                    'field': {'type': 'string'},
                },
                'required': ['status', 'code', 'title', 'detail',
                             'request_id'],
            },
        }},
        'required': ['errors'],
    }
