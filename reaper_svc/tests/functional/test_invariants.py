"""Property-based runs of the reaper engine on random simulated clouds:
whatever the order of scheduling failures (redelivered, reordered),
engines that stop between the plan and the notice, owners who resize or
delete their servers meanwhile (even just before the reaper's lock
lands), the reaper never stops or deletes a
server that is not preemptible, or one that a guaranteed runtime
protects, at the moment it acts on it."""

import datetime

import hypothesis
from hypothesis import strategies as st
import testtools

from reaper_svc import action_states as states
from reaper_svc.db import actions as actions_db
from reaper_svc.drivers import base as driver_base
from reaper_svc.drivers import simulated
from reaper_svc import nova_notifications
from reaper_svc.strategies import model
from reaper_svc.tests.functional import engine_fixture as ef
from svc_common import context

T0 = datetime.datetime(2030, 1, 1, 12, 0, 0)
PREEMPTIBLE = {'arbiter:preemptible': 'true'}
FLAVORS = {
    'p1': {'resources': {'VCPU': 1}, 'extra_specs': PREEMPTIBLE},
    'p2': {'resources': {'VCPU': 2}, 'extra_specs': PREEMPTIBLE},
    'n1': {'resources': {'VCPU': 1}},
    'n2': {'resources': {'VCPU': 2}},
}


@st.composite
def clouds(draw):
    """A cloud description: hosts of 2 to 6 VCPUs, full of servers of
    the four flavors (every boot needs room made); some preemptible ones
    are guaranteed."""
    hosts = {'cmp%d' % n: {'capacity': {'VCPU': draw(st.integers(2, 6))}}
             for n in range(draw(st.integers(1, 4)))}
    servers = []
    for name, host in sorted(hosts.items()):
        room = host['capacity']['VCPU']
        while room > 0:
            flavor = draw(st.sampled_from(sorted(FLAVORS)))
            if FLAVORS[flavor]['resources']['VCPU'] > room:
                flavor = flavor[0] + '1'
            room -= FLAVORS[flavor]['resources']['VCPU']
            guaranteed = (draw(st.booleans()) and flavor.startswith('p'))
            servers.append({
                'id': 's%02d' % len(servers), 'host': name,
                'flavor': flavor, 'project_id': 'batch',
                'created_at': T0 - datetime.timedelta(hours=2),
                'guaranteed_until': (T0 + datetime.timedelta(hours=1)
                                     if guaranteed else None)})
    return {'flavors': FLAVORS, 'hosts': hosts, 'servers': servers}


STEPS = st.lists(st.one_of(
    # A NoValidHost of a normal boot (trigger ids repeat: redeliveries
    # and the other notification of a multi-create).
    st.tuples(st.just('fail'), st.sampled_from(['b1', 'b2', 'b3', 'b4']),
              st.integers(1, 2), st.integers(1, 3)),
    # An engine that plans and stops before the notice.
    st.tuples(st.just('plan_only'), st.sampled_from(['c1', 'c2']),
              st.integers(1, 2), st.integers(1, 2)),
    # An owner resizes a server to a normal flavor (any, or one an
    # unfinished action is preempting), or deletes it.
    st.tuples(st.just('resize'), st.integers(0, 30)),
    st.tuples(st.just('resize_victim'), st.integers(0, 30)),
    st.tuples(st.just('owner_delete'), st.integers(0, 30)),
    # An operator resizes a victim to a normal flavor during its grace
    # period (locked: its owner cannot, an admin can).
    st.tuples(st.just('operator_resize'), st.integers(0, 30)),
    # Nova refuses the reaper's locks for a while (part of a notice is
    # given, the rest waits), or takes them again.
    st.tuples(st.just('locks_refused'), st.booleans()),
    # Owners resize their servers to a normal flavor just before the
    # reaper's lock lands (after the plan's snapshot), or stop doing so.
    st.tuples(st.just('resize_at_lock'), st.booleans()),
    # The leader's pass, minutes or hours later (a restarted engine).
    st.tuples(st.just('pass'), st.integers(0, 120)),
), max_size=12)


class _Watched(simulated.SimulatedCloud):
    """The simulated cloud, checking at each stop and delete of the
    reaper that the server may be preempted then."""

    def __init__(self, description, clock):
        super().__init__(description)
        self.now = clock
        self.owner_deleting = False
        self.refuse_after = None
        self.resize_at_lock = False

    def lock(self, server_id, reason):
        if self.resize_at_lock and not self.server_state(server_id)[
                'locked']:
            # Its owner's resize lands first: Nova takes it, unlocked.
            self.set_flavor(server_id, 'n1')
        # With refusals on, one lock more is taken, then none.
        if self.refuse_after is not None:
            if self.refuse_after <= 0:
                raise driver_base.DriverError('HTTP 503')
            self.refuse_after -= 1
        return super().lock(server_id, reason)

    def _check(self, server_id):
        snapshot = self.cluster().servers.get(server_id)
        if snapshot is None:
            return
        if not snapshot.preemptible:
            raise AssertionError('%s is not preemptible' % server_id)
        until = snapshot.guaranteed_until
        if until is not None and until > self.now():
            raise AssertionError('%s is guaranteed until %s'
                                 % (server_id, until))

    def stop(self, server_id):
        self._check(server_id)
        return super().stop(server_id)

    def delete(self, server_id):
        if not self.owner_deleting:
            self._check(server_id)
        return super().delete(server_id)


class TestNeverKillsWhatItMustNot(testtools.TestCase):

    @hypothesis.settings(max_examples=40, deadline=None,
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(clouds(), STEPS)
    def test_invariant(self, description, steps):
        engine = ef.ReaperEngine(grace_period=300)
        engine.setUp()
        try:
            self._run(engine, description, steps)
        finally:
            engine.cleanUp()

    def _run(self, engine, description, steps):
        clock = [T0]
        cloud = _Watched(description, lambda: clock[0])
        engine.cloud = cloud
        reaper = engine.build().reaper
        reaper.clock = lambda: clock[0]
        ids = [s['id'] for s in description['servers']]
        for step in steps:
            kind = step[0]
            if kind == 'fail':
                _kind, boot, size, count = step
                reaper.handle_failure(nova_notifications.SchedulingFailure(
                    instance_uuid=boot, project_id='physics',
                    flavor_name='n%d' % size, resources={'VCPU': size},
                    count=count, availability_zone=None,
                    required_traits=frozenset(), boot_id=boot))
            elif kind == 'plan_only':
                _kind, boot, size, count = step
                reaper.plan(model.Request(resources={'VCPU': size},
                                          count=count),
                            'scheduling_failure', boot)
            elif kind in ('resize', 'resize_victim', 'owner_delete'):
                pool = (sorted(actions_db.claimed_servers(
                    engine.db, context.admin_context()))
                    if kind == 'resize_victim' else ids)
                if not pool:
                    continue
                server_id = pool[step[1] % len(pool)]
                if (server_id not in cloud.cluster().servers
                        or cloud.server_state(server_id)['locked']):
                    # Nova refuses the owner's actions on a server the
                    # reaper locked (at the notice).
                    continue
                if kind != 'owner_delete':
                    cloud.set_flavor(server_id, 'n1')
                else:
                    cloud.owner_deleting = True
                    cloud.delete(server_id)
                    cloud.owner_deleting = False
                    reaper.server_deleted(server_id)
            elif kind == 'operator_resize':
                # A claimed server may be deleted already (its action
                # waits to delete another victim): nobody resizes it.
                pool = sorted(set(actions_db.claimed_servers(
                    engine.db, context.admin_context()))
                    & set(cloud.cluster().servers))
                if pool:
                    cloud.set_flavor(pool[step[1] % len(pool)], 'n1')
            elif kind == 'locks_refused':
                cloud.refuse_after = 1 if step[1] else None
            elif kind == 'resize_at_lock':
                cloud.resize_at_lock = step[1]
            elif kind == 'pass':
                clock[0] += datetime.timedelta(minutes=step[1])
                # A restarted engine: a new reaper on the same database.
                reaper = engine.build('engine-%d' % step[1]).reaper
                reaper.clock = lambda: clock[0]
                reaper.process_unfinished()
        # Every action ends in a state of the machine; claims are held
        # by unfinished actions only.
        ctx = context.admin_context()
        unfinished = {a['id'] for a in actions_db.unfinished(engine.db, ctx)}
        for action in actions_db.list_actions(engine.db, ctx, 1000):
            self.assertIn(action['state'], states.STATES)
            if action['id'] not in unfinished:
                self.assertIn(action['state'], states.FINAL)
        # A server the reaper locked is being preempted (an unfinished
        # action claims it); none is left locked by an action that ended
        # without deleting it (released or spared: unlocked).
        claimed = actions_db.claimed_servers(engine.db, ctx)
        for server_id in cloud.cluster().servers:
            if cloud.server_state(server_id)['locked']:
                self.assertIn(server_id, claimed)
