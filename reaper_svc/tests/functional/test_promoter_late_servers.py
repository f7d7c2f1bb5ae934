"""Servers of an interrupted build that Nova makes after the promoter
last looked for them.

Nova may carry out a create it answered with a 500 (the answer came
from a proxy, or nova-api failed after it had cast the build).  The
promoter looked for such a server of its own once: right after the next
successful build of the request, or at the first pass after the request
ended without being built, and then never again.  A server that
appeared later ran for good next to the request's servers, uncounted
and unguaranteed: a leak.  It now looks again at every pass until
``[preemption] build_timeout`` after the request was built (or ended),
the time the recovery also gives a create to show in the cloud, and a
last time after it.

The cloud is the simulated driver, whose create the tests make fail as
Nova answering 500 would, and then carry out late, as Nova would.
"""

import datetime
import types
import uuid

import hypothesis
from hypothesis import strategies as st
from keystoneauth1 import exceptions as ks_exc

from reaper_svc.db import actions as actions_db
from reaper_svc.db import pending as pending_db
from reaper_svc.drivers import base as driver_base
from reaper_svc import promoter as promoter_mod
from reaper_svc.tests.functional import test_promoter_build_outage as tb


def error_500():
    return tb.wrapped(ks_exc.InternalServerError('Unexpected API Error.'))


class LateServersBase(tb.BuildOutageBase):

    def setUp(self):
        super().setUp()
        # The engine's clock runs at the database's, as a real engine's.
        self.now = actions_db.utcnow()

    def interrupt_with_500(self, request):
        """A build of ``request`` answered 500; the arguments of its
        create, for Nova to carry it out late."""
        self.failures['job'] = ('before', error_500())
        self.assertRaises(driver_base.DriverError, self.promoter.promote)
        self.assertEqual(pending_db.QUEUED, self.state(request)['state'])
        self.failures.clear()
        return self.calls[-1]

    def swept(self):
        """The ids of the requests the late-server sweep still looks
        at (those whose token is kept)."""
        return [r['id'] for r in pending_db.swept_after_interruptions(
            self.engine.db, self.ctx)]


class TestLateServers(LateServersBase):

    def test_a_server_made_after_the_next_build_is_deleted(self):
        other = self.queue(project='physics', count=1)
        self.assertEqual([other['id']], self.promoter.promote()['built'])
        request = self.queue(count=1)
        args, kwargs = self.interrupt_with_500(request)
        self.assertEqual([request['id']], self.promoter.promote()['built'])
        built = self.state(request)['server_ids']
        # Nova carries the create it answered 500 out now, after the
        # build: a server of the request's own, not one of its servers.
        late = self.real_create(*args, **kwargs)
        self.assertIn(late[0], self.servers_of('physics'))
        self.promoter.promote()
        self.assertEqual(sorted(built + self.state(other)['server_ids']),
                         self.servers_of('physics'))
        self.assertEqual(pending_db.ACTIVE, self.state(request)['state'])
        self.assertEqual(built, self.state(request)['server_ids'])

    def test_late_servers_are_looked_for_until_build_timeout(self):
        request = self.queue(count=1)
        args, kwargs = self.interrupt_with_500(request)
        self.assertEqual([request['id']], self.promoter.promote()['built'])
        built = self.state(request)['server_ids']
        # One pass after another within build_timeout, then the last
        # one after it: each deletes what appeared since.
        for _ in range(2):
            self.real_create(*args, **kwargs)
            self.promoter.promote()
            self.assertEqual(built, self.servers_of('physics'))
        self.stale()
        self.real_create(*args, **kwargs)
        self.promoter.promote()
        self.assertEqual(built, self.servers_of('physics'))
        # Then the cloud is not asked about the request any more.
        asked = []
        real = self.sim.servers_with_metadata
        self.useFixture(tb.tp.fixtures.MockPatchObject(
            self.sim, 'servers_with_metadata',
            lambda *a: asked.append(a) or real(*a)))
        self.promoter.promote()
        self.assertEqual([], asked)

    def test_a_member_tagged_server_is_still_left(self):
        request = self.queue(count=1)
        args, kwargs = self.interrupt_with_500(request)
        self.assertEqual([request['id']], self.promoter.promote()['built'])
        built = self.state(request)['server_ids']
        tagged = self.real_create(
            'physics', 'precious', 'm1', 1, 1, image='img', networks=[],
            metadata={promoter_mod.REQUEST_METADATA: request['id']})
        late = self.real_create(*args, **kwargs)
        self.promoter.promote()
        self.assertEqual(sorted(built + tagged), self.servers_of('physics'))
        self.assertNotIn(late[0], self.servers_of('physics'))

    def test_a_server_made_after_a_withdrawal_was_cleaned_is_deleted(self):
        request = self.queue(count=1)
        args, kwargs = self.interrupt_with_500(request)
        pending_db.cancel_request(self.engine.db, self.ctx, request['id'])
        # The pass after the withdrawal looks and finds nothing.
        self.promoter.promote()
        self.assertEqual([], self.servers_of('physics'))
        late = self.real_create(*args, **kwargs)
        self.assertEqual(late, self.servers_of('physics'))
        self.promoter.promote()
        self.assertEqual([], self.servers_of('physics'))

    def test_the_recovery_leaves_its_extras_to_the_sweep(self):
        """The recovery looked after build_timeout and adopted what it
        found; a server of its own beyond its count (the create of the
        interrupted build carried out twice) is deleted by the
        late-server sweep, and later passes look no more.  It was left
        running: the recovery forgot the token the sweep needs."""
        request = self.queue(count=1)
        self.failures['job'] = ('after', tb.wrapped(
            ks_exc.GatewayTimeout()))
        self.assertRaises(driver_base.DriverError, self.promoter.promote)
        self.assertEqual(pending_db.BUILDING, self.state(request)['state'])
        self.failures.clear()
        args, kwargs = self.calls[-1]
        self.real_create(*args, **kwargs)
        self.assertEqual(2, len(self.servers_of('physics')))
        self.stale()
        done = self.promoter.promote()
        self.assertEqual({request['id']: pending_db.ACTIVE},
                         done['recovered'])
        adopted = self.state(request)['server_ids']
        self.assertEqual(1, len(adopted))
        self.assertEqual(adopted, self.servers_of('physics'))
        self.assertNotIn(request['id'], self.swept())
        self.promoter.promote()
        self.assertEqual(adopted, self.servers_of('physics'))

    def test_recovery_after_interruptions_leaves_the_extras_to_the_sweep(
            self):
        """A build answered 500 (queued again), the next one left
        building (its answer lost), and the first one's create carried
        out late by Nova while the request is building: the recovery
        finds two servers of its own for one asked.  It adopts one; the
        other is an interrupted build's late server, which the sweep
        deletes.  It was left running for good, unguaranteed and swept
        by nothing: the recovery forgot the request's token."""
        request = self.queue(count=1)
        args, kwargs = self.interrupt_with_500(request)
        self.failures['job'] = ('after', tb.wrapped(
            ks_exc.GatewayTimeout()))
        self.assertRaises(driver_base.DriverError, self.promoter.promote)
        self.assertEqual(pending_db.BUILDING, self.state(request)['state'])
        self.failures.clear()
        self.real_create(*args, **kwargs)
        self.assertEqual(2, len(self.servers_of('physics')))
        self.stale()
        done = self.promoter.promote()
        self.assertEqual({request['id']: pending_db.ACTIVE},
                         done['recovered'])
        adopted = self.state(request)['server_ids']
        self.assertEqual(1, len(adopted))
        self.assertEqual(adopted, self.servers_of('physics'))
        # The sweep's last look is over: its token is forgotten and the
        # adopted server stays.
        self.assertNotIn(request['id'], self.swept())
        self.promoter.promote()
        self.assertEqual(adopted, self.servers_of('physics'))

    def test_recovery_after_interruptions_keeps_a_stopped_server(self):
        """Two servers, as many as fit, the build's answer lost (an
        interruption), and the user stops one before the recovery looks:
        both are its servers, and the late-server sweep leaves them.
        Only the ACTIVE one was adopted, and the sweep deleted the
        stopped one, a server of its own that was not its server.  A
        late server beyond its count is still deleted."""
        request = self.queue(count=2, all_or_nothing=False)
        self.failures['job'] = ('after', tb.wrapped(
            ks_exc.GatewayTimeout()))
        self.assertRaises(driver_base.DriverError, self.promoter.promote)
        self.assertEqual(pending_db.BUILDING, self.state(request)['state'])
        self.failures.clear()
        args, kwargs = self.calls[-1]
        built = self.servers_of('physics')
        self.assertEqual(2, len(built))
        self.sim.stop(built[0])
        # Nova carried the create out twice: two more, created later.
        after_all = max(s['created_at'] for s in self.listed()) + (
            datetime.timedelta(seconds=1))
        self.useFixture(tb.tp.fixtures.MockPatchObject(
            self.sim, 'clock', lambda: after_all))
        self.sim.set_host('cmp2', capacity={'VCPU': 4, 'MEMORY_MB': 8192})
        late = self.real_create(*args, **kwargs)
        self.assertEqual(4, len(self.servers_of('physics')))
        self.stale()
        done = self.promoter.promote()
        self.assertEqual({request['id']: pending_db.ACTIVE},
                         done['recovered'])
        self.assertEqual(built, sorted(self.state(request)['server_ids']))
        self.promoter.promote()
        self.assertEqual(built, self.servers_of('physics'))
        self.assertEqual('SHUTOFF',
                         self.sim.server_state(built[0])['status'])
        self.assertTrue(set(late).isdisjoint(self.servers_of('physics')))

    def test_a_late_server_in_error_does_not_fail_a_whole_request(self):
        """All or nothing, one server, the build's answer lost, and the
        create carried out a second time by Nova, that server failing
        (ERROR).  The request has its one server: it is active with it,
        the late server in ERROR deleted.  It was failed, its good
        server deleted with the late one."""
        request = self.queue(count=1)
        self.failures['job'] = ('after', tb.wrapped(
            ks_exc.GatewayTimeout()))
        self.assertRaises(driver_base.DriverError, self.promoter.promote)
        self.failures.clear()
        args, kwargs = self.calls[-1]
        built = self.servers_of('physics')
        after_all = max(s['created_at'] for s in self.listed()) + (
            datetime.timedelta(seconds=1))
        self.useFixture(tb.tp.fixtures.MockPatchObject(
            self.sim, 'clock', lambda: after_all))
        late = self.real_create(*args, **kwargs)
        self.sim.set_status(late[0], 'ERROR')
        self.stale()
        done = self.promoter.promote()
        self.assertEqual({request['id']: pending_db.ACTIVE},
                         done['recovered'])
        self.assertEqual(built, self.state(request)['server_ids'])
        self.assertEqual(built, self.servers_of('physics'))

    def group_with_a_late_pair(self):
        """A group of two kinds (a pair "first", then one "second"): a
        build answered 500 at "first" (queued again), the next one left
        building at "second" (its answer lost), and the first build's
        "first" carried out late by Nova, created before all the
        others.  The cloud shows four active servers of its own for
        three asked; the request, stale; the late pair's ids."""
        request = self.queue_group()
        self.failures['first'] = ('before', error_500())
        self.assertRaises(driver_base.DriverError, self.promoter.promote)
        self.assertEqual(pending_db.QUEUED, self.state(request)['state'])
        args, kwargs = self.calls[-1]
        self.failures.clear()
        self.failures['second'] = ('after', tb.wrapped(
            ks_exc.GatewayTimeout()))
        self.assertRaises(driver_base.DriverError, self.promoter.promote)
        self.assertEqual(pending_db.BUILDING, self.state(request)['state'])
        self.failures.clear()
        built = self.listed()
        self.assertEqual(3, len(built))
        before_all = min(s['created_at'] for s in built) - (
            datetime.timedelta(seconds=1))
        self.useFixture(tb.tp.fixtures.MockPatchObject(
            self.sim, 'clock', lambda: before_all))
        # Room for the late pair (an operator added some meanwhile).
        self.sim.set_host('cmp2', capacity={'VCPU': 4, 'MEMORY_MB': 8192})
        late = self.real_create(*args, **kwargs)
        self.assertEqual(5, len(self.servers_of('physics')))
        self.stale()
        return request, late

    def listed(self):
        return self.sim.servers_with_metadata(
            'physics', promoter_mod.REQUEST_METADATA)

    def test_recovery_adopts_a_group_kind_by_kind(self):
        """It adopted the first three created, the late pair and one
        "first", and the sweep then deleted the group's one "second":
        an all-or-nothing group active without a kind.  Each server
        carries the index of its kind: it adopts two "first" and the
        "second" (the first created "first" are the late pair), and the
        sweep deletes the other pair."""
        request, _late = self.group_with_a_late_pair()
        done = self.promoter.promote()
        self.assertEqual({request['id']: pending_db.ACTIVE},
                         done['recovered'])
        adopted = self.state(request)['server_ids']
        kinds = {s['id']: s['metadata'][promoter_mod.KIND_METADATA]
                 for s in self.listed()}
        self.assertEqual(['0', '0', '1'], sorted(kinds[i] for i in adopted))
        self.promoter.promote()
        self.assertEqual(sorted(adopted), self.servers_of('physics'))

    def test_recovery_of_a_group_of_kinds_it_cannot_tell_fails(self):
        """Servers that carry no kind (built by an earlier release): the
        cloud does not tell which kind each is, and the first created
        might all be of one.  It fails, what it built deleted."""
        request, _late = self.group_with_a_late_pair()
        for server in self.listed():
            self.sim.set_metadata(server['id'],
                                  promoter_mod.KIND_METADATA, '')
        done = self.promoter.promote()
        self.assertEqual({request['id']: pending_db.FAILED},
                         done['recovered'])
        self.assertIn('kinds it cannot tell apart',
                      self.state(request)['reason'])
        self.assertEqual([], self.servers_of('physics'))

    def test_a_group_missing_a_kind_is_not_made_up_by_another(self):
        """One "first" and one "second", all or nothing: the first
        build's "first" answered 500 and carried out late, the next
        build's "second" never made (its answer lost).  Two active
        servers of its own for two asked, both "first": the group was
        taken as whole.  Short of its "second", of which nothing was
        made, it is queued again in its place, what it built deleted (the
        late "first" by the sweep of a queued request), and built whole
        (it was failed, and the user lost its place)."""
        request = pending_db.create_request(
            self.engine.db, self.ctx, 'physics', 'user-physics',
            [{'name': 'first', 'flavor': 'm1', 'image': 'img',
              'networks': [], 'count': 1},
             {'name': 'second', 'flavor': 'm1', 'image': 'img',
              'networks': [], 'count': 1}], all_or_nothing=True)
        self.failures['first'] = ('before', error_500())
        self.assertRaises(driver_base.DriverError, self.promoter.promote)
        args, kwargs = self.calls[-1]
        self.failures.clear()
        self.failures['second'] = ('before', tb.wrapped(
            ks_exc.GatewayTimeout()))
        self.assertRaises(driver_base.DriverError, self.promoter.promote)
        self.assertEqual(pending_db.BUILDING, self.state(request)['state'])
        self.failures.clear()
        first = self.real_create(*args, **kwargs)
        made = self.servers_of('physics')
        self.assertEqual(2, len(made))
        self.stale()
        done = self.promoter.promote()
        self.assertEqual({request['id']: pending_db.QUEUED},
                         done['recovered'])
        self.assertEqual([request['id']], done['built'])
        built = self.state(request)
        self.assertEqual(pending_db.ACTIVE, built['state'])
        self.assertEqual(sorted(built['server_ids']),
                         self.servers_of('physics'))
        self.assertEqual([], sorted(set(made + first)
                                    & set(self.servers_of('physics'))))
        kinds = sorted(s['metadata'][promoter_mod.KIND_METADATA]
                       for s in self.listed())
        self.assertEqual(['0', '1'], kinds)

    def test_a_group_whose_second_kind_never_answers_fails_at_the_limit(
            self):
        """All or nothing, two kinds: the create of "second" is never
        answered (a gateway timeout, every time) and never carried out.
        Each recovery finds "first" whole and nothing of "second": it is
        queued again, but not for good: at [preemption]
        max_build_interruptions it fails, what it built deleted."""
        request = self.queue_group()
        self.failures['second'] = ('before', tb.wrapped(
            ks_exc.GatewayTimeout()))
        most = self.engine.conf.preemption.max_build_interruptions
        for _ in range(most + 2):
            self.stale()
            try:
                self.promoter.promote()
            except driver_base.DriverError:
                pass
            if self.state(request)['state'] == pending_db.FAILED:
                break
        failed = self.state(request)
        self.assertEqual(pending_db.FAILED, failed['state'])
        self.assertIn('max_build_interruptions', failed['reason'])
        self.assertEqual(['first', 'second'] * most, self.creates)
        self.assertEqual([], self.servers_of('physics'))

    def test_another_engine_sweeping_mid_build_keeps_its_servers(self):
        """A new leader's pass (an election while the old leader still
        builds) sweeps only requests built or ended: the servers of a
        request being built again after an interruption, which carry
        its token and are not yet its ``server_ids``, are left."""
        request = self.queue(count=2)
        self.interrupt_with_500(request)
        leader = promoter_mod.Promoter(
            self.engine.conf, self.engine.db, self.reaper,
            clock=lambda: self.now)
        seen = []

        def create(*args, **kwargs):
            ids = self.real_create(*args, **kwargs)
            # The servers are in the cloud; the request is building.
            leader.promote()
            seen.append(sorted(set(ids) & set(self.servers_of('physics'))))
            return ids

        self.useFixture(tb.tp.fixtures.MockPatchObject(
            self.sim, 'create', create))
        self.assertEqual([request['id']], self.promoter.promote()['built'])
        built = sorted(self.state(request)['server_ids'])
        self.assertEqual([built], seen)
        self.assertEqual(2, len(built))
        leader.promote()
        self.assertEqual(built, self.servers_of('physics'))


class TestLateServersOfAQueuedRequest(LateServersBase):
    """A request queued again after an interrupted build: the servers
    Nova makes late for that build are deleted while it waits.  They
    were left until it was built (or ended): they took the room it
    waits for, so that it might never be built, and the user had more
    servers than the all-or-nothing group asked for."""

    def test_a_late_server_taking_its_room_is_deleted(self):
        # The cloud has room for the four servers of the group, once.
        request = self.queue(count=4)
        args, kwargs = self.interrupt_with_500(request)
        late = self.real_create(*args, **kwargs)
        self.assertEqual(sorted(late), self.servers_of('physics'))
        # The next pass deletes them before it reads the room: the group
        # is built, with four servers, not queued behind its own.
        self.assertEqual([request['id']], self.promoter.promote()['built'])
        built = self.state(request)
        self.assertEqual(pending_db.ACTIVE, built['state'])
        self.assertEqual(sorted(built['server_ids']),
                         self.servers_of('physics'))
        self.assertEqual(set(), set(late) & set(self.servers_of('physics')))

    def test_a_late_server_is_deleted_while_it_waits(self):
        request = self.queue(count=3)
        args, kwargs = self.interrupt_with_500(request)
        # Another project's server takes a slot: the group waits.
        self.real_create('chemistry', 'big', 'm1', 2, 2, image='img',
                         networks=[])
        late = self.real_create(*args[:3], 2, 2, **kwargs)
        self.assertEqual(2, len(late))
        self.assertEqual([], self.promoter.promote()['built'])
        self.assertEqual(pending_db.QUEUED, self.state(request)['state'])
        self.assertEqual([], self.servers_of('physics'))

    def test_looked_for_until_build_timeout_then_once(self):
        request = self.queue(count=4)
        args, kwargs = self.interrupt_with_500(request)
        # A slot taken by another project: the group waits.
        self.real_create('chemistry', 'big', 'm1', 1, 1, image='img',
                         networks=[])
        late_args = (args[0], args[1], args[2], 1, 1)
        for _ in range(2):
            self.real_create(*late_args, **kwargs)
            self.promoter.promote()
            self.assertEqual([], self.servers_of('physics'))
        self.stale()
        self.real_create(*late_args, **kwargs)
        self.promoter.promote()
        self.assertEqual([], self.servers_of('physics'))
        # Then the cloud is not asked about it while it waits; its
        # token is kept for its next build.
        asked = []
        real = self.sim.servers_with_metadata
        self.useFixture(tb.tp.fixtures.MockPatchObject(
            self.sim, 'servers_with_metadata',
            lambda *a: asked.append(a) or real(*a)))
        self.promoter.promote()
        self.assertEqual([], asked)
        self.assertEqual(pending_db.QUEUED, self.state(request)['state'])
        self.assertEqual([request['id']], self.swept())

    def test_what_the_promoter_did_not_make_is_left(self):
        """Never a server the promoter did not create for the request:
        a member's non-preemptible server tagged with its id, one
        carrying the token copied by another user."""
        request = self.queue(count=2)
        args, kwargs = self.interrupt_with_500(request)
        one = (args[0], args[1], args[2], 1, 1)
        tagged = self.real_create(
            'physics', 'precious', 'm1', 1, 1, image='img', networks=[],
            metadata={promoter_mod.REQUEST_METADATA: request['id']})
        forged = self.real_create(*one, **dict(
            kwargs, auth=types.SimpleNamespace(user_id='colleague')))
        late = self.real_create(*one, **kwargs)
        self.real_create('chemistry', 'big', 'm1', 1, 1, image='img',
                         networks=[])
        self.assertEqual([], self.promoter.promote()['built'])
        self.assertEqual(sorted(tagged + forged), self.servers_of('physics'))
        self.assertNotIn(late[0], self.servers_of('physics'))

    def test_another_engine_building_it_meanwhile_keeps_its_servers(self):
        """A new leader's pass while the old leader builds the queued
        request: what it lists may be that build's servers (they carry
        its token and are not yet, or just now, its server_ids).  The
        request is read again after the listing; moved since, it is
        left for the next pass."""
        request = self.queue(count=2)
        self.interrupt_with_500(request)
        old_leader = promoter_mod.Promoter(
            self.engine.conf, self.engine.db, self.reaper,
            clock=lambda: self.now)
        real = self.sim.servers_with_metadata
        built = []
        calls = []

        def listing(*args):
            # The old leader builds the request just before this
            # listing (its own sweep lists too), which shows that
            # build's servers.
            calls.append(args)
            if len(calls) == 1:
                built.extend(old_leader.promote()['built'])
            return real(*args)
        self.useFixture(tb.tp.fixtures.MockPatchObject(
            self.sim, 'servers_with_metadata', listing))
        self.promoter.promote()
        self.assertEqual([request['id']], built)
        state = self.state(request)
        self.assertEqual(pending_db.ACTIVE, state['state'])
        self.assertEqual(2, len(state['server_ids']))
        self.assertEqual(sorted(state['server_ids']),
                         self.servers_of('physics'))

    def test_an_engine_killed_mid_sweep_loses_nothing(self):
        """The leader dies after deleting one late server of two: the
        next leader (a new process, nothing of the dead one's memory)
        deletes the other, and the request waits, its token kept."""
        request = self.queue(count=4)
        args, kwargs = self.interrupt_with_500(request)
        self.real_create('chemistry', 'big', 'm1', 1, 1, image='img',
                         networks=[])
        late = self.real_create(*args[:3], 2, 2, **kwargs)
        real = self.sim.delete
        deleted = []

        def delete(server_id):
            if len(deleted) == 1:
                raise tb.tp.EngineDied()
            deleted.append(server_id)
            real(server_id)
        self.useFixture(tb.tp.fixtures.MockPatchObject(
            self.sim, 'delete', delete))
        self.assertRaises(tb.tp.EngineDied, self.promoter.promote)
        self.assertEqual(1, len(set(late) & set(self.servers_of('physics'))))
        deleted.append('the engine is gone')
        successor = promoter_mod.Promoter(
            self.engine.conf, self.engine.db, self.reaper,
            clock=lambda: self.now)
        successor.promote()
        self.assertEqual([], self.servers_of('physics'))
        self.assertEqual(pending_db.QUEUED, self.state(request)['state'])
        self.assertEqual([request['id']], self.swept())


class TestLateServersOfAQueuedRequestPostgreSQL(
        TestLateServersOfAQueuedRequest):
    """The same on PostgreSQL, whose clock (and so ``updated_at``, read
    again after the listing) has microseconds."""

    def database_url(self):
        return self.useFixture(tb.tp.postgresql.Database()).url


#: A server of the project, drawn: the request whose id it carries, the
#: request whose token it carries (None: none), who made it (the user
#: the promoter builds as, or a member), whether before the first build
#: started (beyond the clock slack), its flavor (non-preemptible m1,
#: preemptible p1).
drawn_servers = st.lists(st.tuples(
    st.integers(0, 2), st.one_of(st.none(), st.integers(0, 2)),
    st.sampled_from(['builder', 'member']), st.booleans(),
    st.sampled_from(['m1', 'p1'])), max_size=8)
SWEPT_STATES = (pending_db.QUEUED, pending_db.ACTIVE, pending_db.FAILED,
                pending_db.CANCELLED, pending_db.EXPIRED)


class TestSweepProperty(tb.tp.PromoterTestBase):
    """Whatever servers of a project carry the ids and tokens of its
    requests, one sweep of the project (one listing for all of them)
    deletes exactly the promoter's own servers of each request that are
    not its servers: a server carrying a request's id is looked at for
    that request only, and never deleted unless made by the user it
    builds as, with that request's token, after its first build
    started."""

    BUILDER = 'reaper-builder'

    def setUp(self):
        super().setUp()
        capacity = {'VCPU': 100, 'MEMORY_MB': 100000}
        hosts = {'cmp%d' % n: {'capacity': capacity} for n in (1, 2)}
        self.sim = self.use_cloud(
            [], description=dict(tb.tp.cloud([]), hosts=hosts),
            promoter_preempts=False, late_server_projects_per_pass=1000)
        self.start = actions_db.utcnow()

    def interrupted(self, project, state):
        """A request of ``project`` interrupted once, then in ``state``
        (an active one with one server built); ``(id, built ids)``."""
        db, ctx = self.engine.db, self.ctx
        # Too big to ever fit: a queued one is not built meanwhile.
        rid = self.queue(project=project, count=1000)['id']
        pending_db.transition(
            db, ctx, rid, pending_db.QUEUED, pending_db.BUILDING,
            build_token='token-' + rid, build_started_at=self.start,
            build_user_id=self.BUILDER)
        pending_db.interrupted(db, ctx, rid)
        built = []
        if state == pending_db.ACTIVE:
            built = self.make(project, rid, rid, self.BUILDER, False, 'm1')
            pending_db.transition(db, ctx, rid, pending_db.BUILDING,
                                  pending_db.ACTIVE, server_ids=built)
        elif state == pending_db.FAILED:
            pending_db.transition(db, ctx, rid, pending_db.BUILDING,
                                  pending_db.FAILED)
        else:
            pending_db.transition(db, ctx, rid, pending_db.BUILDING,
                                  pending_db.QUEUED)
            if state != pending_db.QUEUED:
                pending_db.transition(db, ctx, rid, pending_db.QUEUED,
                                      state)
        return rid, built

    def make(self, project, tag, token, user_id, old, flavor):
        metadata = {promoter_mod.REQUEST_METADATA: tag}
        if token is not None:
            metadata[promoter_mod.TOKEN_METADATA] = 'token-' + token
        self.now = self.start + datetime.timedelta(
            days=-1 if old else 0, minutes=1)
        return self.sim.create(project, 'made', flavor, 1, 1, image='img',
                               networks=[], metadata=metadata,
                               auth=types.SimpleNamespace(user_id=user_id))

    @hypothesis.settings(max_examples=30, deadline=None, derandomize=True,
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(st.lists(st.sampled_from(SWEPT_STATES), min_size=1,
                               max_size=3), drawn_servers)
    def test_only_its_own_late_servers_are_deleted(self, states, draws):
        project = uuid.uuid4().hex
        requests = [self.interrupted(project, state) for state in states]
        made, expected = [], set()
        for tag, token, who, old, flavor in draws:
            rid = requests[tag % len(requests)][0]
            token_of = (None if token is None
                        else requests[token % len(requests)][0])
            user_id = self.BUILDER if who == 'builder' else 'member'
            ids = self.make(project, rid, token_of, user_id, old, flavor)
            made.extend(ids)
            if token_of == rid and who == 'builder' and not old:
                expected.update(ids)
        built = [i for _rid, ids in requests for i in ids]
        self.now = self.start + datetime.timedelta(minutes=2)
        promoter_mod.Promoter(self.engine.conf, self.engine.db, self.reaper,
                              clock=lambda: self.now).promote()
        left = {s.id for s in self.sim.cluster().servers.values()
                if s.project_id == project}
        self.assertEqual(set(made + built) - expected, left)
