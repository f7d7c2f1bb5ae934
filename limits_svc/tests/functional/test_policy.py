"""Every limits_svc endpoint × every persona: who gets what status.

The target project is ``leaf``; "other" callers belong to project ``other``.
A refused read of another project's object is a 404 (it never tells that
the object exists), a refused write or a wrong token scope is a 403.
"""

from limits_svc.tests.functional import base
from svc_common.tests.fixtures import api as af

ADMIN_ROLES = ['admin', 'member', 'reader']
MEMBER_ROLES = ['member', 'reader']

PERSONAS = {
    'system_admin': af.identity(ADMIN_ROLES, system=True),
    'system_reader': af.identity(['reader'], system=True),
    'project_admin': af.identity(ADMIN_ROLES, 'leaf'),
    'project_member': af.identity(MEMBER_ROLES, 'leaf'),
    'project_reader': af.identity(['reader'], 'leaf'),
    'other_member': af.identity(MEMBER_ROLES, 'other'),
    'service': af.SERVICE,
}

# (method, path, body) -> {persona: expected status}; personas not named
# get the row's default.
READ_LEAF = {'system_admin': 200, 'system_reader': 200, 'project_admin': 200,
             'project_member': 200, 'project_reader': 200,
             'other_member': 404, 'service': 200}
ADMIN_ONLY = {'system_admin': None, 'system_reader': 403,
              'project_admin': 403, 'project_member': 403,
              'project_reader': 403, 'other_member': 403, 'service': 403}
ADMIN_OR_SERVICE = dict(ADMIN_ONLY, service=None)


def _expect(table, success):
    return {p: (success if s is None else s) for p, s in table.items()}


MATRIX = [
    ('GET', '/v1', None, dict(READ_LEAF, other_member=200)),
    ('GET', '/v1/projects', None, dict(READ_LEAF, other_member=200)),
    ('GET', '/v1/projects/leaf', None, READ_LEAF),
    ('GET', '/v1/projects/leaf/usage?subtree=true', None, READ_LEAF),
    ('POST', '/v1/projects', {'id': 'new'}, _expect(ADMIN_ONLY, 201)),
    # System-scoped rules: any project-scoped token is the wrong scope (403).
    ('PATCH', '/v1/projects/leaf', {'name': 'x'}, _expect(ADMIN_ONLY, 200)),
    ('GET', '/v1/registered_limits', None,
     dict(READ_LEAF, other_member=200)),
    ('POST', '/v1/registered_limits',
     {'service_id': 'nova', 'resource_name': 'ram', 'default_limit': 5},
     _expect(ADMIN_ONLY, 201)),
    ('GET', '/v1/limits', None, dict(READ_LEAF, other_member=200)),
    ('POST', '/v1/limits',
     {'project_id': 'leaf', 'service_id': 'nova', 'resource_name': 'ram',
      'resource_limit': 5}, _expect(ADMIN_ONLY, 201)),
    ('GET', '/v1/allocations', None, dict(READ_LEAF, other_member=200)),
    ('GET', '/v1/allocations/vm-1', None, READ_LEAF),
    ('PUT', '/v1/allocations/vm-2',
     {'project_id': 'leaf', 'resources': {'cores': 1}},
     _expect(ADMIN_OR_SERVICE, 200)),
    ('DELETE', '/v1/allocations/vm-1', None, _expect(ADMIN_OR_SERVICE, 204)),
    ('POST', '/v1/enforce', {'project_id': 'leaf', 'resources': {'cores': 1}},
     {'system_admin': 200, 'system_reader': 403, 'project_admin': 200,
      'project_member': 200, 'project_reader': 403, 'other_member': 404,
      'service': 200}),
    ('PUT', '/v1/usages/leaf', {'resources': {'cores': 1}},
     _expect(ADMIN_OR_SERVICE, 200)),
]


class TestPolicyMatrix(base.LimitsApiTestCase):

    def setUp(self):
        super().setUp()
        self.tree()
        self.allocate('vm-1', 'leaf', cores=1)

    def _call(self, method, path, body, headers):
        if body is None:
            return self.app.request(path, method=method, headers=headers,
                                    expect_errors=True)
        return getattr(self.app, '%s_json' % method.lower())(
            path, body, headers=headers, expect_errors=True)

    def test_matrix(self):
        failures = []
        for method, path, body, expected in MATRIX:
            for persona, headers in sorted(PERSONAS.items()):
                # Each call gets a fresh state for writes that change it.
                resp = self._call(method, path, body, headers)
                if resp.status_int != expected[persona]:
                    failures.append('%s %s as %s: %d, expected %d' % (
                        method, path, persona, resp.status_int,
                        expected[persona]))
                if resp.status_int in (201, 204) or (
                        method == 'PUT' and resp.status_int == 200):
                    self._undo(method, path, resp)
        self.assertEqual([], failures)

    def _undo(self, method, path, resp):
        """Put back what a successful write changed, for the next persona."""
        admin = af.SYSTEM_ADMIN
        if method == 'POST' and path == '/v1/projects':
            self.app.delete('/v1/projects/new', headers=admin)
        elif method == 'POST' and path.endswith('limits'):
            key = 'limit' if path == '/v1/limits' else 'registered_limit'
            self.app.delete('%s/%s' % (path, resp.json[key]['id']),
                            headers=admin)
        elif method == 'DELETE':
            self.allocate('vm-1', 'leaf', cores=1)
        elif path == '/v1/allocations/vm-2':
            self.app.delete(path, headers=admin)
