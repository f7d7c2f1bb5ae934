"""Every endpoint × every persona: the machinery of a policy-matrix test.

A service's matrix is a list of :class:`Row`, one or more per operation of
each of its rules; :func:`uncovered` compares the rows with the service's
``list_rules()``, so that a rule added without a row fails the test.
:class:`PolicyMatrixTests` is the mixin that runs them (see
``limits_svc/tests/functional/test_policy.py``).

The personas are those of DESIGN.md, presented as a real Keystone token
presents them (implied roles listed), for the project ``own`` that the
rows target and for another project ``other``.
"""

import dataclasses
import os
import re
import typing

from oslo_policy import policy as oslo_policy
import yaml

from svc_common.tests.functional import api_fixture as af

ADMIN = ['admin', 'member', 'reader']
MEMBER = ['member', 'reader']
READER = ['reader']

SYSTEM_PERSONAS = ('system_admin', 'system_member', 'system_reader')
OWN_PERSONAS = ('project_admin', 'project_member', 'project_reader')
OTHER_PERSONAS = ('other_admin', 'other_member', 'other_reader')
ALL_PERSONAS = (SYSTEM_PERSONAS + OWN_PERSONAS + OTHER_PERSONAS +
                ('service', 'no_roles'))

#: Who a reader rule (any reader, or a service) admits on a target that
#: belongs to the ``own`` project.
READERS_OF_OWN = SYSTEM_PERSONAS + OWN_PERSONAS + ('service',)
#: Who holds a reader role at all: those admitted to lists and shared
#: objects, which target the caller's own view.
ANY_READER = READERS_OF_OWN + OTHER_PERSONAS

WRITE_METHODS = ('POST', 'PUT', 'PATCH', 'DELETE')


def personas(own, other):
    """``{persona: identity headers}`` for the projects ``own``, ``other``.

    ``no_roles`` has a token of project ``own`` without any role.
    """
    return {
        'system_admin': af.identity(ADMIN, system=True),
        'system_member': af.identity(MEMBER, system=True),
        'system_reader': af.identity(READER, system=True),
        'project_admin': af.identity(ADMIN, own),
        'project_member': af.identity(MEMBER, own),
        'project_reader': af.identity(READER, own),
        'other_admin': af.identity(ADMIN, other),
        'other_member': af.identity(MEMBER, other),
        'other_reader': af.identity(READER, other),
        'service': af.SERVICE,
        'no_roles': af.identity([], own),
    }


def expect(success, allowed, hidden=()):
    """``{persona: status}``: ``success`` for the ``allowed`` personas,
    404 for the ``hidden`` ones (the target is a project they cannot see),
    403 for everyone else."""
    unknown = (set(allowed) | set(hidden)) - set(ALL_PERSONAS)
    if unknown:
        raise ValueError('Unknown personas %s.' % sorted(unknown))
    return {p: success if p in allowed else 404 if p in hidden else 403
            for p in ALL_PERSONAS}


@dataclasses.dataclass
class Row:
    """One request of the matrix and the status each persona gets.

    ``path`` and ``body`` may hold ``{name}`` fields, filled from the
    test's ``ids`` (objects created by its ``setUp``).  ``undo(test,
    response)`` puts back what a successful call changed, so that every
    persona meets the same state.
    """

    rule: str
    method: str
    path: str
    expected: typing.Dict[str, int]
    body: typing.Any = None
    undo: typing.Optional[typing.Callable] = None


def documented_operations(rules):
    """``(rule name, method, path template)`` of every operation of the
    ``DocumentedRuleDefault`` among ``rules``."""
    return sorted((rule.name, op['method'], op['path'])
                  for rule in rules
                  if isinstance(rule, oslo_policy.DocumentedRuleDefault)
                  for op in rule.operations)


def _template_regex(template):
    parts = re.split(r'(\{[^}]+\})', template)
    return re.compile('^%s$' % ''.join(
        '[^/]+' if part.startswith('{') else re.escape(part)
        for part in parts))


def matches(template, path):
    """True when ``path`` (query string ignored) fits ``template``."""
    return bool(_template_regex(template).match(path.split('?', 1)[0]))


def uncovered(rules, rows):
    """What a matrix misses or gets wrong, as sentences; empty when every
    documented operation has a row and every row fits an operation of the
    rule it names."""
    operations = documented_operations(rules)
    problems = []
    for name, method, template in operations:
        if not any(row.rule == name and row.method == method and
                   matches(template, row.path) for row in rows):
            problems.append('no row for %s (%s %s)' % (name, method,
                                                       template))
    for row in rows:
        if not any(row.rule == name and row.method == method and
                   matches(template, row.path)
                   for name, method, template in operations):
            problems.append('row %s %s names no operation of %s' % (
                row.method, row.path, row.rule))
    return problems


def write_rules(rules):
    """Names of the rules that guard a write (POST, PUT, PATCH, DELETE)."""
    return sorted({name for name, method, _ in documented_operations(rules)
                   if method in WRITE_METHODS})


def write_policy_file(directory, overrides):
    """Write (or rewrite) ``policy.yaml`` in ``directory`` with
    ``{rule name: check string}``; returns its path.

    oslo.policy reloads a policy file whose modification time changed;
    a rewrite moves it forward so that a rewrite within the same second
    is seen too.
    """
    path = os.path.join(directory, 'policy.yaml')
    existed = os.path.exists(path)
    with open(path, 'w') as out:
        yaml.safe_dump(dict(overrides), out, default_flow_style=False)
    if existed:
        stat = os.stat(path)
        os.utime(path, (stat.st_atime + 2, stat.st_mtime + 2))
    return path


def call(app, method, path, body, headers):
    """``method path`` on a webtest app, whatever the status."""
    if body is None:
        return app.request(path, method=method, headers=headers,
                           expect_errors=True)
    return getattr(app, '%s_json' % method.lower())(
        path, body, headers=headers, expect_errors=True)


def fill(value, ids):
    """``value`` with ``{name}`` fields of its strings filled from ids."""
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    return value


class PolicyMatrixTests(object):
    """Mixed into a ``testtools.TestCase`` that has ``self.app``.

    Set ``SPEC``, ``OWN``, ``OTHER`` and ``ROWS``; ``setUp`` builds the
    state the rows expect and fills ``self.ids``.
    """

    SPEC = None
    OWN = 'p1'
    OTHER = 'p2'
    ROWS = ()

    def setUp(self):
        super().setUp()
        self.ids = {}

    def test_every_rule_has_a_row(self):
        rules = self.SPEC.module('policies').list_rules()
        self.assertEqual([], uncovered(rules, self.ROWS))

    def test_matrix(self):
        failures = []
        people = personas(self.OWN, self.OTHER)
        for row in self.ROWS:
            for persona in ALL_PERSONAS:
                path, body = fill(row.path, self.ids), fill(row.body,
                                                            self.ids)
                resp = call(self.app, row.method, path, body,
                            people[persona])
                if resp.status_int != row.expected[persona]:
                    failures.append('%s %s as %s: %d, expected %d' % (
                        row.method, path, persona, resp.status_int,
                        row.expected[persona]))
                if resp.status_int < 300 and row.undo is not None:
                    row.undo(self, resp)
        self.assertEqual([], failures)


def root_row(namespace):
    """The row of ``GET /v1``, which every service has."""
    return Row('%s:root:get' % namespace, 'GET', '/v1',
               expect(200, ANY_READER))
