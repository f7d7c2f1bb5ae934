"""What a family's ``properties_schema`` may hold, and how it is run.

Any project member may create an image family, so its schema is hostile
input, and it runs in the API and in the engine each time an image joins.
Its regular expressions (``pattern`` and the names of
``patternProperties``) are therefore never run by Python's :mod:`re`,
which backtracks (``^(a+)+$`` against forty ``a`` and a ``b`` takes
hours), but by RE2, whose time is linear in the length of the text.

A pattern is read as ECMA-262 (as JSON Schema prescribes) with the ``u``
flag, plus escaped ASCII punctuation (``\\-``, ``\\#``), and translated
into RE2's syntax; what RE2 cannot run (lookaround, backreferences, a
repetition over 1000, a program over :data:`MAX_MEMORY`, patterns of
one schema over :data:`MAX_PROGRAM_SIZE` in all) or what is not ECMA-262
(``(?i)``, ``(?P<n>...)``, ``\\A``, ``\\z``, ``[[:alpha:]]``, a lone
``{``) is refused, with the reason.  The differences of meaning
that remain: ``\\S`` inside a character class and RE2's ``\\p{Greek}``
(ECMA-262 spells it ``\\p{Script=Greek}``, which is accepted too).

Its references and its size are bounded too (:func:`refused_structure`):
a ``$ref`` may not lead back to itself (validation recursed until the
stack ran out), and since each level of ``anyOf`` over two references to
the level below doubled the work, the schema's size once references are
expanded is limited (:data:`MAX_EXPANDED_SIZE`), as is its size in bytes.
"""

import functools
import json
import re
import string
import urllib.parse

import jsonschema
import re2

from svc_common.api import validation

#: The most memory RE2 may use for one compiled pattern (its program and
#: the caches of its DFAs; RE2's default): a larger pattern is refused
#: (``^\p{L}{1,255}$`` fits; with 1 MiB, ``^\p{L}{1,64}$`` did not).  Times
#: the size of the cache of :func:`compile_pattern`, it bounds the memory
#: hostile patterns can hold in a process.
MAX_MEMORY = 8 << 20

#: The most RE2 instructions all the patterns of one schema may compile
#: to (``^\p{L}{1,64}$`` is about 77,000, ``^[a-z0-9.-]{1,64}$`` 257):
#: compiling takes about a third of a microsecond per instruction, and a
#: schema's patterns are compiled again whenever they have left the cache.
MAX_PROGRAM_SIZE = 200000

#: The largest schema, in bytes of compact UTF-8 JSON.  The request body
#: limit (``[oslo_middleware] max_request_body_size``) is for every body
#: and may be raised for other reasons; this one keeps what is stored
#: with each family, and read at each join, small.
MAX_SCHEMA_BYTES = 65536

#: How many times a value under a keyword that applies its subschema to
#: every member of an object or array (:data:`FAN_OUT_KEYWORDS`) counts
#: in the expanded size.  Such a subschema runs once per property (128 at
#: most through the API, Glance's default ``image_property_quota`` too),
#: but against one value of at most 255 characters, about a quarter of
#: the cost of running against the whole object (measured: the worst
#: schemas of either kind at the limit take about the same time).
FAN_OUT = 32

#: Keywords whose subschemas apply to each member of the instance, not
#: once.
FAN_OUT_KEYWORDS = frozenset(['additionalItems', 'additionalProperties',
                              'contains', 'items', 'patternProperties',
                              'propertyNames'])

#: A pattern counts one more in the expanded size per this many RE2
#: instructions of its program: a search for ``(\p{L}\p{N}?){1,60}q``
#: (86,000 instructions) in 255 Greek letters takes about 1 ms.
PATTERN_UNIT = 500

#: The largest expanded size of a schema: the number of JSON values
#: (objects, arrays, strings, numbers...) it holds once every local
#: ``$ref`` is replaced by what it points to, where a value under a
#: keyword of :data:`FAN_OUT_KEYWORDS` counts :data:`FAN_OUT` times (per
#: such keyword around it) and a pattern counts more as its program
#: grows (:data:`PATTERN_UNIT`).  Validating a value takes time about
#: proportional to it: the costliest schemas found at this limit take
#: about 25 ms against the largest properties the API accepts (128
#: values of 255 Greek letters), under 4 ms against a small value
#: (tools/bench_family_schema_cost).  The default schema counts 15;
#: one requiring 64 string properties of a bounded length about 260.
MAX_EXPANDED_SIZE = 500

# The characters ECMA-262's \s matches (WhiteSpace and LineTerminator),
# as the inside of an RE2 character class.
_SPACE = ('\\t\\n\\x{b}\\f\\r \\x{a0}\\x{1680}\\x{2000}-\\x{200a}'
          '\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}\\x{feff}')
# What ECMA-262's . matches: anything but a line terminator.
_DOT = '[^\\n\\r\\x{2028}\\x{2029}]'
# ECMA-262's [] (matches nothing) and [^] (matches anything).
_NOTHING = '[^\\x{0}-\\x{10ffff}]'
_ANYTHING = '[\\x{0}-\\x{10ffff}]'

_QUANTIFIER = re.compile(r'\{[0-9]+(?:,[0-9]*)?\}')
_GROUP_NAME = re.compile(r'\(\?<([A-Za-z_$][A-Za-z0-9_$]*)>')
_HEX2 = re.compile(r'[0-9A-Fa-f]{2}')
_HEX4 = re.compile(r'[0-9A-Fa-f]{4}')
_BRACED_HEX = re.compile(r'\{([0-9A-Fa-f]{1,6})\}')
_PROPERTY = re.compile(
    r'\{(?:(?:General_Category|gc|Script|sc|Script_Extensions|scx)=)?'
    r'([A-Za-z_]+)\}')
_ASCII_PUNCTUATION = frozenset(string.punctuation)
_SURROGATE = re.compile('[\ud800-\udfff]')
_CONTROL_ESCAPES = {'f': '\\f', 'n': '\\n', 'r': '\\r', 't': '\\t',
                    'v': '\\x{b}'}


class PatternRefused(ValueError):
    """A pattern that is not ECMA-262 or that RE2 cannot run."""


class StructureRefused(ValueError):
    """What a schema refers to, or its size, is refused; ``path`` (a
    list of keys) leads to the offending place in the schema."""

    def __init__(self, path, reason):
        super().__init__(reason)
        self.path = list(path)


def _code_point(value, at):
    if 0xd800 <= value <= 0xdfff:
        raise PatternRefused('the escape at offset %d is a lone surrogate'
                             % at)
    if value > 0x10ffff:
        raise PatternRefused('the escape at offset %d is beyond U+10FFFF'
                             % at)
    return '\\x{%x}' % value


def _unicode_escape(pattern, at):
    """``(translation, end)`` of the ``\\u`` escape at ``pattern[at]``."""
    braced = _BRACED_HEX.match(pattern, at + 2)
    if braced:
        return _code_point(int(braced.group(1), 16), at), braced.end()
    first = _HEX4.match(pattern, at + 2)
    if not first:
        raise PatternRefused('\\u at offset %d needs four hexadecimal '
                             'digits or {...}' % at)
    value = int(first.group(), 16)
    end = first.end()
    if 0xd800 <= value <= 0xdbff and pattern.startswith('\\u', end):
        low = _HEX4.match(pattern, end + 2)
        if low and 0xdc00 <= int(low.group(), 16) <= 0xdfff:
            value = (0x10000 + ((value - 0xd800) << 10) +
                     int(low.group(), 16) - 0xdc00)
            end = low.end()
    return _code_point(value, at), end


def _escape(pattern, at, in_class):
    """``(translation, end)`` of the escape at ``pattern[at]`` (a
    backslash), inside a character class or not."""
    if at + 1 >= len(pattern):
        raise PatternRefused('the pattern ends with a backslash')
    char = pattern[at + 1]
    end = at + 2
    if char in 'dDwW':
        return '\\' + char, end
    if char == 's':
        return (_SPACE if in_class else '[%s]' % _SPACE), end
    if char == 'S':
        # RE2's \S (not ASCII whitespace) inside a class: see the module.
        return ('\\S' if in_class else '[^%s]' % _SPACE), end
    if char == 'b':
        return ('\\x{8}' if in_class else '\\b'), end
    if char == 'B' and not in_class:
        return '\\B', end
    if char in _CONTROL_ESCAPES:
        return _CONTROL_ESCAPES[char], end
    if char == 'c':
        letter = pattern[end:end + 1]
        if not (letter.isascii() and letter.isalpha()):
            raise PatternRefused('\\c at offset %d needs an ASCII letter'
                                 % at)
        return '\\x{%x}' % (ord(letter) % 32), end + 1
    if char == '0' and not pattern[end:end + 1].isdigit():
        return '\\x{0}', end
    if char.isdigit() or char == 'k':
        raise PatternRefused('backreferences (offset %d) are not supported'
                             % at)
    if char == 'x':
        digits = _HEX2.match(pattern, end)
        if not digits:
            raise PatternRefused('\\x at offset %d needs two hexadecimal '
                                 'digits' % at)
        return '\\x{%s}' % digits.group(), digits.end()
    if char == 'u':
        return _unicode_escape(pattern, at)
    if char in 'pP':
        name = _PROPERTY.match(pattern, end)
        if not name:
            raise PatternRefused('\\%s at offset %d needs a property name '
                                 'in braces' % (char, at))
        return '\\%s{%s}' % (char, name.group(1)), name.end()
    if char in _ASCII_PUNCTUATION:
        return '\\' + char, end
    raise PatternRefused('\\%s (offset %d) is not an ECMA-262 escape'
                         % (char, at))


def _group(pattern, at):
    """``(translation, end)`` of the ``(`` at ``pattern[at]``."""
    if not pattern.startswith('(?', at):
        return '(', at + 1
    if pattern.startswith('(?:', at):
        return '(?:', at + 3
    named = _GROUP_NAME.match(pattern, at)
    if named:
        return '(?P<%s>' % named.group(1), named.end()
    if pattern.startswith(('(?=', '(?!', '(?<=', '(?<!'), at):
        raise PatternRefused('lookaround (offset %d) is not supported' % at)
    raise PatternRefused('(? at offset %d is not an ECMA-262 group' % at)


def _character_class(pattern, at):
    """``(translation, end)`` of the character class at ``pattern[at]``."""
    negated = pattern.startswith('[^', at)
    index = at + 2 if negated else at + 1
    if pattern.startswith(']', index):
        return (_ANYTHING if negated else _NOTHING), index + 1
    out = ['[^' if negated else '[']
    while index < len(pattern):
        char = pattern[index]
        if char == ']':
            out.append(']')
            return ''.join(out), index + 1
        if char == '\\':
            text, index = _escape(pattern, index, in_class=True)
            out.append(text)
            continue
        # RE2 reads [: as the start of a POSIX class; ECMA-262 has none.
        out.append('\\[' if char == '[' else char)
        index += 1
    raise PatternRefused('the character class at offset %d is not closed'
                         % at)


def to_re2(pattern):
    """The RE2 expression that means what the ECMA-262 ``pattern`` means.

    :raises PatternRefused: when ``pattern`` is not ECMA-262 (with the
        ``u`` flag, and escaped ASCII punctuation) or uses what RE2 lacks.
    """
    out = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == '\\':
            text, index = _escape(pattern, index, in_class=False)
        elif char == '[':
            text, index = _character_class(pattern, index)
        elif char == '(':
            text, index = _group(pattern, index)
        elif char == '{':
            repeat = _QUANTIFIER.match(pattern, index)
            if not repeat:
                raise PatternRefused('{ at offset %d is not a repetition '
                                     '(write \\{)' % index)
            text, index = repeat.group(), repeat.end()
        elif char in '}]':
            raise PatternRefused('%s at offset %d has no opening bracket '
                                 '(write \\%s)' % (char, index, char))
        else:
            text = {'.': _DOT, '^': '\\A', '$': '\\z'}.get(char, char)
            index += 1
        out.append(text)
    return ''.join(out)


class _Compiled(object):
    """An RE2 expression with :mod:`re`'s ``search``, for any ``str``."""

    def __init__(self, expression):
        #: The compiled RE2 expression.
        self.expression = expression

    def search(self, text):
        try:
            return self.expression.search(text)
        except UnicodeEncodeError:
            # A lone surrogate (a Glance notification may carry one) has
            # no UTF-8: it is read as U+FFFD.
            return self.expression.search(_SURROGATE.sub('\ufffd', text))


def _options():
    options = re2.Options()
    options.max_mem = MAX_MEMORY
    options.log_errors = False
    return options


@functools.lru_cache(maxsize=64)
def compile_pattern(pattern):
    """The ECMA-262 ``pattern`` compiled by RE2 (see :func:`to_re2`).

    :raises PatternRefused: with the reason, for a pattern that is not
        ECMA-262 or that RE2 cannot run.
    """
    translated = to_re2(pattern)
    try:
        return _Compiled(re2.compile(translated, _options()))
    except re2.error as exc:
        raise PatternRefused('RE2 cannot run it: %s' % validation.json_text(
            exc.args[0] if exc.args else str(exc), 200))


#: The validator of a family's schema: :mod:`svc_common.api.validation`'s
#: draft 7 with every pattern run by RE2.
Validator = validation.validator_class(compile_pattern)


def _patterns(schema):
    """``(path, pattern)`` of every ``pattern`` string and every name of a
    ``patternProperties`` object anywhere in ``schema``.

    Anywhere, not only where draft 7 expects a subschema: a local
    ``$ref`` can make any part of the document a subschema.
    """
    pending = [((), schema)]
    while pending:
        path, node = pending.pop()
        if isinstance(node, dict):
            if isinstance(node.get('pattern'), str):
                yield path + ('pattern',), node['pattern']
            if isinstance(node.get('patternProperties'), dict):
                for name in node['patternProperties']:
                    yield path + ('patternProperties', name), name
            pending.extend((path + (key,), value)
                           for key, value in reversed(list(node.items())))
        elif isinstance(node, list):
            pending.extend((path + (index,), value) for index, value
                           in reversed(list(enumerate(node))))


def refused_pattern(schema):
    """``(path, pattern, reason)`` of the first pattern of ``schema`` that
    is refused (see :func:`compile_pattern`), or that takes the patterns
    compiled so far beyond :data:`MAX_PROGRAM_SIZE`; None if there is
    none.

    ``path`` is the list of keys that leads to it in ``schema``.
    """
    sizes = {}
    for path, pattern in _patterns(schema):
        if pattern in sizes:
            continue
        try:
            sizes[pattern] = compile_pattern(pattern).expression.programsize
        except PatternRefused as exc:
            return list(path), pattern, str(exc)
        if sum(sizes.values()) > MAX_PROGRAM_SIZE:
            return list(path), pattern, (
                'the patterns of the schema up to this one compile to more '
                'than %d RE2 instructions' % MAX_PROGRAM_SIZE)
    return None


def describe(pattern):
    """``pattern`` quoted for a message, shortened."""
    quoted = json.dumps(pattern)
    return quoted if len(quoted) <= 80 else quoted[:77] + '...'


# -- what a schema refers to, and its size ----------------------------------

_INDEX = re.compile('0|[1-9][0-9]*')


def _containers(schema):
    """``(path, node)`` of every object and array of ``schema``, parents
    first, without recursion (a stored schema may be deep)."""
    pending = [((), schema)]
    while pending:
        path, node = pending.pop()
        if isinstance(node, dict):
            yield path, node
            pending.extend((path + (key,), value)
                           for key, value in reversed(list(node.items())))
        elif isinstance(node, list):
            yield path, node
            pending.extend((path + (index,), value) for index, value
                           in reversed(list(enumerate(node))))


def resolve(schema, path, ref):
    """``(value, path)`` of what the ``$ref`` ``ref`` at ``path`` points
    to in ``schema``, as :mod:`jsonschema` resolves it when no subschema
    but the root has an ``$id`` (:func:`refused_structure` sees to it).

    Stricter than jsonschema where the latter would guess: an array index
    is written in canonical decimal, and a pointer does not go into a
    string.

    :raises StructureRefused: when it points outside ``schema``, to a
        plain name (``#name``) or to nothing.
    """
    where = list(path) + ['$ref']
    quoted = describe(ref)
    if not ref.startswith('#'):
        raise StructureRefused(where, '$ref %s points outside the schema'
                               % quoted)
    fragment = ref[1:]
    if not fragment:
        return schema, []
    if not fragment.startswith('/'):
        raise StructureRefused(where, '$ref %s is a plain name; write a '
                               'JSON pointer such as #/definitions/name'
                               % quoted)
    node, found = schema, []
    # As jsonschema does: percent-decoded first, then split.
    for segment in urllib.parse.unquote(fragment[1:]).split('/'):
        if isinstance(node, dict):
            segment = segment.replace('~1', '/').replace('~0', '~')
            if segment in node:
                node = node[segment]
                found.append(segment)
                continue
        elif (isinstance(node, list) and _INDEX.fullmatch(segment) and
              int(segment) < len(node)):
            node = node[int(segment)]
            found.append(int(segment))
            continue
        raise StructureRefused(where, '$ref %s points to nothing in the '
                               'schema' % quoted)
    return node, found


def _references(schema):
    """``{id(referring object): (target, target's path)}`` of every
    ``$ref`` of ``schema``, and ``{id(container): path}``.

    :raises StructureRefused: for an ``$id`` below the root (it would
        change what the references under it mean), a reference that
        :func:`resolve` refuses, or one to a value that is not a schema
        (it would be run as one without having been checked).
    """
    references, paths, checked = {}, {}, set()
    for path, node in _containers(schema):
        paths[id(node)] = path
        if not isinstance(node, dict):
            continue
        if path and isinstance(node.get('$id'), str):
            raise StructureRefused(
                list(path) + ['$id'], '$id is only allowed at the root '
                '(references are resolved against the whole schema)')
        ref = node.get('$ref')
        if not isinstance(ref, str):
            continue
        target, target_path = resolve(schema, path, ref)
        references[id(node)] = target, target_path
        if target_path and id(target) not in checked:
            checked.add(id(target))
            try:
                validation.check_schema(target)
            except jsonschema.SchemaError as exc:
                raise StructureRefused(
                    list(path) + ['$ref'],
                    '$ref %s points to a value that is not a JSON schema: '
                    '%s' % (describe(ref),
                            validation.error_message(exc)[:200]))
    return references, paths


def _pattern_units(pattern):
    """What a pattern counts in the expanded size: one, plus one per
    :data:`PATTERN_UNIT` RE2 instructions (the time of a search grows
    with the size of the program as well as with the text)."""
    try:
        size = compile_pattern(pattern).expression.programsize
    except PatternRefused:
        return 1  # refused by refused_pattern(), never run
    return 1 + size // PATTERN_UNIT


def _edges(node, references):
    """``(child, weight, through_ref)`` of a container of the schema: its
    members, then what its ``$ref`` points to.  A child None stands for
    the cost of patterns, in ``weight``."""
    if isinstance(node, dict):
        for key, value in node.items():
            weight = FAN_OUT if key in FAN_OUT_KEYWORDS else 1
            if key == 'pattern' and isinstance(value, str):
                yield None, weight * _pattern_units(value), False
                continue
            yield value, weight, False
            if key == 'patternProperties' and isinstance(value, dict):
                # Each name is searched in each property name, by
                # patternProperties and again by additionalProperties.
                yield None, 2 * FAN_OUT * sum(
                    _pattern_units(name) for name in value), False
        if id(node) in references:
            yield references[id(node)][0], 1, True
    else:
        for value in node:
            yield value, 1, False


def _expanded_size(schema, references, paths):
    """Check that following references from ``schema`` never comes back
    to where it started, and that its expanded size (see
    :data:`MAX_EXPANDED_SIZE`) is within the limit.

    One depth-first walk of the schema with its references as edges,
    without recursion, each object or array sized once.

    :raises StructureRefused: naming a ``$ref`` of a cycle, or the first
        value found whose expanded size is beyond the limit.
    """
    over = MAX_EXPANDED_SIZE + 1
    sizes = {}
    # [node, its edges, size so far, path of the $ref that led to it]
    stack = [[schema, _edges(schema, references), 1, None]]
    on_stack = {id(schema): 0}
    while stack:
        frame = stack[-1]
        node, edges = frame[0], frame[1]
        for child, weight, through_ref in edges:
            if not isinstance(child, (dict, list)):
                frame[2] = min(over, frame[2] + weight)
            elif id(child) in on_stack:
                # Every cycle follows at least one $ref: name the last
                # one followed on the way round.
                refs = [f[3] for f in stack[on_stack[id(child)] + 1:]
                        if f[3] is not None]
                if through_ref:
                    refs.append(list(paths[id(node)]) + ['$ref'])
                raise StructureRefused(refs[-1], (
                    '$ref leads back to itself (a schema may not refer to '
                    'itself, directly or through other references)'))
            elif id(child) in sizes:
                frame[2] = _add(frame, weight, sizes[id(child)], child,
                                paths, over)
            else:
                on_stack[id(child)] = len(stack)
                stack.append([child, _edges(child, references), 1,
                              list(paths[id(node)]) + ['$ref']
                              if through_ref else None])
                # Resumed when the child is done, with its weight.
                frame.append(weight)
                break
        else:
            stack.pop()
            del on_stack[id(node)]
            if frame[2] >= over:
                raise StructureRefused(paths[id(node)], _too_large(
                    'expands'))
            sizes[id(node)] = frame[2]
            if stack:
                parent = stack[-1]
                parent[2] = _add(parent, parent.pop(), frame[2], node,
                                 paths, over)


def _add(frame, weight, size, child, paths, over):
    """The size of ``frame`` with ``child`` of ``size`` under
    ``weight``; refused, naming the child, when that child alone takes
    it beyond the limit."""
    if weight * size >= over:
        raise StructureRefused(paths[id(child)], _too_large(
            'applies to each member of a value: it counts %d times and '
            'expands' % FAN_OUT))
    return min(over, frame[2] + weight * size)


def _too_large(what):
    return ('%s to more than %d values once each $ref is replaced by what '
            'it points to' % (what, MAX_EXPANDED_SIZE))


def refused_structure(schema):
    """``(path, reason)`` of what is refused in what ``schema`` refers to
    or in its size, or None: more than :data:`MAX_SCHEMA_BYTES`; an
    ``$id`` below the root; a ``$ref`` that :func:`resolve` refuses, to a
    value that is not a schema, or that leads back to itself; an expanded
    size beyond :data:`MAX_EXPANDED_SIZE`.

    Time and memory are linear in the size of ``schema``: it runs for
    each image that joins a family.
    """
    try:
        size = len(json.dumps(schema, ensure_ascii=False,
                              separators=(',', ':')).encode('utf-8'))
        if size > MAX_SCHEMA_BYTES:
            return [], ('it takes %d bytes as compact JSON, more than %d'
                        % (size, MAX_SCHEMA_BYTES))
        references, paths = _references(schema)
        _expanded_size(schema, references, paths)
    except StructureRefused as exc:
        return exc.path, str(exc)
    return None


def remote_reference(schema):
    """The first ``$ref`` of ``schema`` that points outside it (anything
    but ``#...``), or None.

    jsonschema fetches such a reference over the network when it meets
    it: a family's schema must not make the service request URLs that its
    owner chose (a project member's family could reach the cloud's
    metadata service or any internal address).
    """
    pending = [schema]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get('$ref')
            if isinstance(ref, str) and not ref.startswith('#'):
                return ref
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return None


def refusal(schema):
    """``(path, reason)`` of the first thing in ``schema`` (a family's
    ``properties_schema``, already a valid JSON schema) that family
    creation refuses, or None: a reference outside the schema (``path``
    empty), a pattern RE2 cannot run or that is not ECMA-262
    (:func:`refused_pattern`), then references and size
    (:func:`refused_structure`).  ``path`` is the list of keys that leads
    to it.
    """
    ref = remote_reference(schema)
    if ref is not None:
        return [], ('$ref %s points outside the schema; only local '
                    'references (#...) are allowed' % ref[:200])
    refused = refused_pattern(schema)
    if refused is not None:
        path, pattern, reason = refused
        return path, ('pattern %s is refused: %s; patterns are ECMA-262 '
                      'regular expressions run by RE2 (no lookaround, no '
                      'backreferences)' % (describe(pattern), reason))
    return refused_structure(schema)
