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
"""

import functools
import json
import re
import string

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
        raise PatternRefused('RE2 cannot run it: %s' % exc)


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
