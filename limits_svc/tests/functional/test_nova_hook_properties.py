"""Random lives of Nova servers through the Nova hook, with faults.

The limits service is the real one (``test_clients.ClientsTestCase``: the
whole WSGI application over loopback HTTP, on SQLite), with a
:class:`test_nova_hook_faults.Faults` middleware in front of it; Nova is a
test double (:class:`FakeNova`), which makes the hook's calls at the
points the hook's guide gives and keeps what a Nova would know: which
servers exist, with which flavor, mid-resize or not.

Hypothesis draws sequences of boots (one or several instances, with
``min_count``), confirmations by the conductor, API workers that die
between the reservation and the conductor, a reservation that expired
(and was purged) or a build the user deleted before the conductor
confirmed it, deletes (of servers that exist, freed by the
``instance.delete.end`` endpoint, whose first free may fail and be
requeued, or of servers that never had an allocation), resizes and cold
migrations (resizes to the same flavor) checked, prepared, then
confirmed, reverted or failed, unshelve checks, and restores; before
some of the hook's calls the answer of the service to one of its
requests is lost after the service did the work (a proxy's 502), or the
request itself is held (a proxy's 504) and reaches the service only at a
later step, after whatever Nova did meanwhile.
After every step:

* never leak a claim, never count twice: the service's allocations are
  exactly those of the model (a live server holds its flavor, or the
  larger of its flavors mid-resize, never after a resize whose prep
  failed, even when the prep's held request lands later; a reservation
  of a dead API worker holds one
  flavor until it expires), with an expiry only on those reservations;
  a failed build's held request may leave a reservation, which expires,
  and nothing else;
* never over-commit: no usage over its limit (leaf's own 8 cores, 10
  instances and 16 GiB of RAM; root's subtree limit of 10 cores).
"""

import types

import fixtures
import hypothesis
from hypothesis import strategies as st
import oslo_messaging

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
# An answer of the service lost after it did the work (a proxy's 502), or
# a request that reaches it only later (a proxy's 504, then the request
# lands at a later 'land' step): for the nth PUT of the hook's call.
fault = st.one_of(st.none(), st.tuples(st.sampled_from(['lost', 'late']),
                                       st.integers(1, 3)))
# What happens to the build's first instance between the API's
# reservation and the conductor's confirmation: its reservation expired
# and was purged, or the user deleted it (Nova's API frees it; the
# conductor confirms, finds the build request gone, destroys the instance
# and sends instance.delete.end: freed again).
meanwhile = st.sampled_from([None, 'expired', 'deleted'])
# (An API worker dies in one boot of four.)
boot = st.tuples(st.just('boot'), st.sampled_from(PROJECTS), flavors,
                 st.integers(1, 3), st.integers(0, 2),
                 st.sampled_from([False, False, False, True]),
                 fault, fault, meanwhile)
resize = st.tuples(st.just('resize'), st.integers(0, 20), flavors,
                   st.sampled_from(['confirm', 'revert', 'fail']), fault)
land = st.tuples(st.just('land'), st.integers(0, 3))
# Boots, resizes and landings are drawn more often than the simple steps.
steps = st.one_of(
    boot, boot, boot, resize, resize, land, land,
    st.tuples(st.just('delete'), st.integers(0, 20), st.booleans()),
    st.tuples(st.just('delete_unknown')),
    st.tuples(st.just('restore'), st.integers(0, 20)),
    st.tuples(st.just('migrate'), st.integers(0, 20),
              st.sampled_from(['confirm', 'revert', 'fail']), fault),
    st.tuples(st.just('unshelve'), st.integers(0, 20)),
)


class FakeNova:
    """What Nova knows of its servers, and the hook's calls it makes."""

    def __init__(self, test):
        self.test = test
        self.hook = test.hook
        self.servers = {}       # uuid -> namespace(project_id, flavor)
        self.stale = {}         # uuid -> resources of a dead worker's
        # uuids of builds that failed, for which a deferred request may
        # still land: they may hold a reservation (never more).
        self.may_reserve = set()
        # Per deferred request: the resources a resize's prep asked the
        # server to hold (None for a reservation or a confirmation).
        self.deferred = []
        self.serial = 0

    def expected(self):
        """``{uuid: (project, resources, expires)}`` of what must be held,
        and the uuids that may also hold a reservation."""
        held = {}
        for uuid, server in self.servers.items():
            held[uuid] = (server.project_id,
                          self.hook.resources(server.flavor), False)
        for uuid, (project_id, resources) in self.stale.items():
            held[uuid] = (project_id, resources, True)
        return held, self.may_reserve - set(held)

    def _arm(self, fault):
        if fault is not None:
            kind, nth = fault
            self.test.faults.arm(
                'PUT', '/v1/allocations/', nth,
                '502 Bad Gateway' if kind == 'lost' else 'deferred')

    def _call(self, fault, call, *args, **kwargs):
        """The hook's call with ``fault`` armed; the uuids of the requests
        it deferred."""
        before = len(self.test.faults.deferred)
        self._arm(fault)
        try:
            return call(*args, **kwargs)
        finally:
            self.test.faults.disarm()
            for path, _environ, _body in self.test.faults.deferred[before:]:
                self.deferred.append(None)
                self.may_reserve.add(path.rsplit('/', 1)[1])

    def boot(self, project_id, flavor, max_count, extra_min, api_dies,
             reserve_fault, confirm_fault, meanwhile):
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
        try:
            reserved = self._call(reserve_fault, self.hook.reserve_instances,
                                  None, project_id, flavor, False, uuids,
                                  min_count=min_count)
        except (nova.TooManyInstances, limits.ClientError):
            return
        self.test.assertGreaterEqual(len(reserved), min_count)
        if api_dies:
            # Killed between the reservation and the conductor: the
            # reservations stay until they expire.
            for uuid in reserved:
                self.stale[uuid] = (project_id, self.hook.resources(flavor))
            return
        deleted = None
        if meanwhile is not None:
            uuid = reserved[0]
            if meanwhile == 'expired':
                # What the engine's purge of an expired reservation does.
                self.test.client.delete_allocation(uuid)
            else:
                deleted = types.SimpleNamespace(uuid=uuid)
                self.hook.free_instance(None, deleted)
        try:
            self._call(confirm_fault, self.hook.confirm_instances, None,
                       project_id, flavor, False, reserved)
        except (nova.TooManyInstances, limits.ClientError):
            return
        for uuid in reserved:
            self.servers[uuid] = types.SimpleNamespace(
                uuid=uuid, project_id=project_id, flavor=flavor,
                old_flavor=None, new_flavor=None)
        if deleted is not None:
            # The conductor finds the build request gone: delete.end.
            self.hook.free_instance(None, deleted)
            del self.servers[deleted.uuid]

    def pick(self, index):
        if not self.servers:
            return None
        return self.servers[sorted(self.servers)[index % len(self.servers)]]

    def delete(self, index, free_fails_once):
        """Nova deletes a server; the listener's endpoint frees it on
        ``instance.delete.end``, and a free that fails requeues the
        notification, delivered again."""
        server = self.pick(index)
        if server is None:
            return
        del self.servers[server.uuid]
        endpoint = nova.InstanceDeleteEndpoint(self.hook, retry_delay=0)
        payload = {'nova_object.data': {'uuid': server.uuid}}
        if free_fails_once:
            self.test.faults.arm('DELETE', '/v1/allocations/', 1,
                                 ('503 Service Unavailable', 'text/html',
                                  b'busy'), reach=False)
            self.test.assertEqual(
                oslo_messaging.NotificationResult.REQUEUE,
                endpoint.info({}, 'nova', 'instance.delete.end', payload,
                              {}))
            self.test.faults.disarm()
        self.test.assertEqual(
            oslo_messaging.NotificationResult.HANDLED,
            endpoint.info({}, 'nova', 'instance.delete.end', payload, {}))

    def delete_unknown(self):
        # A server whose build never reached the hook (or an old one).
        self.serial += 1
        ghost = types.SimpleNamespace(uuid='vm-%03d' % self.serial)
        self.test.assertFalse(self.hook.free_instance(None, ghost))

    def resize(self, index, flavor, outcome, fault):
        server = self.pick(index)
        if server is None:
            return
        new = FLAVORS[flavor]
        try:
            self.hook.check_resize(None, server, new)
        except nova.TooManyInstances:
            return
        deferred = len(self.deferred)
        try:
            self._call(fault, self.hook.resize_instance, None, server, new)
        except nova.TooManyInstances:
            # Another step cannot run in between here, so the check's
            # answer still holds.
            self.test.fail('resize refused after its check allowed it')
        except limits.ClientError:
            # Nova's resize fails at its prep: there is no resize for it
            # to confirm or revert, and the server keeps its flavor.
            outcome = None
        if len(self.deferred) > deferred:
            # The prep's request may land later: the hook wrote the
            # server's allocation back before Nova got the prep's error,
            # so it finds another allocation and makes nothing.
            self.may_reserve.discard(server.uuid)
            old = self.hook.resources(server.flavor)
            larger = self.hook.resources(new)
            self.deferred[-1] = {
                name: max(old.get(name, 0), larger.get(name, 0))
                for name in set(old) | set(larger)}
        if outcome is None:
            return
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

    def migrate(self, index, outcome, fault):
        """A cold migration: a resize to the same flavor."""
        server = self.pick(index)
        if server is not None:
            self.resize(index, next(name for name, flavor in FLAVORS.items()
                                    if flavor is server.flavor),
                        outcome, fault)

    def unshelve(self, index):
        """Nova's unshelve check of an offloaded server asks for zero
        instances: never refused, writes nothing (the server kept its
        allocation while offloaded)."""
        server = self.pick(index)
        if server is not None:
            self.test.assertEqual(
                0, self.hook.enforce_num_instances_and_flavor(
                    None, server.project_id, server.flavor, False, 0, 0))

    def restore(self, index):
        server = self.pick(index)
        if server is not None:
            # A soft-deleted server keeps its allocation: never refused.
            self.hook.check_restore(None, server)

    def land(self, index):
        """A deferred request reaches the service at last."""
        if not self.deferred:
            return
        index %= len(self.deferred)
        held = self.deferred.pop(index)
        path, status = self.test.faults.land(index)
        uuid = path.rsplit('/', 1)[1]
        if held is not None and uuid in self.servers:
            # A resize's prep whose error Nova got: it once made the
            # server hold the larger flavor until its next resize.
            self.test.assertEqual('412', status[:3], path)


class TestServerLives(faults.HookFaultsTestCase):

    #: No fault here waits for the client's timeout (a lost answer is a
    #: 502 at once, a held request a 504 at once): a long one, so that a
    #: loaded machine's slow answer is not taken for a fault (a dry-run
    #: check timed out after 1 s in a busy run, a flaky failure).
    TIMEOUT = 30

    def setUp(self):
        super().setUp()
        # Many lives in one test: more than the faults tests' minute on a
        # busy machine.
        self.useFixture(fixtures.Timeout(300, gentle=True))
        self.serve(self.admin.app)

    def reset(self):
        del self.faults.deferred[:]
        for allocation in list(self.reader.list_allocations()):
            self.client.delete_allocation(allocation['consumer_id'])

    def check(self, fake):
        held = {a['consumer_id']: (a['project_id'], a['resources'],
                                   a['expires_at'] is not None)
                for a in self.reader.list_allocations()}
        expected, may_reserve = fake.expected()
        # A request that reached the service late may have left a
        # reservation of a failed build, which frees itself; never an
        # allocation that stays.
        for uuid in may_reserve & set(held):
            self.assertTrue(held.pop(uuid)[2], uuid)
        self.assertEqual(expected, held)
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
    # The lives in which the hook made an allocation no server held, for
    # ever, until a confirmation's fresh allocation after an expiry or a
    # delete (38f3de3) and a resize's prep (4353065) only replaced what
    # the instance held or expired by themselves.
    @hypothesis.example(plan=[
        ('boot', 'leaf', 'tiny', 1, 0, False, None, ('late', 2),
         'expired'),
        ('land', 0)])
    @hypothesis.example(plan=[
        ('boot', 'leaf', 'small', 2, 0, False, None, ('late', 2),
         'deleted'),
        ('land', 0)])
    @hypothesis.example(plan=[
        ('boot', 'leaf', 'small', 1, 0, False, None, None, None),
        ('resize', 0, 'big', 'confirm', ('late', 1)),
        ('delete', 0, True),
        ('land', 0)])
    # A resize prep whose answer was lost (the server held the larger
    # flavor) or whose request landed after Nova got its error (the same,
    # later): Nova neither confirms nor reverts a resize that failed at
    # its prep.
    @hypothesis.example(plan=[
        ('boot', 'leaf', 'small', 1, 0, False, None, None, None),
        ('resize', 0, 'big', 'confirm', ('lost', 1))])
    @hypothesis.example(plan=[
        ('boot', 'leaf', 'small', 1, 0, False, None, None, None),
        ('resize', 0, 'big', 'revert', ('late', 1)),
        ('land', 0)])
    def test_claims_follow_the_servers(self, plan):
        self.reset()
        fake = FakeNova(self)
        for step in plan:
            getattr(fake, step[0])(*step[1:])
            self.check(fake)
