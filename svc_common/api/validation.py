"""Request input: JSON bodies checked against JSON schemas, and paging.

Bad input is always a 400 that names the offending field; nothing is
written before validation passes.
"""

import json

import jsonschema
import pecan

from svc_common import errors


def json_body(schema):
    """The request body, parsed and validated against ``schema``."""
    raw = pecan.request.body
    try:
        body = json.loads(raw or b'null')
    except ValueError as exc:
        raise errors.BadRequest('The body is not valid JSON: %s' % exc,
                                code='malformed_body')
    validate(schema, body)
    return body


# Request schemas are module constants: build each validator once.
_VALIDATORS = {}


def _validator(schema):
    found = _VALIDATORS.get(id(schema))
    if found is None or found.schema is not schema:
        found = _VALIDATORS[id(schema)] = jsonschema.Draft7Validator(schema)
    return found


def validate(schema, data):
    validator = _validator(schema)
    problems = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
    if problems:
        first = problems[0]
        field = '/'.join(str(p) for p in first.absolute_path) or '(body)'
        raise errors.BadRequest('Invalid field %s: %s' % (field,
                                                          first.message),
                                code='invalid_input', field=field)


def integer_param(params, name, default=None, minimum=None):
    value = params.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise errors.BadRequest('Query parameter %s must be an integer.'
                                % name, code='invalid_input', field=name)
    if minimum is not None and number < minimum:
        raise errors.BadRequest('Query parameter %s must be at least %d.'
                                % (name, minimum), code='invalid_input',
                                field=name)
    return number


def boolean_param(params, name, default=False):
    value = params.get(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in ('1', 'true', 'yes', 'on'):
        return True
    if lowered in ('0', 'false', 'no', 'off'):
        return False
    raise errors.BadRequest('Query parameter %s must be true or false.'
                            % name, code='invalid_input', field=name)


def page(params, max_limit):
    """``(limit, marker)`` of a list request; limit capped at max_limit."""
    limit = integer_param(params, 'limit', default=max_limit, minimum=1)
    return min(limit, max_limit), params.get('marker')


def links_for_page(items, limit, key, path, params):
    """A ``next`` link when the page is full (there may be more)."""
    if len(items) < limit or not items:
        return []
    query = dict(params)
    query['marker'] = items[-1][key]
    query['limit'] = limit
    encoded = '&'.join('%s=%s' % (k, v) for k, v in sorted(query.items()))
    return [{'rel': 'next', 'href': '%s?%s' % (path, encoded)}]
