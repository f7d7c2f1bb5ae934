"""Request input: JSON bodies checked against JSON schemas, and paging.

Bad input is always a 400 that names the offending field; nothing is
written before validation passes.

Bodies are parsed once, by :func:`parse_json`, before routing (see
:mod:`svc_common.api.request_guard`); what it refuses is refused for every
endpoint and every method:

* anything that is not UTF-8 JSON, and the non-JSON literals ``NaN``,
  ``Infinity`` and ``-Infinity`` and numbers too large for a float;
* an object with the same key twice (parsers disagree on which one wins);
* nesting deeper than :data:`MAX_DEPTH` levels;
* a NUL character or a lone surrogate in any string, key or value
  (PostgreSQL cannot store the first, no UTF-8 encoder the second).

Schemas are then checked by :data:`Validator`, a JSON-Schema draft 7
validator with two corrections to what Python's ``jsonschema`` does:

* ``pattern`` (and ``patternProperties``) have ECMA-262 meaning, which the
  JSON-Schema specification prescribes: ``$`` is the end of the input, not
  "the end or just before a final newline" as in Python's :mod:`re`, and
  ``\\d``/``\\w`` match ASCII only;
* ``integer`` means a JSON integer literal: ``5.0``, ``1e3`` and ``-0.0``
  are numbers but not integers.

:data:`Validator` runs patterns with Python's :mod:`re`, which backtracks:
it is for the services' own schemas.  A schema a user wrote gets a class
from :func:`validator_class` with a linear-time engine.
"""

import datetime
import functools
import json
import math
import re
import urllib.parse

import jsonschema
import jsonschema.exceptions
import jsonschema.validators
import pecan

from svc_common import errors
from svc_common.schemas import parameter_types

#: The deepest nesting of arrays and objects a body may have.  Request
#: bodies of the Arbiter APIs are three levels deep at most.
MAX_DEPTH = 32

#: Where :mod:`svc_common.api.request_guard` leaves the parsed body.
PARSED_BODY_KEY = 'arbiter.parsed_body'

# Characters no string of a request may hold: NUL and lone surrogates
# (a surrogate pair in a JSON string is decoded into one character).
_FORBIDDEN_CHARACTER = re.compile('[\x00\ud800-\udfff]')

# Longest detail of a validation error: the message quotes the offending
# value, which may be megabytes long.
_MAX_DETAIL = 300


def _shorten(text, length=_MAX_DETAIL):
    return text if len(text) <= length else text[:length - 3] + '...'


def json_text(value, length=80):
    """``value`` as a client wrote it: JSON text, non-ASCII characters
    escaped as in every message of these APIs (``"caf\\u00e9"``),
    shortened to ``length`` characters (:func:`_shorten`).

    Messages quote what a client sent in JSON's words (``null``, ``true``,
    ``"abc"``, ``{"a": 1}``), never in Python's (``None``, ``True``,
    ``'abc'``, ``{'a': 1}``).  A value JSON cannot spell is quoted as
    closely as it can: bytes as the string they decode to, anything else
    as its ``str()``.
    """
    try:
        text = json.dumps(value, default=_json_default)
    except (TypeError, ValueError, RecursionError):
        # A dict with non-string keys of no JSON spelling, a cycle, an
        # integer of more digits than Python converts: none comes from a
        # parsed body.
        text = 'a %s value' % type(value).__name__
    return _shorten(text, length)


def _json_default(value):
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode('utf-8', 'replace')
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    return str(value)


def _refuse_constant(name):
    raise ValueError('%s is not a JSON value' % name)


def _finite_float(text):
    number = float(text)
    if not math.isfinite(number):
        raise ValueError('number %s is out of range' % _shorten(text, 40))
    return number


# 309 digits in a row, found in time linear in the length of the text
# (from the first digit of each run only): where an integer literal may
# be beyond a float's range (1.8e308).
_LONG_DIGITS = re.compile('(?<![0-9])[0-9]{309}')


def _finite_integer(text):
    """The integer ``text``, refused as a float out of range is: Python
    converts at most 4300 digits, and its ValueError told the client to
    call ``sys.set_int_max_str_digits()``."""
    if len(text.lstrip('-')) > 308 and not math.isfinite(float(text)):
        raise ValueError('number %s (%d digits) is out of range'
                         % (_shorten(text, 40), len(text.lstrip('-'))))
    return int(text)


def _object_without_duplicates(pairs):
    body = dict(pairs)
    if len(body) != len(pairs):
        seen = set()
        for key, _value in pairs:
            if key in seen:
                raise ValueError('key %s appears twice in one object'
                                 % _shorten(json.dumps(key), 80))
            seen.add(key)
    return body


def _field(path):
    return '/'.join(str(p) for p in path) or '(body)'


def _describe_character(match):
    char = match.group()
    return 'a NUL character' if char == '\x00' else 'a lone surrogate'


def _check_string(text, path, what):
    found = _FORBIDDEN_CHARACTER.search(text)
    if found:
        field = _field(path)
        raise errors.BadRequest(
            'Invalid field %s: %s contains %s.'
            % (field, what, _describe_character(found)),
            code='invalid_input', field=field)


def check_values(body):
    """Refuse deep nesting, NUL characters and lone surrogates in ``body``.

    Walks the parsed body without recursion (a hostile body must not
    exhaust the stack here either).
    """
    pending = [(body, (), 0)]
    while pending:
        value, path, depth = pending.pop()
        if isinstance(value, str):
            _check_string(value, path, 'the value')
        elif isinstance(value, (dict, list)):
            if depth >= MAX_DEPTH:
                field = _field(path)
                raise errors.BadRequest(
                    'Invalid field %s: the body is nested more than %d '
                    'levels deep.' % (field, MAX_DEPTH),
                    code='invalid_input', field=field)
            if isinstance(value, dict):
                for key, item in value.items():
                    _check_string(key, path, 'a member name')
                    pending.append((item, path + (key,), depth + 1))
            else:
                pending.extend((item, path + (index,), depth + 1)
                               for index, item in enumerate(value))


def parse_json(raw):
    """The request body ``raw`` (bytes) as JSON; ``None`` when empty.

    :raises errors.BadRequest: ``malformed_body`` when it is not UTF-8
        JSON, ``invalid_input`` (naming the field) for the values
        :func:`check_values` refuses.
    """
    if not raw:
        return None
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError as exc:
        # Not Python's "'utf-8' codec can't decode byte ...".
        raise errors.BadRequest(
            'The body is not UTF-8: byte 0x%02x at offset %d (%s).'
            % (raw[exc.start], exc.start, exc.reason),
            code='malformed_body')
    try:
        # Integers through _finite_integer only in a body that may hold
        # one beyond a float's range: three calls per integer were a cost
        # of every request (limits_svc's PUT of an allocation, Nova's).
        body = json.loads(text, parse_constant=_refuse_constant,
                          parse_float=_finite_float,
                          parse_int=_finite_integer if _LONG_DIGITS.search(
                              text) else None,
                          object_pairs_hook=_object_without_duplicates)
    except RecursionError:
        raise errors.BadRequest(
            'The body is nested more than %d levels deep.' % MAX_DEPTH,
            code='malformed_body')
    except ValueError as exc:
        if text.startswith('\ufeff'):
            # Python's message advised to "decode using utf-8-sig".
            raise errors.BadRequest(
                'The body is not valid JSON: it begins with a byte order '
                'mark (U+FEFF), which JSON sent over a network must not '
                'have.', code='malformed_body')
        raise errors.BadRequest(
            'The body is not valid JSON: %s' % _shorten(str(exc)),
            code='malformed_body')
    check_values(body)
    return body


def request_body(request):
    """The parsed JSON body of a webob ``request``.

    Parsed once per request: the request guard parses it before routing
    and leaves it in the WSGI environment.
    """
    try:
        return request.environ[PARSED_BODY_KEY]
    except KeyError:
        body = request.environ[PARSED_BODY_KEY] = parse_json(request.body)
        return body


def json_body(schema):
    """The request body, parsed and validated against ``schema``.

    A request without a body, where ``schema`` wants one, is refused in
    those words: jsonschema's "None is not of type 'object'" named a
    Python value the client never sent.  So is a body of another JSON
    type than the object or array ``schema`` wants, in JSON's words:
    "the body is null" (or ``true``, ``false``, a JSON number, string,
    array or object), not "None" or "True".
    """
    body = request_body(pecan.request)
    validator = _validator(schema)
    if (body is None and not pecan.request.body and
            not validator.is_valid(None)):
        raise errors.BadRequest(
            'Invalid field (body): the request has no body; it takes %s.'
            % _wanted(schema), code='invalid_input', field='(body)')
    if (_wanted(schema) in _WANTED.values() and
            not validator.is_type(body, schema['type'])):
        raise errors.BadRequest(
            'Invalid field (body): the body is %s; it takes %s.'
            % (_json_kind(body), _wanted(schema)),
            code='invalid_input', field='(body)')
    validate(schema, body)
    return body


_WANTED = {'object': 'a JSON object', 'array': 'a JSON array'}


def _wanted(schema):
    """What a body of ``schema`` is, in JSON's words."""
    wanted = schema.get('type')
    # (A list of types is none of these.)
    return _WANTED.get(wanted, 'a JSON body') if isinstance(
        wanted, str) else 'a JSON body'


def _json_kind(value):
    """What the parsed JSON ``value`` is, in JSON's words: the literal
    for ``null``, ``true`` and ``false``, else its JSON type."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return 'a JSON number'
    if isinstance(value, str):
        return 'a JSON string'
    return 'a JSON array' if isinstance(value, list) else 'a JSON object'


@functools.lru_cache(maxsize=512)
def ecma_regex(pattern):
    """The compiled Python equivalent of the ECMA-262 regex ``pattern``.

    ``$`` outside a character class becomes ``\\Z`` (end of input);
    the expression is compiled with :data:`re.ASCII` so that ``\\d``,
    ``\\w`` and ``\\b`` match what they match in ECMA-262.  (``\\s`` is
    then ASCII whitespace only, narrower than ECMA-262's.)
    """
    translated = []
    escaped = in_class = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == '\\':
            escaped = True
        elif in_class:
            in_class = char != ']'
        elif char == '[':
            in_class = True
        elif char == '$':
            translated.append('\\Z')
            continue
        translated.append(char)
    return re.compile(''.join(translated), re.ASCII)


def _refused(pattern, exc):
    return jsonschema.ValidationError('pattern %s is not run: %s' % (
        _shorten(json.dumps(pattern), 80), _shorten(str(exc), 200)))


def _pattern_keywords(compile_pattern):
    """The ``pattern``, ``patternProperties`` and ``additionalProperties``
    keywords of a validator whose regular expressions are compiled by
    ``compile_pattern`` (see :func:`validator_class`)."""

    def pattern_keyword(validator, pattern, instance, schema):
        if not validator.is_type(instance, 'string'):
            return
        try:
            regex = compile_pattern(pattern)
        except ValueError as exc:
            yield _refused(pattern, exc)
            return
        if not regex.search(instance):
            yield jsonschema.ValidationError(
                '%s does not match %s' % (_shorten(json.dumps(instance), 80),
                                          json.dumps(pattern)))

    def pattern_properties(validator, patterns, instance, schema):
        if not validator.is_type(instance, 'object'):
            return
        for pattern, subschema in patterns.items():
            try:
                regex = compile_pattern(pattern)
            except ValueError as exc:
                yield _refused(pattern, exc)
                continue
            for name, value in instance.items():
                if regex.search(name):
                    yield from validator.descend(value, subschema, path=name,
                                                 schema_path=pattern)

    def additional_properties(validator, additional, instance, schema):
        if not validator.is_type(instance, 'object'):
            return
        known = schema.get('properties', {})
        patterns = []
        for pattern in schema.get('patternProperties', {}):
            try:
                patterns.append(compile_pattern(pattern))
            except ValueError as exc:
                yield _refused(pattern, exc)
                return
        extras = [name for name in instance if name not in known and
                  not any(regex.search(name) for regex in patterns)]
        if validator.is_type(additional, 'object'):
            for name in extras:
                yield from validator.descend(instance[name], additional,
                                             path=name)
        elif additional is False and extras:
            yield jsonschema.ValidationError(
                'Additional properties are not allowed (%s unexpected)'
                % ', '.join(_shorten(json.dumps(name), 80)
                            for name in sorted(extras)))

    return {'pattern': pattern_keyword,
            'patternProperties': pattern_properties,
            'additionalProperties': additional_properties}


def _same_json(value):
    """A form of the JSON ``value`` that is equal for values JSON Schema
    calls equal: numbers by value (``1`` and ``1.0``, ``0`` and
    ``-0.0``), ``true`` and ``1`` apart, objects whatever the order of
    their members.

    JSON text (members sorted, an integral float written as the integer
    it equals), hashed as strings are, with a key of this process: a
    hashable form made of the numbers themselves hashed them as Python
    does, without a key, and the integers ``k * (2**61 - 1)`` (or arrays
    of them) all had one hash, which made a set of them quadratic
    again.  ``None`` for a value holding a NaN (equal to nothing; no
    parsed body holds one).
    """
    try:
        return json.dumps(_integral_floats_as_integers(value),
                          sort_keys=True, allow_nan=False)
    except ValueError:
        return None


def _integral_floats_as_integers(value):
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {name: _integral_floats_as_integers(item)
                for name, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_integral_floats_as_integers(item) for item in value]
    return value


def _unique_items(validator, unique, instance, schema):
    """``uniqueItems`` in time linear in the size of the array.

    jsonschema's compares every pair of items that do not sort (objects,
    arrays of them): a body of 100 KB, an array of 8,000 small objects,
    held a worker for minutes.
    """
    if not unique or not validator.is_type(instance, 'array'):
        return
    seen = set()
    for item in instance:
        key = _same_json(item)
        if key is None:
            continue
        if key in seen:
            yield jsonschema.ValidationError(
                '%s has non-unique elements' % json_text(instance))
            return
        seen.add(key)


def _one_of(validator, one_of, instance, schema):
    """``oneOf`` as jsonschema's, whose message for a value valid under
    more than one of the schemas lists them in JSON (jsonschema printed
    them as Python dicts, which :func:`error_message` could not read
    back for sure: the text of one schema can be part of another's)."""
    all_errors, valid = [], []
    for index, subschema in enumerate(one_of):
        if valid:
            if validator.evolve(schema=subschema).is_valid(instance):
                valid.append(subschema)
            continue
        errs = list(validator.descend(instance, subschema,
                                      schema_path=index))
        if errs:
            all_errors.extend(errs)
        else:
            valid.append(subschema)
    if not valid:
        yield jsonschema.ValidationError(
            '%s is not valid under any of the given schemas'
            % json_text(instance), context=all_errors)
    elif len(valid) > 1:
        yield jsonschema.ValidationError(
            '%s is valid under each of %s' % (json_text(instance), ', '.join(
                json_text(each) for each in valid)))


def _is_integer(checker, instance):
    """A JSON integer literal: an ``int`` (never a ``bool``), not a float
    that happens to have no fraction."""
    return isinstance(instance, int) and not isinstance(instance, bool)


def validator_class(compile_pattern):
    """A JSON-Schema draft 7 validator class, with integer meaning a JSON
    integer literal, whose ``pattern`` and ``patternProperties`` (and the
    ``additionalProperties`` they narrow) use ``compile_pattern``.

    ``compile_pattern(pattern)`` returns an object with a ``search(text)``
    method, or raises :class:`ValueError` for a pattern it will not run;
    the keyword then fails, naming the pattern and the reason.  Schemas
    written by users (an image family's ``properties_schema``) need a
    linear-time engine here: Python's :mod:`re` backtracks, and a pattern
    such as ``^(a+)+$`` takes time exponential in the length of the text.
    ``uniqueItems`` is checked in linear time too (:func:`_unique_items`).
    """
    return jsonschema.validators.extend(
        jsonschema.Draft7Validator,
        validators=dict(_pattern_keywords(compile_pattern),
                        uniqueItems=_unique_items, oneOf=_one_of),
        type_checker=jsonschema.Draft7Validator.TYPE_CHECKER.redefine(
            'integer', _is_integer))


# Draft 7's own validator, uniqueItems apart: what check_schema() runs.
_MetaValidator = jsonschema.validators.extend(
    jsonschema.Draft7Validator, validators={'uniqueItems': _unique_items})


def check_schema(schema):
    """Raise :class:`jsonschema.SchemaError` for the first error of
    ``schema`` (a schema a user wrote) against draft 7's meta-schema, as
    ``check_schema(schema, format_checker=None)`` of a draft 7 validator
    class does, but with ``uniqueItems`` in linear time
    (:func:`_unique_items`).

    A class's ``check_schema`` runs jsonschema's own Draft7Validator, not
    the class's keywords: the meta-schema's unique string arrays
    (``required``, ``type``, ``dependencies``), given thousands of
    distinct objects, were compared pair by pair (a 25 KB
    ``properties_schema`` of ``{"type": [{"a": 0}, {"a": 1}, ...]}``
    took six seconds, 100 KB minutes).
    """
    validator = _MetaValidator(_MetaValidator.META_SCHEMA,
                               format_checker=None)
    for error in validator.iter_errors(schema):
        raise jsonschema.exceptions.SchemaError.create_from(error)


#: The validator class of every request schema: draft 7 with ECMA-262
#: patterns (run by Python's :mod:`re`: the services' own schemas only,
#: never a schema a user wrote) and integer meaning a JSON integer
#: literal.
Validator = validator_class(ecma_regex)


# Request schemas are module constants: build each validator once.
_VALIDATORS = {}


def _validator(schema):
    found = _VALIDATORS.get(id(schema))
    if found is None or found.schema is not schema:
        found = _VALIDATORS[id(schema)] = Validator(schema)
    return found


def _write_only(schema, error):
    """Whether ``error`` is about a value that a schema on its way from
    ``schema`` marks ``writeOnly`` (a secret: JSON Schema's annotation
    for values that are sent and never shown back)."""
    node = schema
    for step in error.schema_path:
        if isinstance(node, dict) and node.get('writeOnly'):
            return True
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return False
    return isinstance(node, dict) and bool(node.get('writeOnly'))


def validate(schema, data):
    """Raise a 400 naming the first offending field of ``data``.

    The value itself is not repeated when the schema marks it
    ``writeOnly`` (a secret): the answer says which check it failed.
    """
    validator = _validator(schema)
    problems = sorted(validator.iter_errors(data),
                      key=lambda e: [str(p) for p in e.path])
    if problems:
        first = problems[0]
        field = _field(first.absolute_path)
        if _write_only(schema, first):
            # Of a nullable secret's branches, the one that is not null.
            causes = [e for e in first.context or [first]
                      if e.schema != {'type': 'null'}] or [first]
            cause = jsonschema.exceptions.best_match(causes)
            message = ('Invalid field %s: the value (a secret, not shown) '
                       'fails the schema\'s %s' % (field, cause.validator))
            if cause.validator in ('pattern', 'minLength', 'maxLength',
                                   'enum', 'type'):
                message += ' (%s)' % json.dumps(cause.validator_value)
            raise errors.BadRequest(message + '.', code='invalid_input',
                                    field=field)
        cause = _not_null_cause(first)
        field = _field(cause.absolute_path)
        raise errors.BadRequest(
            _shorten('Invalid field %s: %s' % (field, _message(cause))),
            code='invalid_input', field=field)


def _message(error):
    """The message of ``error`` (:func:`error_message`), or, for a
    ``pattern`` whose schema has a ``description``, what the value is not
    in those words: ``"abc" does not match "^[0-9]{1,16}$"`` told a
    person nothing."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == 'pattern' and schema.get('description'):
        return '%s is not %s.' % (json_text(error.instance),
                                  schema['description'])
    return error_message(error)


def error_message(error):
    """jsonschema's message of the validation (or schema) ``error`` with
    the values in it spelled as JSON (:func:`json_text`).

    jsonschema spells them as Python does: ``None is not of type
    'integer'``, ``'abc' is not of type 'integer'``, ``{'a': 1} is not
    of type 'string'``, ``'x' is not one of ['a', 'b']``; a client sent
    ``null``, ``"abc"``, ``{"a": 1}`` and reads ``["a", "b"]`` in the
    API reference.  Schema words that are not values (type names, the
    names ``required`` lists) are left as jsonschema writes them.
    """
    keyword, value = error.validator, error.validator_value
    shown = json_text(error.instance)
    if keyword == 'enum':
        return '%s is not one of %s' % (shown, json_text(value, 200))
    if keyword == 'const':
        return '%s was expected' % json_text(value)
    if keyword == 'not':
        return '%s should not be valid under %s' % (shown,
                                                    json_text(value))
    if error.schema is False:
        # The JSON schema false (a member or item that is not allowed).
        return 'false schema does not allow %s' % shown
    if keyword == 'oneOf' and not error.context:
        # Valid under more than one: jsonschema's message lists those
        # schemas, as Python dicts, which cannot be read back for sure;
        # the validators of this module list them in JSON (_one_of).
        if error.message.startswith(shown + ' is valid under each of '):
            return error.message
        return '%s is valid under more than one of the given schemas' % (
            shown)
    if keyword == 'contains':
        return 'None of %s are valid under the given schema' % shown
    if keyword == 'additionalItems':
        items = error.schema.get('items', []) if isinstance(
            error.schema, dict) else []
        extras = error.instance[len(items):] if isinstance(
            items, list) and isinstance(error.instance, list) else []
        return 'Additional items are not allowed (%s %s unexpected)' % (
            ', '.join(json_text(extra) for extra in extras),
            'was' if len(extras) == 1 else 'were')
    message = error.message
    python = _python_text(error.instance)
    if python and message.startswith(python):
        # "<instance> is not of type ...", "... is too long", "... is
        # greater than the maximum of 5", "... is not valid under any of
        # the given schemas" and the other messages that open with it.
        return shown + message[len(python):]
    return message


def _python_text(value):
    try:
        return repr(value)
    except ValueError:  # an integer of more digits than Python converts
        return None


_NULL = {'type': 'null'}


def _not_null_cause(error):
    """The error of the branch that is not ``null`` when ``error`` is a
    nullable value's (:func:`svc_common.schemas.parameter_types.nullable`)
    that is not null, else ``error``.

    jsonschema's own message for it, "7776000 is not valid under any of
    the given schemas", gave neither the limit nor the form the value
    missed.  A branch that fails as a nullable field inside it (a
    nullable object's nullable member) is looked into the same way: each
    step goes one schema deeper, so the loop ends.
    """
    while (error.validator == 'anyOf' and error.instance is not None and
           _NULL in error.validator_value):
        branches = [e for e in error.context or () if e.schema != _NULL]
        if not branches:
            break
        error = jsonschema.exceptions.best_match(branches)
    return error


_INTEGER = re.compile('-?[0-9]{1,16}')


def future_time(text, field, now):
    """The ISO 8601 time ``text`` of ``field`` as naive UTC (a time
    without an offset is UTC; ``Z`` is accepted), which must be after
    ``now`` (naive UTC); a 400 naming ``field`` otherwise.

    A time that leaves the years 1-9999 once converted to UTC (e.g.
    ``9999-12-31T23:59:59-14:00``) is a 400 too, not an ``OverflowError``.
    """
    shown = json_text(text)
    try:
        value = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise errors.BadRequest('Invalid field %s: %s is not an ISO 8601 '
                                'time such as 2030-01-15T00:00:00Z.'
                                % (field, shown),
                                code='invalid_input', field=field)
    if value.tzinfo is not None:
        try:
            value = value.astimezone(datetime.timezone.utc).replace(
                tzinfo=None)
        except OverflowError:
            raise errors.BadRequest('Invalid field %s: %s is not a time '
                                    'between the years 1 and 9999 in UTC.'
                                    % (field, shown),
                                    code='invalid_input', field=field)
    if value <= now:
        raise errors.BadRequest('Invalid field %s: %s is not in the future.'
                                % (field, shown), code='invalid_input',
                                field=field)
    return value


def integer_param(params, name, default=None, minimum=None):
    """The query parameter ``name`` as an integer written in ASCII digits
    (at most 16 of them)."""
    value = params.get(name)
    if value is None:
        return default
    if not _INTEGER.fullmatch(value):
        raise errors.BadRequest('Query parameter %s must be an integer.'
                                % name, code='invalid_input', field=name)
    number = int(value)
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
    """``(limit, marker)`` of a list request; limit capped at max_limit.

    Both are checked against
    :data:`svc_common.schemas.parameter_types.PAGINATION`.
    """
    validate(parameter_types.PAGINATION,
             {name: params[name] for name in ('limit', 'marker')
              if name in params})
    limit = integer_param(params, 'limit', default=max_limit, minimum=1)
    return min(limit, max_limit), params.get('marker')


def links_for_page(items, limit, key, path, params):
    """A ``next`` link when the page is full (there may be more)."""
    if len(items) < limit or not items:
        return []
    query = dict(params)
    query['marker'] = items[-1][key]
    query['limit'] = limit
    encoded = urllib.parse.urlencode(sorted(query.items()), safe=':@')
    return [{'rel': 'next', 'href': '%s?%s' % (path, encoded)}]
