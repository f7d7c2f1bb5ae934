"""Patterns of a family's properties_schema: ECMA-262 read as such, run by
RE2 only, refused with a reason when RE2 cannot run them."""

import re
import time

import fixtures
import hypothesis
from hypothesis import strategies as st
import jsonschema
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


def chained(levels, keyword='anyOf'):
    """Level n is ``keyword`` over two references to level n - 1."""
    definitions = {'d0': {'type': 'string'}}
    for level in range(1, levels + 1):
        below = {'$ref': '#/definitions/d%d' % (level - 1)}
        definitions['d%d' % level] = {keyword: [below, dict(below)]}
    return {'definitions': definitions,
            '$ref': '#/definitions/d%d' % levels}


class TestStructure(testtools.TestCase):

    def refused_at(self, schema):
        refused = ps.refused_structure(schema)
        self.assertIsNotNone(refused, schema)
        return refused[0]

    def test_reference_cycles_refused_naming_a_ref(self):
        for schema, path in (
                ({'definitions': {'a': {'$ref': '#/definitions/a'}},
                  '$ref': '#/definitions/a'},
                 ['definitions', 'a', '$ref']),
                ({'definitions': {
                    'a': {'$ref': '#/definitions/b'},
                    'b': {'oneOf': [{'$ref': '#/definitions/a'}]}},
                  'properties': {'x': {'$ref': '#/definitions/b'}}},
                 ['definitions', 'b', 'oneOf', 0, '$ref']),
                # Through structure: the root, or a parent.
                ({'properties': {'x': {'$ref': '#'}}},
                 ['properties', 'x', '$ref']),
                ({'definitions': {'a': {'not': {'$ref': '#/definitions'}}}},
                 ['definitions', 'a', 'not', '$ref'])):
            self.assertEqual(path, self.refused_at(schema))
        # The same target twice is no cycle.
        self.assertIsNone(ps.refused_structure(
            {'definitions': {'a': {'type': 'string'}},
             'allOf': [{'$ref': '#/definitions/a'},
                       {'not': {'$ref': '#/definitions/a'}}]}))

    def test_the_self_reference_recursed_until_the_stack_ran_out(self):
        # What the refusal prevents.
        schema = {'definitions': {'a': {'$ref': '#/definitions/a'}},
                  '$ref': '#/definitions/a'}
        self.assertRaises(RecursionError, list,
                          ps.Validator(schema).iter_errors(5))

    def test_references_resolved_as_jsonschema_does(self):
        schema = {'definitions': {'a/b': {'type': 'integer'},
                                  'c~d': {'type': 'integer'},
                                  'e f': {'type': 'integer'}},
                  'x-list': [{'type': 'integer'}]}
        for ref in ('#/definitions/a~1b', '#/definitions/c~0d',
                    '#/definitions/e%20f', '#/x-list/0'):
            schema['properties'] = {'x': {'$ref': ref}}
            self.assertIsNone(ps.refused_structure(schema), ref)
            self.assertEqual(1, len(list(ps.Validator(schema).iter_errors(
                {'x': 'no'}))), ref)
        for ref, reason in (('#/x-list/00', 'points to nothing'),
                            ('#/x-list/1', 'points to nothing'),
                            ('#/definitions/a/b', 'points to nothing'),
                            ('#name', 'plain name'),
                            ('#/definitions/c~0d/type',
                             'not a JSON schema'),
                            ('x.json#/a', 'outside the schema')):
            schema['properties'] = {'x': {'$ref': ref}}
            self.assertEqual(
                (['properties', 'x', '$ref'], True),
                (ps.refused_structure(schema)[0],
                 reason in ps.refused_structure(schema)[1]), ref)

    def test_reference_to_no_schema_was_an_error_when_run(self):
        # Never checked as a schema (it is not in a schema's place):
        # UnknownType when run.
        schema = {'properties': {'x': {'$ref': '#/x-type'}},
                  'x-type': {'type': 'version'}}
        self.assertEqual(['properties', 'x', '$ref'],
                         self.refused_at(schema))
        self.assertRaises(jsonschema.exceptions.UnknownType, list,
                          ps.Validator(schema).iter_errors({'x': 1}))

    def test_id_only_at_the_root(self):
        # An $id below the root changes what the references under it
        # point to.
        self.assertIsNone(ps.refused_structure(
            {'$id': 'https://example.org/family.json',
             'definitions': {'v': {'type': 'string'}},
             'properties': {'x': {'$ref': '#/definitions/v'},
                            # A property named $id is no $id.
                            '$id': {'type': 'string'}}}))
        self.assertEqual(
            ['definitions', 'v', '$id'],
            self.refused_at({'definitions': {'v': {
                '$id': 'https://example.org/v.json', 'type': 'string'}}}))

    def test_chained_references_bounded(self):
        # Each level doubles what validation does: 18 took 21 s.
        largest = max(levels for levels in range(1, 20)
                      if ps.refused_structure(chained(levels)) is None)
        # Definitions count where they are written and again where
        # they are referred to: level 5 (250) twice is beyond the limit.
        self.assertEqual(4, largest)
        self.assertEqual([], self.refused_at(chained(5)))
        self.assertEqual(['definitions', 'd6', 'anyOf'],
                         self.refused_at(chained(18)))
        for keyword in ('allOf', 'oneOf'):
            self.assertIsNotNone(ps.refused_structure(chained(6, keyword)))
        with fixtures.Timeout(10, gentle=True):
            self.assertEqual(1, len(list(ps.Validator(
                chained(largest)).iter_errors(5))))

    def test_fan_out_and_patterns_weigh_more(self):
        one = {'type': 'string', 'maxLength': 255}
        self.assertIsNone(ps.refused_structure(
            {'additionalProperties': one}))
        self.assertEqual(
            ['additionalProperties'],
            self.refused_at({'additionalProperties': {
                'anyOf': [one] * 6}}))
        # Once, \p{L}{1,64} (77,000 RE2 instructions) is fine; run
        # against each of 128 properties, it is not.
        letters = {'type': 'string', 'pattern': '^\\p{L}{1,64}$'}
        self.assertIsNone(ps.refused_structure(
            {'properties': {'x': letters}}))
        self.assertEqual(['additionalProperties'], self.refused_at(
            {'additionalProperties': letters}))

    def test_size_in_bytes(self):
        schema = {'description': 'x' * (ps.MAX_SCHEMA_BYTES - 18)}
        self.assertIsNone(ps.refused_structure(schema))
        schema['description'] += '\u00e9'
        path, reason = ps.refused_structure(schema)
        self.assertEqual([], path)
        self.assertIn('65538 bytes', reason)


def _json_values(leaves):
    return st.recursive(
        leaves, lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(st.sampled_from('abc'), inner, max_size=3)),
        max_leaves=8)


_SMALL_VALUES = _json_values(st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3),
    st.text(alphabet='ab1', max_size=4)))

_LEAF_SCHEMAS = st.sampled_from(
    [True, False, {}, {'type': 'string'}, {'type': 'integer'},
     {'type': 'object'}, {'minLength': 1}, {'maxProperties': 1},
     {'enum': [1, 'a', None]}, {'const': 'a'}, {'pattern': '^a'},
     {'required': ['a']}, {'uniqueItems': True}, {'multipleOf': 2},
     {'$ref': '#'}] +
    [{'$ref': '#/definitions/d%d' % n} for n in range(4)])


def _schemas(inner):
    one = st.one_of(
        st.lists(inner, min_size=1, max_size=3).flatmap(
            lambda items: st.sampled_from(['anyOf', 'allOf', 'oneOf']).map(
                lambda keyword: {keyword: items})),
        st.tuples(st.sampled_from(
            ['not', 'additionalProperties', 'items', 'contains',
             'propertyNames', 'if', 'then', 'else']), inner).map(
            lambda pair: {pair[0]: pair[1]}),
        st.dictionaries(st.sampled_from('abc'), inner, min_size=1,
                        max_size=3).flatmap(
            lambda members: st.sampled_from(
                ['properties', 'dependencies', 'patternProperties']).map(
                lambda keyword: {keyword: members})))
    # Several keywords in one schema, as written.
    return st.lists(one, min_size=1, max_size=3).map(
        lambda parts: {k: v for part in parts for k, v in part.items()})


_SCHEMAS = st.recursive(_LEAF_SCHEMAS, _schemas, max_leaves=12)
# Four definitions (which may refer to each other), and a root that
# refers to some of them.
_FAMILY_SCHEMAS = st.tuples(
    st.lists(_SCHEMAS, min_size=4, max_size=4), _SCHEMAS,
    st.lists(st.integers(0, 3), min_size=1, max_size=3)).map(
    lambda parts: {
        'definitions': {'d%d' % n: s for n, s in enumerate(parts[0])},
        'allOf': [parts[1]] + [{'$ref': '#/definitions/d%d' % n}
                               for n in parts[2]]})


class TestAcceptedSchemas(testtools.TestCase):

    @hypothesis.settings(max_examples=300, deadline=None,
                         suppress_health_check=[
                             hypothesis.HealthCheck.too_slow])
    @hypothesis.given(_FAMILY_SCHEMAS, _SMALL_VALUES)
    def test_accepted_schema_runs_within_the_bound(self, schema, value):
        # What family creation accepts (meta-schema, patterns, structure)
        # validates any small value quickly, with no error but the
        # value's failures: no RecursionError, no unresolvable reference,
        # no exponential time.
        try:
            ps.Validator.check_schema(schema, format_checker=None)
        except jsonschema.SchemaError:
            hypothesis.reject()
        hypothesis.assume(ps.refused_pattern(schema) is None)
        hypothesis.assume(ps.refused_structure(schema) is None)
        started = time.monotonic()
        with fixtures.Timeout(10, gentle=True):
            errors = list(ps.Validator(schema).iter_errors(value))
        # The bound is about 25 ms for the largest properties; a small
        # value on a busy machine gets 40 times that.
        self.assertLess(time.monotonic() - started, 1.0, schema)
        self.assertTrue(all(isinstance(e, jsonschema.ValidationError)
                            for e in errors))
