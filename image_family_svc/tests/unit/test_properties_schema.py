"""Patterns of a family's properties_schema: ECMA-262 read as such, run by
RE2 only, refused with a reason when RE2 cannot run them."""

import re

import fixtures
import hypothesis
from hypothesis import strategies as st
import re2
import testtools

from image_family_svc import properties_schema as ps
from svc_common.api import validation


def matches(pattern, text):
    return ps.compile_pattern(pattern).search(text) is not None


class TestTranslation(testtools.TestCase):

    def test_ecma_meaning(self):
        for pattern, text, expected in (
                ('^x$', 'x', True),
                ('^x$', 'x\n', False),           # $ is the end
                ('^a.b$', 'a\rb', False),        # . is no line end
                ('^a.b$', 'a\u2028b', False),
                ('^a.b$', 'a-b', True),
                ('^\\d+$', '\u0661', False),      # ASCII digits
                ('^\\w$', '\u00e9', False),
                ('^\\s$', '\u00a0', True),       # ECMA-262 whitespace
                ('^\\s$', '\v', True),
                ('^\\S$', '\u3000', False),
                ('^[\\s]$', '\ufeff', True),
                ('^\\u00e9$', '\u00e9', True),
                ('^\\u{1F600}$', '\U0001f600', True),
                ('^\\uD83D\\uDE00$', '\U0001f600', True),
                ('^\\x41$', 'A', True),
                ('^\\cJ$', '\n', True),
                ('^\\0$', '\x00', True),
                ('^[\\b]$', '\b', True),
                ('^a[]$', 'a', False),           # [] matches nothing
                ('^[^]$', '\n', True),           # [^] matches anything
                ('^[[]$', '[', True),
                ('^\\-\\#$', '-#', True),
                ('^(?<major>[0-9]+)\\.', '7.9', True),
                ('^\\p{Lu}$', '\u00c9', True),
                ('^\\p{Script=Greek}+$', '\u03b1\u03b2', True),
                ('^a{2,3}$', 'aaaa', False),
                ('^(a+)+$', 'a' * 49 + 'b', False)):
            self.assertEqual(expected, matches(pattern, text),
                             '%r against %r' % (pattern, text))

    def test_refused_with_reason(self):
        for pattern, reason in (
                ('(?=a)', 'lookaround'),
                ('(?<!a)b', 'lookaround'),
                ('(a)\\1', 'backreferences'),
                ('(?<n>a)\\k<n>', 'backreferences'),
                ('(?i)a', 'not an ECMA-262 group'),
                ('(?P<n>a)', 'not an ECMA-262 group'),
                ('\\Aa', 'not an ECMA-262 escape'),
                ('a\\z', 'not an ECMA-262 escape'),
                ('\\Qa\\E', 'not an ECMA-262 escape'),
                ('[[:alpha:]]', 'no opening bracket'),
                ('a{1', 'not a repetition'),
                ('a}', 'no opening bracket'),
                ('[a', 'not closed'),
                ('a\\', 'ends with a backslash'),
                ('\\uD800', 'lone surrogate'),
                ('\\xZ1', 'hexadecimal'),
                ('a{1001}', 'RE2 cannot run it'),
                ('a**', 'RE2 cannot run it'),
                ('(a', 'RE2 cannot run it'),
                ('((((a{100}){100}){100}){100})', 'RE2 cannot run it')):
            exc = self.assertRaises(ps.PatternRefused, ps.compile_pattern,
                                    pattern)
            self.assertIn(reason, str(exc), pattern)

    def test_lone_surrogate_in_text(self):
        # A Glance notification may carry one; it has no UTF-8.
        self.assertTrue(matches('^a.b$', 'a\ud800b'))
        self.assertFalse(matches('^ab$', 'a\ud800b'))

    def test_hostile_pattern_answers_at_once(self):
        # Under a SIGALRM in this thread: Python's re would hold the GIL.
        with fixtures.Timeout(10, gentle=True):
            self.assertFalse(matches('^(a+)+$', 'a' * 5000 + 'b'))


class TestSchema(testtools.TestCase):

    def test_refused_pattern_anywhere(self):
        schema = {'type': 'object',
                  'properties': {'os_version': {'pattern': '^7'}},
                  'x-elsewhere': [{'pattern': '(?!x)'}],
                  'patternProperties': {'^os_': {}}}
        self.assertEqual(
            (['x-elsewhere', 0, 'pattern'], '(?!x)'),
            ps.refused_pattern(schema)[:2])
        del schema['x-elsewhere']
        self.assertIsNone(ps.refused_pattern(schema))
        schema['patternProperties']['(a)\\1'] = {}
        self.assertEqual((['patternProperties', '(a)\\1'], '(a)\\1'),
                         ps.refused_pattern(schema)[:2])

    def test_patterns_of_a_schema_have_a_budget(self):
        # Each is linear, but compiling thousands of large ones is not
        # free: the sum of their programs is bounded.
        big = '^\\p{L}{1,64}$'
        schema = {'properties': {'v%d' % i: {'pattern': big + 'x' * i}
                                 for i in range(5)}}
        schema['properties']['v0']['x-again'] = {'pattern': big}
        path, pattern, reason = ps.refused_pattern(schema)
        self.assertEqual((['properties', 'v2', 'pattern'], big + 'xx'),
                         (path, pattern))
        self.assertIn('more than 200000 RE2 instructions', reason)
        del schema['properties']['v2'], schema['properties']['v3']
        del schema['properties']['v4']
        self.assertIsNone(ps.refused_pattern(schema))

    def test_validator_refuses_without_running(self):
        # Reached anyway (not through refused_pattern): the property fails.
        validator = ps.Validator({'properties': {'v': {'pattern': '(?=a)'}},
                                  'patternProperties': {'(?=b)': {}},
                                  'additionalProperties': False})
        messages = [e.message for e in validator.iter_errors({'v': 'a'})]
        self.assertEqual(3, len(messages), messages)
        self.assertTrue(all('is not run' in m for m in messages), messages)

    def test_pattern_properties_and_additional(self):
        validator = ps.Validator({'patternProperties': {'^os_': {
            'type': 'string'}}, 'additionalProperties': False})
        self.assertEqual([], list(validator.iter_errors({'os_x': 'y'})))
        self.assertEqual(2, len(list(validator.iter_errors(
            {'os_x': 1, 'other': 'y'}))))


# Patterns of a small ECMA-262 grammar that Python's re and RE2 both run:
# literals, ., \d, classes, groups, quantifiers, alternation, anchors.
_ATOMS = st.sampled_from(['a', 'b', '1', '-', '.', '\\d', '\\w', '[a-b]',
                          '[^a]', '[\\d-]', '\\.', '\\-'])
_PATTERNS = st.recursive(
    _ATOMS,
    lambda inner: st.one_of(
        st.tuples(inner.map('(?:{})'.format), st.sampled_from(
            ['*', '+', '?', '{1,2}', '{2}', '*?'])).map(''.join),
        st.lists(inner, min_size=2, max_size=3).map(''.join),
        st.tuples(inner, inner).map('|'.join),
        inner.map('({})'.format),
        inner.map('(?:{})'.format),
        inner.map('^{}'.format),
        inner.map('{}$'.format)),
    max_leaves=6)
# No \r (. differs: Python's matches it) and no non-ASCII.
_TEXTS = st.text(alphabet='ab1-.\n x', max_size=8)


class TestProperties(testtools.TestCase):

    @hypothesis.settings(max_examples=300, deadline=None)
    @hypothesis.given(_PATTERNS, _TEXTS)
    def test_same_answer_as_python_ecma_translation(self, pattern, text):
        # Two translations of one ECMA-262 pattern agree (the grammar
        # keeps Python's re fast: no nested unbounded quantifier over a
        # long text).
        python = validation.ecma_regex(pattern).search(text) is not None
        self.assertEqual(python, matches(pattern, text))

    @hypothesis.settings(max_examples=300, deadline=None)
    @hypothesis.given(st.text(alphabet='ab()[]{}^$.*+?|\\-:=!<>1dPpuk',
                              max_size=12))
    def test_accepted_means_run_by_re2(self, pattern):
        # Any pattern is refused with a reason or compiled by RE2: no
        # other error, and never Python's re.
        try:
            compiled = ps.compile_pattern(pattern)
        except ps.PatternRefused:
            schema = {'properties': {'p': {'pattern': pattern}}}
            self.assertIsNotNone(ps.refused_pattern(schema))
            return
        self.assertIsInstance(compiled.expression, type(re2.compile('x')))
        self.assertNotIsInstance(compiled.expression, re.Pattern)
