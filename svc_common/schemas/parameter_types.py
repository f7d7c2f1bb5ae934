"""Schemas of the values requests carry: IDs, names, amounts, pages.

Each is a plain JSON-schema ``dict`` (or a function returning one, where a
service chooses a bound).  What they refuse, and why:

* IDs are short strings out of a fixed ASCII set, anchored at both ends:
  no spaces, no control characters, no trailing newline; and never ``.``
  or ``..``, which no URL can carry as a path part (clients resolve them
  as dot segments: ``/v1/projects/..`` is ``/v1/``).
* Names refuse control characters; descriptions may span lines.
* Amounts and limit values are JSON integer literals (``5``, never
  ``5.0`` or ``1e3``) no larger than ``2**53 - 1``, the largest integer
  that every JSON implementation reads exactly (a JavaScript client turns
  ``2**53 + 1`` into ``2**53``).
* NUL characters and lone surrogates are refused in every string of every
  body before any schema runs (:func:`svc_common.api.validation.parse_json`).
"""

#: The largest integer every JSON reader represents exactly (2**53 - 1).
MAX_SAFE_INTEGER = 2 ** 53 - 1

#: Characters of an ID: those of Keystone's IDs, UUIDs and consumer names.
ID_CHARACTERS = 'A-Za-z0-9_.:@-'


def id_string(characters=ID_CHARACTERS, max_length=64):
    """An ID: 1 to ``max_length`` characters out of ``characters`` (a
    regular-expression character class body, ASCII only), other than
    ``.`` and ``..``."""
    return {'type': 'string', 'minLength': 1, 'maxLength': max_length,
            'pattern': '^(?!\\.\\.?$)[%s]+$' % characters}


def nullable(schema):
    """``schema``, or JSON ``null``."""
    return {'anyOf': [schema, {'type': 'null'}]}


def amount(minimum=0, maximum=MAX_SAFE_INTEGER):
    """A JSON integer literal from ``minimum`` to ``maximum``."""
    return {'type': 'integer', 'minimum': minimum, 'maximum': maximum}


ID = id_string()
NULLABLE_ID = nullable(ID)

#: A human-readable name: up to 255 characters, no control characters
#: (C0, DEL or C1).
NAME = {'type': 'string', 'maxLength': 255,
        'pattern': '^[^\\x00-\\x1f\\x7f-\\x9f]*$'}
NULLABLE_NAME = nullable(NAME)

#: Free text of up to 2048 characters (line breaks allowed), or null.
DESCRIPTION = nullable({'type': 'string', 'maxLength': 2048})

#: A quantity of a resource: 0 to 2**53 - 1.
AMOUNT = amount()

#: A limit: -1 (unlimited) or 0 to 2**53 - 1.
LIMIT_VALUE = amount(minimum=-1)

#: Query parameters of a list request, as strings (query values always
#: are).  ``limit`` is a count written with ASCII digits (capped by the
#: service's ``[api] max_limit``); ``marker`` is the ID of the last item
#: of the previous page.
PAGE_LIMIT = {'type': 'string', 'pattern': '^[0-9]{1,16}$',
              'description': 'a count written with ASCII digits (at most '
                             '16 of them)'}
PAGE_MARKER = {'type': 'string', 'maxLength': 255,
               'pattern': '^[^\\x00-\\x1f\\x7f-\\x9f]*$'}
PAGINATION = {
    'type': 'object',
    'properties': {'limit': PAGE_LIMIT, 'marker': PAGE_MARKER},
}
