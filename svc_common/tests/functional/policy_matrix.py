"""Every endpoint × every persona: the machinery of a policy-matrix test.

A service's matrix is a list of :class:`Row`, one or more per operation of
each of its rules; :func:`uncovered` compares the rows with the service's
``list_rules()``, so that a rule added without a row fails the test.
:class:`PolicyMatrixTests` is the mixin that runs them (see
``limits_svc/tests/functional/test_policy.py``).

The personas are those of DESIGN.md, presented as a real Keystone token
presents them (implied roles listed: Keystone's ``bootstrap`` makes admin
imply manager, manager imply member and member imply reader), for the
project ``own`` that the rows target and for another project ``other``.

:class:`KeystonePolicyMatrixTests` runs the same rows once more through
keystonemiddleware ``auth_token``, each persona with a real token from a
real Keystone (:data:`KEYSTONE_PERSONAS` says which token stands for
which persona).
"""

import dataclasses
import logging
import os
import re
import threading
import typing
import uuid

import fixtures
from oslo_policy import policy as oslo_policy
import webtest
import yaml

from svc_common import config
from svc_common.tests.fixtures import keystone
from svc_common.tests.functional import api_fixture as af
from svc_common import wsgi_app

ADMIN = ['admin', 'manager', 'member', 'reader']
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


def expect(success, allowed, hidden=(), everyone=ALL_PERSONAS):
    """``{persona: status}``: ``success`` for the ``allowed`` personas,
    404 for the ``hidden`` ones (the target is a project they cannot see),
    403 for everyone else.  ``everyone``: the personas of the matrix, when
    it has more than :data:`ALL_PERSONAS` (see
    :attr:`PolicyMatrixTests.EXTRA_PERSONAS`)."""
    unknown = (set(allowed) | set(hidden)) - set(everyone)
    if unknown:
        raise ValueError('Unknown personas %s.' % sorted(unknown))
    return {p: success if p in allowed else 404 if p in hidden else 403
            for p in everyone}


#: The roles a token of each granted role lists (Keystone's implied roles).
IMPLIED_ROLES = {'admin': ADMIN, 'member': MEMBER, 'reader': READER}


def extra_identity(scope, role, own, other, user_id):
    """noauth headers of a persona of :attr:`PolicyMatrixTests.
    EXTRA_PERSONAS`: a token of ``scope`` (``system``, ``own``, ``other``)
    holding ``role`` and its implied roles, for user ``user_id``."""
    if scope == 'system':
        return af.identity(IMPLIED_ROLES[role], system=True, user_id=user_id)
    return af.identity(IMPLIED_ROLES[role],
                       {'own': own, 'other': other}[scope], user_id=user_id)


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
    #: Personas a service adds to :data:`ALL_PERSONAS`, as
    #: ``{name: (scope, role)}`` in the terms of :data:`KEYSTONE_PERSONAS`.
    #: Each is a user of its own (:meth:`persona_user_id`), to whom the
    #: matrix's ``setUp`` gives rights in the service's own data (e.g. the
    #: manager of a community); its rows list it in ``expected``.
    EXTRA_PERSONAS = {}

    @classmethod
    def matrix_personas(cls):
        """Every persona the rows are tried with."""
        return ALL_PERSONAS + tuple(sorted(cls.EXTRA_PERSONAS))

    def persona_user_id(self, persona):
        """The user id of a persona of :attr:`EXTRA_PERSONAS` (noauth: a
        made-up id; with real tokens, the Keystone user's id)."""
        return 'user-%s' % persona

    def setUp(self):
        super().setUp()
        self.ids = {}

    def test_every_rule_has_a_row(self):
        rules = self.SPEC.module('policies').list_rules()
        self.assertEqual([], uncovered(rules, self.ROWS))

    def persona_headers(self):
        """``{persona: request headers}`` that the rows are tried with:
        here noauth identity headers."""
        people = personas(self.OWN, self.OTHER)
        for name, (scope, role) in self.EXTRA_PERSONAS.items():
            people[name] = extra_identity(scope, role, self.OWN, self.OTHER,
                                          self.persona_user_id(name))
        return people

    def app_under_test(self):
        """The webtest app the rows are sent to (``undo`` uses
        ``self.app``)."""
        return self.app

    def test_matrix(self):
        failures = []
        people = self.persona_headers()
        everyone = self.matrix_personas()
        self.assertEqual([], sorted(set(everyone) - set(people)),
                         'personas without an identity')
        app = self.app_under_test()
        for row in self.ROWS:
            for persona in everyone:
                path, body = fill(row.path, self.ids), fill(row.body,
                                                            self.ids)
                resp = call(app, row.method, path, body, people[persona])
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


# -- the same matrix with real Keystone tokens -------------------------------

#: The project of the ``service`` persona (as in ``api_fixture.SERVICE``).
SERVICE_PROJECT = 'service-project'
#: The role of the ``no_roles`` persona's token.  Keystone issues no
#: project-scoped token to a user without a role on the project; the
#: nearest real token is one whose only role no rule names.
NO_PERSONA_ROLE = 'matrix-observer'

#: Which real token stands for each persona: ``(scope, role granted)``.
#: The scope is ``system`` (``all``), ``own`` or ``other`` (the projects
#: of the matrix) or ``service`` (:data:`SERVICE_PROJECT`); only the one
#: role is granted, Keystone adds the roles it implies to the token.
KEYSTONE_PERSONAS = {
    'system_admin': ('system', 'admin'),
    'system_member': ('system', 'member'),
    'system_reader': ('system', 'reader'),
    'project_admin': ('own', 'admin'),
    'project_member': ('own', 'member'),
    'project_reader': ('own', 'reader'),
    'other_admin': ('other', 'admin'),
    'other_member': ('other', 'member'),
    'other_reader': ('other', 'reader'),
    'service': ('service', 'service'),
    'no_roles': ('own', NO_PERSONA_ROLE),
}

#: The user of :meth:`KeystonePersonas.other_scope_tokens`.
DOMAIN_USER = 'matrix-domain-admin'

#: The service user auth_token validates tokens with, as a deployment
#: has one: the ``service`` role in the service project.
AUTHTOKEN_USER = 'matrix-authtoken'


class KeystonePersonas(object):
    """Users, projects and tokens of a real Keystone for the personas.

    One user per persona (``matrix-<persona>``), granted the role of
    :data:`KEYSTONE_PERSONAS` on the system or on each project it is
    asked for; projects are created with the matrix's own ids (see
    ``Keystone.create_projects_with_ids``).  Tokens are issued once per
    persona and pair of projects and reused: they are valid for an hour.
    One instance per Keystone (:func:`keystone_personas`).
    """

    def __init__(self, ks):
        self.keystone = ks
        self.password = 'pw-' + uuid.uuid4().hex[:12]
        self._lock = threading.Lock()
        self._users = {}
        self._projects = set()
        self._granted = set()
        self._tokens = {}

    def _user(self, name):
        if name not in self._users:
            self._users[name] = self.keystone.create_user(
                name, self.password)['id']
        return self._users[name]

    def _ensure_projects(self, project_ids):
        missing = sorted(set(project_ids) - self._projects)
        if missing:
            self.keystone.create_projects_with_ids(
                {project_id: project_id for project_id in missing})
            self._projects.update(missing)

    def _grant(self, persona, project_id, role):
        if (persona, project_id) in self._granted:
            return
        try:
            self.keystone.role_id(role)
        except LookupError:
            self.keystone.create_role(role)
        user_id = self._user('matrix-%s' % persona)
        if project_id is None:
            self.keystone.assign_system_role(user_id, role)
        else:
            self.keystone.assign_project_role(user_id, project_id, role)
        self._granted.add((persona, project_id))

    def _project(self, scope, own, other):
        return {'system': None, 'own': own, 'other': other,
                'service': SERVICE_PROJECT}[scope]

    def user_id(self, persona):
        """The Keystone id of the user of ``persona``."""
        with self._lock:
            return self._user('matrix-%s' % persona)

    def token(self, persona, own, other, extra=None):
        """A token of ``persona`` for the projects ``own`` and ``other``.

        :param extra: ``{persona: (scope, role)}`` of personas that
            :data:`KEYSTONE_PERSONAS` does not have.
        :raises KeyError: a persona that neither maps.
        """
        scope, role = dict(KEYSTONE_PERSONAS, **(extra or {}))[persona]
        project_id = self._project(scope, own, other)
        key = (persona, project_id)
        with self._lock:
            if key not in self._tokens:
                self._ensure_projects([own, other, SERVICE_PROJECT])
                self._grant(persona, project_id, role)
                self._tokens[key] = self.keystone.token(
                    'matrix-%s' % persona, self.password,
                    project_id=project_id, system_scope=scope == 'system')
            return self._tokens[key]

    def other_scope_tokens(self, own):
        """Tokens that no persona stands for: ``domain_admin`` (admin of
        the projects' domain, and of ``own``, scoped to the domain) and
        ``unscoped`` (the same user, no scope)."""
        with self._lock:
            key = ('domain_admin', own)
            if key not in self._tokens:
                self._ensure_projects([own])
                user_id = self._user(DOMAIN_USER)
                self.keystone.assign_domain_role(user_id, 'default', 'admin')
                self.keystone.assign_project_role(user_id, own, 'admin')
                self._tokens[key] = {
                    'domain_admin': self.keystone.token(
                        DOMAIN_USER, self.password, domain_id='default'),
                    'unscoped': self.keystone.token(DOMAIN_USER,
                                                    self.password),
                }
            return self._tokens[key]

    def headers(self, own, other, extra=None):
        """``{persona: {'X-Auth-Token': token}}`` for every persona that
        :data:`KEYSTONE_PERSONAS` or ``extra`` maps."""
        return {persona: {'X-Auth-Token': self.token(persona, own, other,
                                                     extra)}
                for persona in dict(KEYSTONE_PERSONAS, **(extra or {}))}

    def authtoken_options(self, token_cache_time=300):
        """``[keystone_authtoken]`` of a service validating with
        :data:`AUTHTOKEN_USER`."""
        with self._lock:
            self._ensure_projects([SERVICE_PROJECT])
            if AUTHTOKEN_USER not in self._users:
                user_id = self._user(AUTHTOKEN_USER)
                self.keystone.assign_project_role(user_id, SERVICE_PROJECT,
                                                  'service')
        return self.keystone.authtoken_options(
            AUTHTOKEN_USER, self.password, SERVICE_PROJECT,
            token_cache_time=token_cache_time)


_personas_lock = threading.Lock()
_personas = {}


def keystone_personas(ks):
    """The :class:`KeystonePersonas` of Keystone ``ks`` (one per process
    and Keystone, so that users and tokens are made once)."""
    with _personas_lock:
        if id(ks) not in _personas:
            _personas[id(ks)] = KeystonePersonas(ks)
        return _personas[id(ks)]


class TokenApp(fixtures.Fixture):
    """The WSGI app of ``spec`` behind keystonemiddleware ``auth_token``.

    Configured as a deployment configures it, from a config file:
    ``[api] auth_strategy = keystone`` and ``[keystone_authtoken]``
    ``authtoken`` (``{option: value}``, e.g.
    :meth:`KeystonePersonas.authtoken_options`).  ``database`` is the
    connection URL of the service's database, e.g. that of a noauth
    :class:`~svc_common.tests.fixtures.api.ServiceApp` that built the
    state.  ``.app`` is a ``webtest.TestApp``, ``.conf`` the config.
    """

    def __init__(self, spec, database, authtoken, overrides=None):
        super().__init__()
        self.spec = spec
        self.database = database
        self.authtoken = dict(authtoken)
        self.overrides = dict(overrides or {})

    def _setUp(self):
        # auth_token warns, once per app, that its in-process cache is
        # deprecated, and once per refused token: kept with the test's
        # details instead of on stderr.
        self.useFixture(fixtures.FakeLogger(level=logging.WARNING))
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, '%s.conf' % self.spec.prog)
        keystone.write_ini(path, {
            'DEFAULT': {'state_path': tmp},
            'api': {'auth_strategy': 'keystone'},
            'database': {'connection': self.database},
            'keystone_authtoken': self.authtoken,
        })
        self.conf = config.build_conf(self.spec, default_config_files=[path],
                                      overrides=self.overrides)
        self.app = webtest.TestApp(wsgi_app.make_application(self.spec,
                                                             self.conf))


class KeystonePolicyMatrixTests(PolicyMatrixTests):
    """The matrix once more, through ``auth_token`` with real tokens.

    Mixed in before a service's policy-matrix test case, whose ``setUp``
    builds the state with a noauth ``ServiceApp`` (which ``undo`` keeps
    using as ``self.app``); the rows go to a :class:`TokenApp` on the
    same database, each persona with a token of this process's shared
    Keystone (:data:`KEYSTONE_PERSONAS`).  auth_token caches validated
    tokens in-process for ``TOKEN_CACHE_TIME`` seconds, as a deployment
    without memcached does.
    """

    TOKEN_CACHE_TIME = 300

    def useFixture(self, fixture):
        used = super().useFixture(fixture)
        if isinstance(fixture, af.ServiceApp):
            self.noauth_fixture = fixture
        return used

    def setUp(self):
        self.noauth_fixture = None
        self.keystone_personas = None
        super().setUp()
        if self.noauth_fixture is None:
            self.fail('%s builds no ServiceApp: no database to share'
                      % type(self).__name__)
        self._people()
        noauth_conf = self.noauth_fixture.conf
        self.token_app = self.useFixture(TokenApp(
            self.SPEC, noauth_conf.database.connection,
            self.keystone_personas.authtoken_options(self.TOKEN_CACHE_TIME),
            # A matrix of a customised policy keeps its policy file.
            overrides={('oslo_policy', 'policy_file'):
                       noauth_conf.oslo_policy.policy_file}))

    def _people(self):
        """This process's :class:`KeystonePersonas` (made at the first
        need: a matrix's ``setUp`` asks for its personas' user ids before
        this class's ``setUp`` goes on)."""
        if getattr(self, 'keystone_personas', None) is None:
            self.keystone = self.useFixture(
                keystone.SharedKeystone()).keystone
            self.keystone_personas = keystone_personas(self.keystone)
        return self.keystone_personas

    def persona_user_id(self, persona):
        return self._people().user_id(persona)

    def persona_headers(self):
        return self.keystone_personas.headers(self.OWN, self.OTHER,
                                              self.EXTRA_PERSONAS)

    def test_domain_and_unscoped_tokens_are_refused(self):
        """Real tokens of scopes that no persona has: every row is
        refused (no rule accepts a domain scope; an unscoped token has no
        role).  Such a caller sees no project at all, so a refusal that
        names a project's object is the service's 404 for an absent one
        (it must not tell that the object exists), any other a 403."""
        tokens = self.keystone_personas.other_scope_tokens(self.OWN)
        app = self.app_under_test()
        failures = []
        for row in self.ROWS:
            for name, token in sorted(tokens.items()):
                path, body = fill(row.path, self.ids), fill(row.body,
                                                            self.ids)
                resp = call(app, row.method, path, body,
                            {'X-Auth-Token': token})
                if resp.status_int not in (403, 404):
                    failures.append('%s %s as %s: %d, expected 403 or 404'
                                    % (row.method, path, name,
                                       resp.status_int))
                if resp.status_int < 300 and row.undo is not None:
                    row.undo(self, resp)
        self.assertEqual([], failures)

    def app_under_test(self):
        return self.token_app.app
