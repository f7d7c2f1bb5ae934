"""Random lives of Nova servers through the Nova hook, with faults.

The limits service is the real one (``test_clients.ClientsTestCase``: the
whole WSGI application over loopback HTTP, on SQLite), with a
:class:`test_nova_hook_faults.Faults` middleware in front of it; Nova is a
test double (:class:`FakeNova`), which makes the hook's calls at the
points the hook's guide gives and keeps what a Nova would know: which
servers exist, with which flavor, mid-resize or not.

Hypothesis draws sequences of boots (one or several instances, with
``min_count``), confirmations by the conductor, API workers that die
between the reservation and the conductor, deletes (of servers that
exist or never had an allocation), resizes checked, prepared, then
confirmed, reverted or failed, and restores; before some of the hook's
calls the answer of the service to one of its requests is lost after the
service did the work (a proxy's 502). After every step:

* never leak a claim, never count twice: the service's allocations are
  exactly those of the model (a live server holds its flavor, or the
  larger of its flavors mid-resize; a reservation of a dead API worker
  holds one flavor until it expires), with an expiry only on those
  reservations;
* never over-commit: no usage over its limit (leaf's own 8 cores, 10
  instances and 16 GiB of RAM; root's subtree limit of 10 cores).
"""

import types

import hypothesis
from hypothesis import strategies as st

from limits_svc.clients import limits
from limits_svc.hooks import nova
from limits_svc.tests.functional import test_nova_hook_faults as faults

FLAVORS = {
    'tiny': types.SimpleNamespace(vcpus=1, memory_mb=512, root_gb=1,
                                  ephemeral_gb=0, swap=0),
    'small': types.SimpleNamespace(vcpus=2, memory_mb=2048, root_gb=10,
                                   ephemeral_gb=0, swap=0),
    'big': types.SimpleNamespace(vcpus=4, memory_mb=8192, root_gb=40,
                                 ephemeral_gb=0, swap=0),
}
PROJECTS = ('leaf', 'other')

flavors = st.sampled_from(sorted(FLAVORS))
lose_an_answer = st.one_of(st.none(), st.integers(1, 3))
steps = st.one_of(
    st.tuples(st.just('boot'), st.sampled_from(PROJECTS), flavors,
              st.integers(1, 3), st.integers(0, 2), st.booleans(),
              lose_an_answer),
    st.tuples(st.just('delete'), st.integers(0, 20)),
    st.tuples(st.just('delete_unknown')),
    st.tuples(st.just('resize'), st.integers(0, 20), flavors,
              st.sampled_from(['confirm', 'revert', 'fail']),
              lose_an_answer),
    st.tuples(st.just('restore'), st.integers(0, 20)),
)


class FakeNova:
    """What Nova knows of its servers, and the hook's calls it makes."""

    def __init__(self, test):
        self.test = test
        self.hook = test.hook
        self.servers = {}       # uuid -> namespace(project_id, flavor)
        self.stale = {}         # uuid -> resources of a dead worker's
        self.serial = 0

    def expected(self):
        held = {}
        for uuid, server in self.servers.items():
            resources = self.hook.resources(server.flavor)
            held[uuid] = (server.project_id, resources, False)
        for uuid, (project_id, resources) in self.stale.items():
            held[uuid] = (project_id, resources, True)
        return held

    def _lose(self, method, nth):
        if nth is not None:
            self.test.faults.arm(method, '/v1/allocations/', nth,
                                 '502 Bad Gateway')

    def boot(self, project_id, flavor, max_count, extra_min, api_dies,
             lose):
        flavor = FLAVORS[flavor]
        min_count = max(1, max_count - extra_min)
        try:
            count = self.hook.enforce_num_instances_and_flavor(
                None, project_id, flavor, False, min_count, max_count)
        except nova.TooManyInstances:
            return
        uuids = []
        for _ in range(count):
            self.serial += 1
            uuids.append('vm-%03d' % self.serial)
        self._lose('PUT', lose)
        try:
            reserved = self.hook.reserve_instances(
                None, project_id, flavor, False, uuids, min_count=min_count)
        except (nova.TooManyInstances, limits.ClientError):
            return
        finally:
            self.test.faults.disarm()
        self.test.assertGreaterEqual(len(reserved), min_count)
        if api_dies:
            # Killed between the reservation and the conductor: the
            # reservations stay until they expire.
            for uuid in reserved:
                self.stale[uuid] = (project_id, self.hook.resources(flavor))
            return
        try:
            self.hook.confirm_instances(None, project_id, flavor, False,
                                        reserved)
        except nova.TooManyInstances:
            return
        for uuid in reserved:
            self.servers[uuid] = types.SimpleNamespace(
                uuid=uuid, project_id=project_id, flavor=flavor,
                old_flavor=None, new_flavor=None)

    def pick(self, index):
        if not self.servers:
            return None
        return self.servers[sorted(self.servers)[index % len(self.servers)]]

    def delete(self, index):
        server = self.pick(index)
        if server is not None:
            self.test.assertTrue(self.hook.free_instance(None, server))
            del self.servers[server.uuid]

    def delete_unknown(self):
        # A server whose build never reached the hook (or an old one).
        self.serial += 1
        ghost = types.SimpleNamespace(uuid='vm-%03d' % self.serial)
        self.test.assertFalse(self.hook.free_instance(None, ghost))

    def resize(self, index, flavor, outcome, lose):
        server = self.pick(index)
        if server is None:
            return
        new = FLAVORS[flavor]
        try:
            self.hook.check_resize(None, server, new)
        except nova.TooManyInstances:
            return
        self._lose('PUT', 1 if lose else None)
        try:
            self.hook.resize_instance(None, server, new)
        except nova.TooManyInstances:
            # Another step cannot run in between here, so the check's
            # answer still holds.
            self.test.fail('resize refused after its check allowed it')
        except limits.ClientError:
            outcome = 'fail'
        finally:
            self.test.faults.disarm()
        if outcome == 'fail':
            # The resize failed after its prep: the server keeps its old
            # flavor, and the guide says to give back with revert_resize.
            self.hook.revert_resize(None, server)
            return
        server.old_flavor, server.new_flavor = server.flavor, new
        if outcome == 'confirm':
            self.hook.confirm_resize(None, server)
            server.flavor = new
        else:
            self.hook.revert_resize(None, server)
        server.old_flavor = server.new_flavor = None

    def restore(self, index):
        server = self.pick(index)
        if server is not None:
            # A soft-deleted server keeps its allocation: never refused.
            self.hook.check_restore(None, server)


class TestServerLives(faults.HookFaultsTestCase):

    def setUp(self):
        super().setUp()
        self.serve(self.admin.app)

    def reset(self):
        for allocation in list(self.reader.list_allocations()):
            self.client.delete_allocation(allocation['consumer_id'])

    def check(self, fake):
        held = {a['consumer_id']: (a['project_id'], a['resources'],
                                   a['expires_at'] is not None)
                for a in self.reader.list_allocations()}
        self.assertEqual(fake.expected(), held)
        report = self.reader.usage('root', subtree=True)
        for project in report['projects']:
            for name, figures in project['resources'].items():
                for scope in ('own', 'subtree'):
                    limit = figures['%s_limit' % scope]
                    if limit is not None and limit >= 0:
                        self.assertLessEqual(
                            figures['%s_usage' % scope], limit,
                            (project['project_id'], name, scope))

    @hypothesis.settings(max_examples=40, deadline=None, derandomize=True,
                         database=None,
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(plan=st.lists(steps, min_size=1, max_size=14))
    def test_claims_follow_the_servers(self, plan):
        self.reset()
        fake = FakeNova(self)
        for step in plan:
            getattr(fake, step[0])(*step[1:])
            self.check(fake)
