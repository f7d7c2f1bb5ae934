"""Every limits_svc endpoint × every persona: who gets what status.

The rows target project ``leaf`` (the project of the ``project_*``
personas); the ``other_*`` personas belong to project ``other``. A refusal
on a project the caller cannot see is answered exactly like an absent
object (404, same code and detail); any other refusal, or a token of the
wrong scope, is a 403. :func:`policy_matrix.uncovered` fails the test for
a rule of ``list_rules()`` without a row.

``TestCustomisedPolicy`` loads a policy file that makes every write rule
``rule:project_admin`` and checks that it confines an admin of ``leaf``
to ``leaf``.
"""

import fixtures

from limits_svc import policies
from limits_svc import service
from limits_svc.tests.functional import base
from svc_common.tests.functional import api_fixture as af
from svc_common.tests.functional import policy_matrix as pm

ADMIN = af.SYSTEM_ADMIN
SYSTEM_ADMIN = ('system_admin',)
# Tokens of a project that cannot see leaf: refusals are 404s. (A
# system-scoped rule refuses every project token, with 403 wrong_scope, but
# these still get the 404 of an absent object.)
UNSEEING = pm.OTHER_PERSONAS
ADMIN_OR_SERVICE = ('system_admin', 'service')
CHECKERS = ('system_admin', 'service', 'project_admin', 'project_member')


def _delete_created(path, key):
    def undo(test, resp):
        test.app.delete('%s/%s' % (path, resp.json[key]['id']),
                        headers=ADMIN)
    return undo


def _recreate_project(project_id, parent_id):
    def undo(test, resp):
        test.project(project_id, parent_id)
    return undo


def _recreate_registered(test, resp):
    test.ids['spare_registered'] = test.registered_limit('disk', 50)['id']


def _recreate_limit(test, resp):
    test.ids['spare_limit'] = test.limit('leaf', 'ram', 5)['id']


def _free(consumer):
    def undo(test, resp):
        test.app.delete('/v1/allocations/%s' % consumer, headers=ADMIN)
    return undo


def _reallocate(test, resp):
    test.allocate('vm-1', 'leaf', cores=1)


def _rule(name):
    return 'limits:%s' % name


def _reads(name, path):
    """A read of an object of ``leaf``."""
    return pm.Row(_rule(name), 'GET', path,
                  pm.expect(200, pm.READERS_OF_OWN, hidden=UNSEEING))


def _lists(name, path):
    """A list, or a read of what every project shares."""
    return pm.Row(_rule(name), 'GET', path, pm.expect(200, pm.ANY_READER))


MATRIX = [
    pm.root_row('limits'),
    _lists('project:list', '/v1/projects'),
    _reads('project:get', '/v1/projects/leaf'),
    _reads('usage:get', '/v1/projects/leaf/usage?subtree=true'),
    pm.Row(_rule('project:create'), 'POST', '/v1/projects',
           pm.expect(201, SYSTEM_ADMIN, hidden=UNSEEING),
           body={'id': 'new', 'parent_id': 'leaf'},
           undo=lambda test, resp: test.app.delete('/v1/projects/new',
                                                   headers=ADMIN)),
    pm.Row(_rule('project:update'), 'PATCH', '/v1/projects/leaf',
           pm.expect(200, SYSTEM_ADMIN, hidden=UNSEEING),
           body={'name': 'x'}),
    # spare is a child of leaf: a project that even leaf's tokens do not
    # see.
    pm.Row(_rule('project:delete'), 'DELETE', '/v1/projects/spare',
           pm.expect(204, SYSTEM_ADMIN, hidden=pm.OWN_PERSONAS + UNSEEING +
                     ('no_roles',)),
           undo=_recreate_project('spare', 'leaf')),
    _lists('registered_limit:list', '/v1/registered_limits'),
    _lists('registered_limit:get',
           '/v1/registered_limits/{spare_registered}'),
    pm.Row(_rule('registered_limit:create'), 'POST', '/v1/registered_limits',
           pm.expect(201, SYSTEM_ADMIN),
           body={'service_id': 'nova', 'resource_name': 'ram',
                 'default_limit': 5},
           undo=_delete_created('/v1/registered_limits', 'registered_limit')),
    pm.Row(_rule('registered_limit:update'), 'PATCH',
           '/v1/registered_limits/{spare_registered}',
           pm.expect(200, SYSTEM_ADMIN), body={'description': 'x'}),
    pm.Row(_rule('registered_limit:delete'), 'DELETE',
           '/v1/registered_limits/{spare_registered}',
           pm.expect(204, SYSTEM_ADMIN), undo=_recreate_registered),
    _lists('limit:list', '/v1/limits'),
    _reads('limit:get', '/v1/limits/{spare_limit}'),
    pm.Row(_rule('limit:create'), 'POST', '/v1/limits',
           pm.expect(201, SYSTEM_ADMIN, hidden=UNSEEING),
           body={'project_id': 'leaf', 'service_id': 'nova',
                 'resource_name': 'disk', 'resource_limit': 5},
           undo=_delete_created('/v1/limits', 'limit')),
    pm.Row(_rule('limit:update'), 'PATCH', '/v1/limits/{spare_limit}',
           pm.expect(200, SYSTEM_ADMIN, hidden=UNSEEING),
           body={'description': 'x'}),
    pm.Row(_rule('limit:delete'), 'DELETE', '/v1/limits/{spare_limit}',
           pm.expect(204, SYSTEM_ADMIN, hidden=UNSEEING),
           undo=_recreate_limit),
    _lists('allocation:list', '/v1/allocations'),
    _reads('allocation:get', '/v1/allocations/vm-1'),
    pm.Row(_rule('allocation:put'), 'PUT', '/v1/allocations/vm-2',
           pm.expect(200, ADMIN_OR_SERVICE, hidden=UNSEEING),
           body={'project_id': 'leaf', 'resources': {'cores': 1}},
           undo=_free('vm-2')),
    pm.Row(_rule('allocation:delete'), 'DELETE', '/v1/allocations/vm-1',
           pm.expect(204, ADMIN_OR_SERVICE, hidden=UNSEEING),
           undo=_reallocate),
    pm.Row(_rule('enforce'), 'POST', '/v1/enforce',
           pm.expect(200, CHECKERS, hidden=UNSEEING),
           body={'project_id': 'leaf', 'resources': {'cores': 1}}),
    pm.Row(_rule('usage:reconcile'), 'PUT', '/v1/usages/leaf',
           pm.expect(200, ADMIN_OR_SERVICE, hidden=UNSEEING),
           body={'resources': {'cores': 1}}),
]


class MatrixState(object):
    """The tree of base.LimitsApiTestCase, plus what the rows delete."""

    def setUp(self):
        super().setUp()
        self.tree()
        self.project('spare', 'leaf')
        self.allocate('vm-1', 'leaf', cores=1)
        self.ids['spare_registered'] = self.registered_limit('disk', 50)['id']
        self.ids['spare_limit'] = self.limit('leaf', 'ram', 5)['id']


class TestPolicyMatrix(MatrixState, pm.PolicyMatrixTests,
                       base.LimitsApiTestCase):

    SPEC = service.SPEC
    OWN = 'leaf'
    OTHER = 'other'
    ROWS = MATRIX


def _answer(resp):
    """What a caller sees of an error, but its request id."""
    body = resp.json
    for error in body.get('errors', ()):
        error.pop('request_id', None)
    return resp.status_int, body


class TestOutOfScopeIsAbsent(base.LimitsApiTestCase):
    """Another project's object is answered like one that does not exist:
    same status, code, title and detail."""

    # Requests on objects of project lone; what() makes them absent.
    CASES = [
        ('GET', '/v1/allocations/vm-x', None),
        ('DELETE', '/v1/allocations/vm-x', None),
        ('GET', '/v1/limits/{limit}', None),
        ('PATCH', '/v1/limits/{limit}', {'description': 'x'}),
        ('DELETE', '/v1/limits/{limit}', None),
        ('GET', '/v1/projects/lone', None),
        ('GET', '/v1/projects/lone/usage?subtree=true', None),
        ('PATCH', '/v1/projects/lone', {'name': 'x'}),
        ('DELETE', '/v1/projects/lone', None),
        ('PUT', '/v1/usages/lone', {'resources': {'cores': 1}}),
        ('PUT', '/v1/allocations/vm-new',
         {'project_id': 'lone', 'resources': {'cores': 1}}),
        ('POST', '/v1/enforce',
         {'project_id': 'lone', 'resources': {'cores': 1}}),
        ('POST', '/v1/limits',
         {'project_id': 'lone', 'service_id': 'nova',
          'resource_name': 'disk', 'resource_limit': 1}),
        ('POST', '/v1/projects', {'id': 'child', 'parent_id': 'lone'}),
    ]
    CALLERS = ('other_admin', 'other_member', 'other_reader')

    def setUp(self):
        super().setUp()
        self.tree()
        self.project('lone', 'root')
        self.allocate('vm-x', 'lone', cores=1)
        self.ids = {'limit': self.limit('lone', 'ram', 5)['id']}

    def _answers(self):
        people = pm.personas('leaf', 'other')
        return {(caller, method, path): _answer(pm.call(
            self.app, method, path.format(**self.ids), body, people[caller]))
            for method, path, body in self.CASES for caller in self.CALLERS}

    def test_same_answer_as_absent(self):
        present = self._answers()
        self.app.delete('/v1/allocations/vm-x', headers=ADMIN)
        self.app.delete('/v1/limits/%s' % self.ids['limit'], headers=ADMIN)
        self.app.delete('/v1/projects/lone', headers=ADMIN)
        absent = self._answers()
        differ = ['%s %s as %s: %r, absent %r' % (
            method, path, caller, present[key], absent[key])
            for key in sorted(present) for caller, method, path in [key]
            if present[key] != absent[key]]
        self.assertEqual([], differ)
        # And each of them is the 404 of an absent object.
        self.assertEqual({404}, {status for status, _ in present.values()})

    def test_reads_are_404_with_the_object_code(self):
        people = pm.personas('leaf', 'other')
        for path, code in (('/v1/allocations/vm-x', 'allocation_not_found'),
                           ('/v1/limits/%s' % self.ids['limit'],
                            'limit_not_found'),
                           ('/v1/projects/lone', 'project_not_found'),
                           ('/v1/projects/lone/usage', 'project_not_found')):
            resp = self.app.get(path, headers=people['other_member'],
                                status=404)
            self.assertEqual('limits.%s' % code,
                             resp.json['errors'][0]['code'], path)


# Writes that an admin of leaf tries on project victim, and the status it
# gets once every write rule is rule:project_admin.
VICTIM_WRITES = [
    pm.Row(_rule('project:create'), 'POST', '/v1/projects',
           {'project_admin': 404}, body={'id': 'evil', 'parent_id': 'victim'}),
    pm.Row(_rule('project:update'), 'PATCH', '/v1/projects/victim',
           {'project_admin': 404}, body={'name': 'pwned'}),
    pm.Row(_rule('project:update'), 'PATCH', '/v1/projects/leaf',
           {'project_admin': 403}, body={'parent_id': 'victim'}),
    pm.Row(_rule('project:delete'), 'DELETE', '/v1/projects/victim-spare',
           {'project_admin': 404}),
    pm.Row(_rule('registered_limit:create'), 'POST', '/v1/registered_limits',
           {'project_admin': 403},
           body={'service_id': 'nova', 'resource_name': 'ram',
                 'default_limit': 5}),
    pm.Row(_rule('registered_limit:update'), 'PATCH',
           '/v1/registered_limits/{registered}', {'project_admin': 403},
           body={'default_limit': 1}),
    pm.Row(_rule('registered_limit:delete'), 'DELETE',
           '/v1/registered_limits/{registered}', {'project_admin': 403}),
    pm.Row(_rule('limit:create'), 'POST', '/v1/limits',
           {'project_admin': 404},
           body={'project_id': 'victim', 'service_id': 'nova',
                 'resource_name': 'cores', 'resource_limit': 0}),
    pm.Row(_rule('limit:update'), 'PATCH', '/v1/limits/{victim_limit}',
           {'project_admin': 404}, body={'resource_limit': 0}),
    pm.Row(_rule('limit:delete'), 'DELETE', '/v1/limits/{victim_limit}',
           {'project_admin': 404}),
    # The case of the report: victim's cores, allocated by leaf's admin
    # (within victim's limits, so that only the policy can refuse it).
    pm.Row(_rule('allocation:put'), 'PUT', '/v1/allocations/vm-evil',
           {'project_admin': 404},
           body={'project_id': 'victim', 'resources': {'cores': 4}}),
    # Taking victim's consumer over into leaf.
    pm.Row(_rule('allocation:put'), 'PUT', '/v1/allocations/vm-victim',
           {'project_admin': 403},
           body={'project_id': 'leaf', 'resources': {'cores': 1}}),
    pm.Row(_rule('allocation:delete'), 'DELETE', '/v1/allocations/vm-victim',
           {'project_admin': 404}),
    pm.Row(_rule('usage:reconcile'), 'PUT', '/v1/usages/victim',
           {'project_admin': 404}, body={'resources': {'cores': 90}}),
    pm.Row(_rule('enforce'), 'POST', '/v1/enforce', {'project_admin': 404},
           body={'project_id': 'victim', 'resources': {'cores': 1}}),
]

# The same rules on leaf's own objects: the admin of leaf may, a system
# admin no longer may (the file is in force).
OWN_WRITES = [
    pm.Row(_rule('allocation:put'), 'PUT', '/v1/allocations/vm-2',
           {'project_admin': 200, 'system_admin': 403},
           body={'project_id': 'leaf', 'resources': {'cores': 2}}),
    pm.Row(_rule('allocation:delete'), 'DELETE', '/v1/allocations/vm-2',
           {'system_admin': 403, 'project_admin': 204}),
    pm.Row(_rule('usage:reconcile'), 'PUT', '/v1/usages/leaf',
           {'project_admin': 200, 'system_admin': 403},
           body={'resources': {'cores': 1}}),
    pm.Row(_rule('enforce'), 'POST', '/v1/enforce',
           {'project_admin': 200, 'system_admin': 403},
           body={'project_id': 'leaf', 'resources': {'cores': 1}}),
]


class TestCustomisedPolicy(base.LimitsApiTestCase):
    """An operator makes every write rule ``rule:project_admin``."""

    CONFINED = pm.OWN_PERSONAS + ('no_roles', 'other_admin')

    def setUp(self):
        # The state is built under the default policy; the operator's file
        # replaces it before the test (oslo.policy reloads a policy file
        # that changed).
        self.directory = self.useFixture(fixtures.TempDir()).path
        self.OVERRIDES = {('oslo_policy', 'policy_file'):
                          pm.write_policy_file(self.directory, {})}
        super().setUp()
        self.tree()
        self.project('victim', 'root')
        self.project('victim-spare', 'victim')
        self.allocate('vm-1', 'leaf', cores=1)
        self.allocate('vm-victim', 'victim', cores=2)
        self.ids = {
            'registered': self.registered_limit('ram', 10)['id'],
            'victim_limit': self.limit('victim', 'cores', 6)['id'],
        }
        self.overrides = dict.fromkeys(
            pm.write_rules(policies.list_rules()), 'rule:project_admin')
        pm.write_policy_file(self.directory, self.overrides)

    def _state(self):
        return {path: self.app.get(path, headers=ADMIN).json for path in (
            '/v1/projects', '/v1/registered_limits', '/v1/limits',
            '/v1/allocations', '/v1/projects/root/usage?subtree=true')}

    def test_every_write_rule_is_tried_on_victim(self):
        self.assertEqual(set(self.overrides), {
            row.rule for row in VICTIM_WRITES})
        self.assertIn('limits:allocation:put', self.overrides)

    def test_confined_to_own_project(self):
        people = pm.personas('leaf', 'other')
        before = self._state()
        failures = []
        for row in VICTIM_WRITES:
            path, body = pm.fill(row.path, self.ids), pm.fill(row.body,
                                                              self.ids)
            for persona in self.CONFINED:
                resp = pm.call(self.app, row.method, path, body,
                               people[persona])
                wanted = row.expected.get(persona, (403, 404))
                if resp.status_int not in (
                        wanted if isinstance(wanted, tuple) else (wanted,)):
                    failures.append('%s %s as %s: %d, expected %s' % (
                        row.method, path, persona, resp.status_int, wanted))
                if self._state() != before:
                    self.fail('%s %s as %s changed something' % (
                        row.method, path, persona))
        self.assertEqual([], failures)

    def test_admin_of_p1_allocates_nothing_in_victim(self):
        resp = self.app.put_json('/v1/allocations/vm-evil', {
            'project_id': 'victim', 'resources': {'cores': 4}},
            headers=af.identity(pm.ADMIN, 'leaf'), expect_errors=True)
        self.assertEqual(404, resp.status_int)
        self.assertEqual('limits.project_not_found',
                         resp.json['errors'][0]['code'])
        self.app.get('/v1/allocations/vm-evil', headers=ADMIN, status=404)
        usage = self.app.get('/v1/projects/victim/usage',
                             headers=ADMIN).json['projects'][0]
        self.assertEqual(2, usage['resources']['cores']['own_usage'])

    def test_own_project_writes_follow_the_file(self):
        people = pm.personas('leaf', 'other')
        failures = []
        for row in OWN_WRITES:
            for persona in ('system_admin', 'project_admin'):
                resp = pm.call(self.app, row.method, row.path, row.body,
                               people[persona])
                if resp.status_int != row.expected[persona]:
                    failures.append('%s %s as %s: %d, expected %d' % (
                        row.method, row.path, persona, resp.status_int,
                        row.expected[persona]))
        self.assertEqual([], failures)
