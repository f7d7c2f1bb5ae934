"""reaper-engine on the simulated cloud over the in-process bus: NoValidHost
to notice to deletion, once per message, resumed after a restart, and no
victim shared by concurrent triggers."""

import dataclasses
import datetime
import threading
import time
import uuid

import fixtures
from keystoneauth1 import exceptions as ks_exc
import oslo_messaging
import sqlalchemy
import testtools

from reaper_svc import action_states as states
from reaper_svc.cmd import engine
from reaper_svc.db import actions as actions_db
from reaper_svc.db import guarantees as guarantees_db
from reaper_svc.drivers import base as driver_base
from reaper_svc import nova_notifications
from reaper_svc.strategies import model
from reaper_svc.tests.functional import engine_fixture as ef
from reaper_svc.tests.unit import test_nova_notifications as tnn
from svc_common.api import controller
from svc_common import context
from svc_common import isotime
from svc_common.tests.fixtures import postgresql
from svc_common.tests.fixtures import rabbitmq

VERSIONED = nova_notifications.VERSIONED_FAILURE
LEGACY = nova_notifications.LEGACY_FAILURE


class EngineDied(Exception):
    """Stands for the engine process dying where it is raised."""


class ProcessKilled(BaseException):
    """Stands for the engine process killed where it is raised: nothing
    of the process's own handling runs after it (an ``except
    Exception`` does not catch it)."""


class EngineTestBase(testtools.TestCase):

    URL = 'fake:/'
    GRACE = 3600

    def setUp(self):
        super().setUp()
        self.engine = self.useFixture(ef.ReaperEngine(
            url=self.URL, grace_period=self.GRACE))
        self.ctx = context.admin_context()

    def actions(self):
        return actions_db.list_actions(self.engine.db, self.ctx, 100)

    def stopped(self):
        return [sid for verb, sid, _ in self.engine.cloud.journal
                if verb == 'stop']


class TestEngineOnFakeBus(EngineTestBase):

    GRACE = 0

    def test_novalidhost_to_notice_to_deletion(self):
        self.engine.start()
        instance = str(uuid.uuid4())
        self.engine.send(ef.failure_message(VERSIONED, instance))
        self.assertTrue(ef.wait_for(lambda: any(
            a['state'] == states.DONE for a in self.actions())))
        [action] = self.actions()
        self.assertEqual((instance, 'admin', 'best_fit'), (
            action['trigger_id'], action['project_id'], action['strategy']))
        # The sample is an m1.tiny; the least wasteful victim is a small
        # preemptible on the full host cmp1.
        [victim] = action['victims']
        self.assertEqual(('cmp1', 'deleted'), (victim['host'],
                                               victim['state']))
        journal = [(verb, sid) for verb, sid, _ in self.engine.cloud.journal]
        self.assertEqual([('lock', victim['server_id']),
                          ('stop', victim['server_id']),
                          ('delete', victim['server_id'])], journal)
        self.assertTrue(ef.wait_for(lambda: {'preemption.notice',
                                             'preemption.action.done'} <= {
            e for e, _ in self.engine.notices.received}))
        notice = [p for e, p in self.engine.notices.received
                  if e == 'preemption.notice'][0]
        self.assertEqual(action['id'], notice['action_id'])
        # The user's retry now lands.
        self.engine.cloud.create('admin', 'retry', 'p1.small', 1, 1)

    def test_notification_times_are_written_as_the_api_writes_them(self):
        """``delete_after`` of ``preemption.notice`` had the fraction of
        a second of the database's clock and no time zone
        (``2030-01-01T10:05:01.123``); the API writes the same time as
        ``2030-01-01T10:05:01Z``."""
        self.engine.start()
        self.engine.send(ef.failure_message(VERSIONED, str(uuid.uuid4())))
        self.assertTrue(ef.wait_for(lambda: 'preemption.notice' in {
            e for e, _ in self.engine.notices.received}))
        notice = [p for e, p in self.engine.notices.received
                  if e == 'preemption.notice'][0]
        [action] = self.actions()
        self.assertRegex(notice['delete_after'],
                         r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$')
        self.assertEqual(isotime.isoformat(action['delete_after']),
                         notice['delete_after'])
        # What the API answers for the action.
        self.assertEqual(controller.isoformat(action['delete_after']),
                         notice['delete_after'])

    def test_standby_engine_takes_over_when_the_leader_stops(self):
        # Two engine hosts: one leads, the other stands by (it listens,
        # but deletes nothing).  The leader stops; the standby is elected
        # and does the leader's work: here, deleting the victims.
        leader = self.engine.start('engine-a')
        self.assertTrue(ef.wait_for(lambda: leader.is_leader))
        standby = self.engine.start('engine-b')
        self.assertFalse(standby.is_leader)
        leader.stop()
        self.assertTrue(ef.wait_for(lambda: standby.is_leader))
        self.engine.send(ef.failure_message(VERSIONED, str(uuid.uuid4())))
        self.assertTrue(ef.wait_for(lambda: any(
            a['state'] == states.DONE for a in self.actions())))
        self.assertEqual(['lock', 'stop', 'delete'], [
            verb for verb, _, _ in self.engine.cloud.journal])

    def test_legacy_notification_and_both_formats_act_once(self):
        self.engine.start()
        instance = str(uuid.uuid4())
        self.engine.send(ef.failure_message(LEGACY, instance))
        self.engine.send(ef.failure_message(VERSIONED, instance))
        self.assertTrue(ef.wait_for(lambda: any(
            a['state'] == states.DONE for a in self.actions())))
        self.assertEqual(1, len(self.actions()))
        self.assertEqual(1, len(self.stopped()))

    def test_a_boot_forced_to_a_host_preempts_only_there(self):
        # An admin forced the boot to cmp3 (--availability-zone az2:cmp3),
        # which holds no preemptible server: stopping the candidates of
        # cmp1 would not let it land, so nothing is stopped.
        self.engine.start()
        message = ef.failure_message(VERSIONED, str(uuid.uuid4()))
        message['payload']['nova_object.data']['request_spec'][
            'nova_object.data']['force_hosts'] = 'cmp3'
        self.engine.send(message)
        self.assertTrue(ef.wait_for(lambda: self.actions()))
        [action] = self.actions()
        self.assertEqual((states.FAILED, [], ['cmp3']), (
            action['state'], action['victims'], action['request']['hosts']))
        self.assertEqual([], self.engine.cloud.journal)

    def test_a_host_with_a_forbidden_trait_is_not_preempted_on(self):
        # cmp1, the only host with candidates, has CUSTOM_GPU, which the
        # flavor forbids: stopping its servers would not let the boot
        # land, so nothing is stopped.
        self.engine.cloud.set_host('cmp1', traits=frozenset(['CUSTOM_GPU']))
        self.engine.start()
        message = ef.failure_message(VERSIONED, str(uuid.uuid4()))
        message['payload']['nova_object.data']['request_spec'][
            'nova_object.data']['flavor']['nova_object.data'][
            'extra_specs'] = {'trait:CUSTOM_GPU': 'forbidden'}
        self.engine.send(message)
        self.assertTrue(ef.wait_for(lambda: self.actions()))
        [action] = self.actions()
        self.assertEqual((states.FAILED, [], ['CUSTOM_GPU']), (
            action['state'], action['victims'],
            action['request']['forbidden_traits']))
        self.assertEqual([], self.engine.cloud.journal)

    def test_unsatisfiable_is_recorded_and_kills_nothing(self):
        self.engine.start()
        message = ef.failure_message(VERSIONED, str(uuid.uuid4()))
        flavor = message['payload']['nova_object.data']['request_spec'][
            'nova_object.data']['flavor']['nova_object.data']
        flavor['vcpus'] = 64
        self.engine.send(message)
        self.assertTrue(ef.wait_for(lambda: self.actions()))
        [action] = self.actions()
        self.assertEqual((states.FAILED, []), (action['state'],
                                               action['victims']))
        self.assertEqual([], self.engine.cloud.journal)


class TestEngineOnce(EngineTestBase):

    def test_a_failure_the_cloud_cannot_serve_comes_back_after_a_delay(self):
        """Nova or Placement down: the NoValidHost is delivered again
        every few seconds, not at once (it came back some twenty times a
        second on the in-process bus, each time read, claimed, forgotten
        and logged with a traceback), and is acted on once the cloud is
        back."""
        reads = []
        real_cluster = self.engine.cloud.cluster

        def cluster():
            reads.append(1)
            if down:
                raise driver_base.DriverError(
                    'Placement: GET /resource_providers: Unable to '
                    'establish connection')
            return real_cluster()

        down = True
        self.engine.cloud.cluster = cluster
        self.engine.start()
        self.engine.send(ef.failure_message(VERSIONED, str(uuid.uuid4())))
        self.assertTrue(ef.wait_for(lambda: reads, 10))
        time.sleep(3)
        self.assertLessEqual(len(reads), 2)
        self.assertEqual([], self.actions())
        down = False
        self.assertTrue(ef.wait_for(lambda: self.actions(), 15))
        self.assertEqual(1, len(self.actions()))

    def test_redelivery_acts_once(self):
        runner = self.engine.build()
        message = ef.failure_message(VERSIONED, str(uuid.uuid4()))
        metadata = {'message_id': str(uuid.uuid4()), 'timestamp': 'x'}
        # Two engine hosts receive the same message (a redelivery after a
        # lost acknowledgement): the second is acknowledged, not acted on.
        other = self.engine.build('engine-b')
        for target in (runner, other, runner):
            endpoint = target._listeners[0].endpoints[0]
            endpoint.error({}, 'nova-conductor:ctl', message['event_type'],
                           message['payload'], metadata)
        self.assertEqual(1, len(self.actions()))
        self.assertEqual(1, len(self.stopped()))

    def test_a_failure_an_engine_was_killed_handling_is_handled_again(self):
        """An engine is killed while it handles a NoValidHost, before it
        planned anything; RabbitMQ delivers the message again, here to
        another engine host.  The message's id, claimed before the
        handling, made the redelivery acknowledged and not acted on: no
        room was ever made for the boot."""
        message = ef.failure_message(VERSIONED, str(uuid.uuid4()))
        metadata = {'message_id': str(uuid.uuid4())}
        killed = self.engine.build('engine-a')
        self.useFixture(fixtures.MockPatchObject(
            killed.reaper, 'plan', side_effect=ProcessKilled()))
        self.assertRaises(
            ProcessKilled, killed._listeners[0].endpoints[0].error, {},
            'nova-conductor:ctl', VERSIONED, message['payload'], metadata)
        self.assertEqual([], self.actions())
        other = self.engine.build('engine-b')
        for _ in range(2):
            other._listeners[0].endpoints[0].error(
                {}, 'nova-conductor:ctl', VERSIONED, message['payload'],
                metadata)
        [action] = self.actions()
        self.assertEqual(states.NOTICED, action['state'])
        self.assertEqual(1, len(self.stopped()))

    def test_a_preemptible_boot_preempts_nothing(self):
        """Room is freed for normal servers only: a preemptible boot that
        finds no host stops no other preemptible server (through the
        listener's endpoint, as a delivered notification)."""
        runner = self.engine.build()
        endpoint = runner._listeners[0].endpoints[0]
        for value in ('true', 'True', '1', 'yes'):
            message = ef.failure_message(VERSIONED, str(uuid.uuid4()))
            message['payload']['nova_object.data']['request_spec'][
                'nova_object.data']['flavor']['nova_object.data'][
                'extra_specs'] = {'arbiter:preemptible': value}
            endpoint.error({}, 'nova-conductor:ctl', message['event_type'],
                           message['payload'], {
                               'message_id': str(uuid.uuid4()),
                               'timestamp': 'x'})
        self.assertEqual([], self.actions())
        self.assertEqual([], self.engine.cloud.journal)
        # The same flavor marked "false" is a normal boot: it preempts.
        message = ef.failure_message(VERSIONED, str(uuid.uuid4()))
        message['payload']['nova_object.data']['request_spec'][
            'nova_object.data']['flavor']['nova_object.data'][
            'extra_specs'] = {'arbiter:preemptible': 'false'}
        endpoint.error({}, 'nova-conductor:ctl', message['event_type'],
                       message['payload'], {'message_id': str(uuid.uuid4()),
                                            'timestamp': 'x'})
        self.assertEqual(1, len(self.actions()))
        self.assertEqual(1, len(self.stopped()))

    def test_failures_of_one_multi_create_make_one_action(self):
        # A boot of 3 servers that finds no host: Nova sends one failure
        # per instance (each its own message), all with the boot's
        # request spec.  One action makes room for all 3; the others
        # change nothing (before, each planned 3 more victims).
        endpoint = self.engine.build()._listeners[0].endpoints[0]
        for payload in tnn.multi_create(VERSIONED, 3):
            endpoint.error({}, 'nova-conductor:ctl', VERSIONED, payload,
                           {'message_id': str(uuid.uuid4())})
        [action] = self.actions()
        self.assertEqual((states.NOTICED, 3, tnn.multi_create(
            VERSIONED, 1)[0]['nova_object.data']['instance_uuid']),
            (action['state'], action['request']['count'],
             action['trigger_id']))
        self.assertEqual(sorted(v['server_id'] for v in action['victims']),
                         sorted(self.stopped()))

    def test_two_hosts_planning_one_trigger_at_once_act_once(self):
        # Engine b's check for an existing action ran before engine a
        # wrote its own (they are on two hosts, with a lock each): the
        # database refuses b's action, and b stops nothing.
        first = self.engine.build('engine-a').reaper
        second = self.engine.build('engine-b').reaper
        failure = nova_notifications.scheduling_failure(
            VERSIONED, ef.failure_message(VERSIONED, 'i-3')['payload'])
        action = first.handle_failure(failure)
        self.assertEqual(states.NOTICED, action['state'])
        self.useFixture(fixtures.MockPatchObject(
            actions_db, 'list_actions', return_value=[]))
        self.assertIsNone(second.handle_failure(failure))
        self.assertEqual(len(action['victims']), len(self.stopped()))
        self.assertEqual(1, len(actions_db.unfinished(self.engine.db,
                                                      self.ctx)))
        self.assertRaises(
            actions_db.TriggerActed, actions_db.create_action,
            self.engine.db, self.ctx, 'scheduling_failure', 'i-3', None,
            'best_fit', {}, [])

    def test_leader_purges_old_notification_ids_and_ended_guarantees(self):
        runner = self.engine.build()
        self.assertIn(engine.PURGE_TASK, [t.name for t in runner.tasks])
        endpoint = runner._listeners[0].endpoints[0]
        message = ef.failure_message(VERSIONED, 'i-5')
        metadata = {'message_id': str(uuid.uuid4())}
        endpoint.error({}, 'nova-conductor:ctl', VERSIONED,
                       message['payload'], metadata)
        now = actions_db.utcnow()
        hour = datetime.timedelta(hours=1)
        guarantees_db.record(self.engine.db, self.ctx, ['s-over'], now - hour)
        guarantees_db.record(self.engine.db, self.ctx, ['s-on'], now + hour)
        # A fresh id is kept (a redelivery now changes nothing); a
        # guarantee that is over goes.
        self.assertEqual((0, 1), engine.purge_records(
            self.engine.conf, self.engine.db, now))
        self.assertEqual(['s-on'], list(guarantees_db.current(
            self.engine.db, self.ctx, now)))
        self.assertFalse(endpoint.processed.claim(metadata['message_id']))
        retention = datetime.timedelta(
            seconds=self.engine.conf.preemption.processed_retention)
        self.assertEqual((1, 1), engine.purge_records(
            self.engine.conf, self.engine.db, now + retention + hour))
        self.assertTrue(endpoint.processed.claim(metadata['message_id']))

    def test_noticed_victims_wait_for_the_grace_period(self):
        reaper = self.engine.build().reaper
        failure = nova_notifications.scheduling_failure(
            VERSIONED, ef.failure_message(VERSIONED, 'i-1')['payload'])
        action = reaper.handle_failure(failure)
        self.assertEqual(states.NOTICED, action['state'])
        reaper.process_unfinished()
        self.assertEqual(states.NOTICED, actions_db.get_action(
            self.engine.db, self.ctx, action['id'])['state'])
        state = self.engine.cloud.server_state(
            action['victims'][0]['server_id'])
        self.assertEqual(('SHUTOFF', True), (state['status'],
                                             state['locked']))
        self.assertIn(action['id'], state['locked_reason'])

    def test_victims_gone_before_the_notice_cancel_the_action(self):
        # Planned, then the engine stopped; meanwhile the owners deleted
        # every victim.  The resumed action stops nothing and ends
        # cancelled, with its claims released.
        reaper = self.engine.build().reaper
        failure = nova_notifications.scheduling_failure(
            VERSIONED, ef.failure_message(VERSIONED, 'i-4')['payload'])
        action = reaper.plan(first_request(failure), 'scheduling_failure',
                             'i-4')
        for victim in action['victims']:
            self.engine.cloud.delete(victim['server_id'])
        reaper.process_unfinished()
        action = actions_db.get_action(self.engine.db, self.ctx,
                                       action['id'])
        self.assertEqual(states.CANCELLED, action['state'])
        self.assertIn('gone before its notice', action['reason'])
        self.assertEqual([], self.stopped())
        self.assertEqual(set(), actions_db.claimed_servers(self.engine.db,
                                                           self.ctx))

    def test_a_victim_the_cloud_will_not_stop_is_still_preempted(self):
        """Nova stops only ACTIVE and ERROR servers.  A paused victim
        failed the action: the victims stopped before it stayed locked
        and stopped for nothing, and the next trigger took the paused
        server again."""
        reaper = self.engine.build().reaper
        # Planned (by an engine that stopped before the notice) with
        # three victims.
        chosen = sorted((s for s in self.engine.cloud.cluster()
                         .servers.values() if s.preemptible),
                        key=lambda s: s.id)[:3]
        action = actions_db.create_action(
            self.engine.db, self.ctx, 'scheduling_failure', 'i-6', None,
            'best_fit', {'resources': {'VCPU': 1}, 'count': 1}, chosen)
        victims = [v['server_id'] for v in action['victims']]
        self.assertEqual(3, len(victims))
        self.engine.cloud.set_status(victims[-1], 'PAUSED')
        reaper.process_unfinished()
        action = actions_db.get_action(self.engine.db, self.ctx,
                                       action['id'])
        self.assertEqual(states.NOTICED, action['state'])
        self.assertEqual(victims[:-1], self.stopped())
        for victim in victims:
            self.assertTrue(self.engine.cloud.server_state(victim)['locked'])
        later = actions_db.utcnow() + datetime.timedelta(seconds=self.GRACE)
        reaper.clock = lambda: later
        reaper.process_unfinished()
        self.assertEqual(states.DONE, actions_db.get_action(
            self.engine.db, self.ctx, action['id'])['state'])
        self.assertEqual(sorted(victims), sorted(
            sid for verb, sid, _ in self.engine.cloud.journal
            if verb == 'delete'))

    def test_restarted_engine_resumes(self):
        # The first engine planned, then died before giving notice.
        first = self.engine.build('engine-a').reaper
        failure = nova_notifications.scheduling_failure(
            VERSIONED, ef.failure_message(VERSIONED, 'i-2')['payload'])
        first.plan(first_request(failure), 'scheduling_failure', 'i-2')
        self.assertEqual([], self.engine.cloud.journal)
        self.engine.conf.set_override('grace_period', 0, 'preemption')
        self.engine.start('engine-b')
        self.assertTrue(ef.wait_for(lambda: self.actions()[0]['state']
                                    == states.DONE))
        self.assertEqual(['lock', 'stop', 'delete'], [
            verb for verb, _, _ in self.engine.cloud.journal])

    def test_a_resumed_plan_never_stops_a_server_made_normal(self):
        """The engine planned, then stopped before the notice; meanwhile
        the victim's owner resized it to a normal flavor.  The resumed
        notice stopped it, and the grace period's end deleted it: a
        server that is not preemptible."""
        first = self.engine.build('engine-a').reaper
        failure = nova_notifications.scheduling_failure(
            VERSIONED, ef.failure_message(VERSIONED, 'i-7')['payload'])
        action = first.plan(first_request(failure), 'scheduling_failure',
                            'i-7')
        [victim] = [v['server_id'] for v in action['victims']]
        self.engine.cloud.set_flavor(victim, 'm1.large')
        self.engine.build('engine-b').reaper.process_unfinished()
        action = actions_db.get_action(self.engine.db, self.ctx,
                                       action['id'])
        self.assertEqual(states.CANCELLED, action['state'])
        self.assertIn(victim, action['reason'])
        self.assertEqual([], self.engine.cloud.journal)
        self.assertEqual(set(), actions_db.claimed_servers(self.engine.db,
                                                           self.ctx))

    def test_a_victim_made_normal_during_the_grace_is_not_deleted(self):
        """An operator resized a noticed victim (locked: its owner
        cannot) to a normal flavor during the grace period: at its end
        the reaper deleted it all the same, a server that is not
        preemptible.  It is spared; the other victims are deleted."""
        reaper = self.engine.build().reaper
        failure = nova_notifications.scheduling_failure(
            VERSIONED, ef.failure_message(VERSIONED, 'i-8')['payload'])
        action = reaper.handle_failure(dataclasses.replace(
            failure, resources={'VCPU': 10, 'MEMORY_MB': 512}))
        self.assertEqual(states.NOTICED, action['state'])
        victims = sorted(v['server_id'] for v in action['victims'])
        self.assertGreater(len(victims), 1)
        saved = victims[0]
        self.engine.cloud.set_flavor(saved, 'm1.large')
        later = action['delete_after'] + datetime.timedelta(seconds=1)
        reaper.clock = lambda: later
        reaper.process_unfinished()
        action = actions_db.get_action(self.engine.db, self.ctx,
                                       action['id'])
        self.assertEqual(states.DONE, action['state'])
        self.assertEqual(victims[1:], sorted(
            sid for verb, sid, _ in self.engine.cloud.journal
            if verb == 'delete'))
        self.assertEqual({saved: 'spared'}, {
            v['server_id']: v['state'] for v in action['victims']
            if v['state'] != 'deleted'})
        self.assertIn(saved, self.engine.cloud.cluster().servers)
        # Given back to its owner: unlocked (it stayed locked with the
        # notice's reason, which its owner cannot remove), still stopped.
        self.assertFalse(self.engine.cloud.server_state(saved)['locked'])
        self.assertEqual('SHUTOFF',
                         self.engine.cloud.server_state(saved)['status'])
        # Operators' listeners of preemption.action.done read that it
        # was spared (they read only "done": every victim deleted).
        self.assertTrue(ef.wait_for(lambda: [
            p for e, p in self.engine.notices.received
            if e == 'preemption.action.done']))
        [done] = [p for e, p in self.engine.notices.received
                  if e == 'preemption.action.done']
        self.assertEqual({saved: 'spared'}, {
            v['server_id']: v['state'] for v in done['victims']
            if v['state'] != 'deleted'})

    def test_a_refused_delete_is_tried_again(self):
        """Nova refused a victim's deletion once (restarting, a 503 of
        its load balancer): the action failed for good, and its victims
        stayed locked and stopped, their room never made."""
        reaper = self.engine.build().reaper
        failure = nova_notifications.scheduling_failure(
            VERSIONED, ef.failure_message(VERSIONED, 'i-8')['payload'])
        action = reaper.handle_failure(failure)
        [victim] = [v['server_id'] for v in action['victims']]
        cloud = self.engine.cloud
        real_delete = cloud.delete
        refusals = []

        def delete(server_id):
            if refusals:
                refusals.pop()
                raise driver_base.DriverError('HTTP 503')
            return real_delete(server_id)

        self.useFixture(fixtures.MockPatchObject(cloud, 'delete', delete))
        later = action['delete_after'] + datetime.timedelta(seconds=1)
        reaper.clock = lambda: later
        refusals.append(1)
        reaper.process_unfinished()
        self.assertEqual(states.DELETING, actions_db.get_action(
            self.engine.db, self.ctx, action['id'])['state'])
        self.assertIn(victim, cloud.cluster().servers)
        reaper.process_unfinished()
        self.assertEqual(states.DONE, actions_db.get_action(
            self.engine.db, self.ctx, action['id'])['state'])
        self.assertNotIn(victim, cloud.cluster().servers)

    def test_a_refused_lock_is_tried_again(self):
        """Nova refused to lock a victim once: the action failed for
        good, the victims stopped before it stayed locked and stopped,
        and no room was made."""
        reaper = self.engine.build().reaper
        cloud = self.engine.cloud
        real_lock = cloud.lock
        refusals = [1]

        def lock(server_id, reason):
            if refusals:
                refusals.pop()
                raise driver_base.DriverError('HTTP 503')
            return real_lock(server_id, reason)

        self.useFixture(fixtures.MockPatchObject(cloud, 'lock', lock))
        failure = nova_notifications.scheduling_failure(
            VERSIONED, ef.failure_message(VERSIONED, 'i-10')['payload'])
        action = reaper.handle_failure(failure)
        self.assertEqual(states.PLANNED, action['state'])
        self.assertEqual([], self.stopped())
        reaper.process_unfinished()
        action = actions_db.get_action(self.engine.db, self.ctx,
                                       action['id'])
        self.assertEqual(states.NOTICED, action['state'])
        self.assertEqual([v['server_id'] for v in action['victims']],
                         self.stopped())
        # Refused for an hour, it fails.
        refusals.extend([1] * 10)
        other = reaper.handle_failure(nova_notifications.scheduling_failure(
            VERSIONED, ef.failure_message(VERSIONED, 'i-11')['payload']))
        self.assertEqual(states.PLANNED, other['state'])
        later = other['created_at'] + datetime.timedelta(hours=1)
        reaper.clock = lambda: later
        reaper.process_unfinished()
        other = actions_db.get_action(self.engine.db, self.ctx, other['id'])
        self.assertEqual(states.FAILED, other['state'])
        self.assertIn('HTTP 503', other['reason'])

    def test_a_pass_reads_each_victim_not_the_cloud(self):
        """Each victim is checked before its deletion by reading it on
        its own, not against a snapshot of the whole cloud (one of Nova
        reads every resource provider and server): once per action
        before 9ed13ad, once per pass after it."""
        reaper = self.engine.build().reaper
        actions = [reaper.handle_failure(nova_notifications.scheduling_failure(
            VERSIONED, ef.failure_message(VERSIONED, 'i-3%d' % i)[
                'payload'])) for i in range(3)]
        self.assertEqual(3, len({a['id'] for a in actions}))
        reads = []
        real_cluster = self.engine.cloud.cluster

        def cluster():
            reads.append(1)
            return real_cluster()

        self.useFixture(fixtures.MockPatchObject(self.engine.cloud,
                                                 'cluster', cluster))
        later = max(a['delete_after'] for a in actions) + datetime.timedelta(
            seconds=1)
        reaper.clock = lambda: later
        self.assertEqual(3, reaper.process_unfinished())
        self.assertEqual(0, len(reads))
        self.assertEqual(3, len([sid for verb, sid, _
                                 in self.engine.cloud.journal
                                 if verb == 'delete']))

    def test_a_victim_made_normal_before_its_lock_is_not_stopped(self):
        """Its owner resized a victim to a normal flavor between the
        plan's snapshot and the reaper's lock: the notice stopped it (and
        the grace's end spared it, unlocked but stopped), a server that
        is not preemptible.  Read once locked, it cancels the action:
        nothing is stopped, nothing stays locked."""
        reaper = self.engine.build().reaper
        cloud = self.engine.cloud
        real_lock = cloud.lock

        def lock(server_id, reason):
            cloud.set_flavor(server_id, 'm1.large')
            return real_lock(server_id, reason)

        self.useFixture(fixtures.MockPatchObject(cloud, 'lock', lock))
        action = reaper.handle_failure(nova_notifications.scheduling_failure(
            VERSIONED, ef.failure_message(VERSIONED, 'i-50')['payload']))
        [victim] = [v['server_id'] for v in action['victims']]
        self.assertEqual(states.CANCELLED, action['state'])
        self.assertIn(victim, action['reason'])
        self.assertEqual([], self.stopped())
        self.assertFalse(cloud.server_state(victim)['locked'])
        self.assertEqual(set(), actions_db.claimed_servers(self.engine.db,
                                                           self.ctx))

    def test_a_plan_the_cloud_cannot_check_holds_back_no_deletion(self):
        """Placement is down: the snapshot a resumed plan is checked
        against cannot be read.  The pass ended there (a traceback at
        every pass), and the victims due after it were not deleted,
        which needs Nova only."""
        reaper = self.engine.build().reaper
        failure = nova_notifications.scheduling_failure(
            VERSIONED, ef.failure_message(VERSIONED, 'i-60')['payload'])
        planned = reaper.plan(first_request(failure), 'scheduling_failure',
                              'i-60')
        due = reaper.handle_failure(dataclasses.replace(
            nova_notifications.scheduling_failure(
                VERSIONED, ef.failure_message(VERSIONED, 'i-61')[
                    'payload']), boot_id='i-61', instance_uuid='i-61'))
        self.assertEqual(states.NOTICED, due['state'])
        self.useFixture(fixtures.MockPatchObject(
            self.engine.cloud, 'cluster', side_effect=driver_base.DriverError(
                'Placement: GET /resource_providers: HTTP 503')))
        later = due['delete_after'] + datetime.timedelta(seconds=1)
        reaper.clock = lambda: later
        reaper.process_unfinished()
        self.assertEqual(
            (states.PLANNED, states.DONE),
            tuple(actions_db.get_action(self.engine.db, self.ctx,
                                        a['id'])['state']
                  for a in (planned, due)))

    def test_a_victim_made_normal_during_the_pass_is_not_deleted(self):
        """The leader's pass deletes the victims of two actions; while it
        deletes the first's, an operator resizes the second's victim to
        a normal flavor.  Checked against the snapshot the pass took at
        its start, it was deleted: a server that is not preemptible."""
        reaper = self.engine.build().reaper
        actions = [reaper.handle_failure(nova_notifications.scheduling_failure(
            VERSIONED, ef.failure_message(VERSIONED, 'i-4%d' % i)[
                'payload'])) for i in range(2)]
        [[first], [second]] = [[v['server_id'] for v in a['victims']]
                               for a in actions]
        cloud = self.engine.cloud
        real_delete = cloud.delete

        def delete(server_id):
            if server_id == first:
                cloud.set_flavor(second, 'm1.large')
            return real_delete(server_id)

        self.useFixture(fixtures.MockPatchObject(cloud, 'delete', delete))
        later = max(a['delete_after'] for a in actions) + datetime.timedelta(
            seconds=1)
        reaper.clock = lambda: later
        reaper.process_unfinished()
        self.assertEqual([first], [sid for verb, sid, _ in cloud.journal
                                   if verb == 'delete'])
        spared = actions_db.get_action(self.engine.db, self.ctx,
                                       actions[1]['id'])
        self.assertEqual((states.DONE, 'spared'),
                         (spared['state'], spared['victims'][0]['state']))
        self.assertFalse(cloud.server_state(second)['locked'])

    def half_noticed(self, trigger):
        """An action of two victims whose first is noticed (locked and
        stopped) and whose second Nova keeps refusing to lock:
        ``(reaper, action, first, second)``."""
        reaper = self.engine.build().reaper
        cloud = self.engine.cloud
        real_lock = cloud.lock
        refused = []

        def lock(server_id, reason):
            if refused and server_id != refused[0]:
                raise driver_base.DriverError('HTTP 503')
            refused.append(server_id)
            return real_lock(server_id, reason)

        self.useFixture(fixtures.MockPatchObject(cloud, 'lock', lock))
        failure = nova_notifications.scheduling_failure(
            VERSIONED, ef.failure_message(VERSIONED, trigger)['payload'])
        action = reaper.handle_failure(dataclasses.replace(
            failure, resources={'VCPU': 10, 'MEMORY_MB': 512}))
        self.assertEqual(states.PLANNED, action['state'])
        first = refused[0]
        [second] = [v['server_id'] for v in action['victims']
                    if v['server_id'] != first]
        self.assertTrue(cloud.server_state(first)['locked'])
        self.assertEqual([first], self.stopped())
        return reaper, action, first, second

    def assert_released(self, action, first, state):
        action = actions_db.get_action(self.engine.db, self.ctx,
                                       action['id'])
        self.assertEqual(state, action['state'])
        self.assertEqual('released', {
            v['server_id']: v['state'] for v in action['victims']}[first])
        locked = self.engine.cloud.server_state(first)
        self.assertEqual((False, None),
                         (locked['locked'], locked['locked_reason']))
        self.assertEqual([], [sid for verb, sid, _ in self.engine.cloud.journal
                              if verb == 'delete'])

    def test_a_cancelled_plan_unlocks_the_victims_it_noticed(self):
        """Half of the notice was given, then the other victim was made
        normal: the action was cancelled, and the victim noticed before
        stayed locked ("will be deleted") for good; its owner could not
        unlock it."""
        reaper, action, first, second = self.half_noticed('i-20')
        self.engine.cloud.set_flavor(second, 'm1.large')
        reaper.process_unfinished()
        self.assert_released(action, first, states.CANCELLED)

    def test_a_failed_plan_unlocks_the_victims_it_noticed(self):
        reaper, action, first, _second = self.half_noticed('i-21')
        later = action['created_at'] + datetime.timedelta(hours=1)
        reaper.clock = lambda: later
        reaper.process_unfinished()
        self.assert_released(action, first, states.FAILED)

    def killed_notice(self, trigger, at):
        """An action of two victims whose notice an engine began and died
        in, at the second victim's ``at`` (``lock`` or ``stop``): the
        first victim locked and stopped, the second locked (at its stop)
        or not (at its lock).  ``(action, first, second)``."""
        reaper = self.engine.build().reaper
        cloud = self.engine.cloud
        real = getattr(cloud, at)

        def dying(*args):
            if self.stopped():
                raise EngineDied()
            return real(*args)

        failure = nova_notifications.scheduling_failure(
            VERSIONED, ef.failure_message(VERSIONED, trigger)['payload'])
        with fixtures.MockPatchObject(cloud, at, dying):
            self.assertRaises(EngineDied, reaper.handle_failure,
                              dataclasses.replace(failure, resources={
                                  'VCPU': 10, 'MEMORY_MB': 512}))
        [action] = [a for a in self.actions() if a['trigger_id'] == trigger]
        self.assertEqual(states.PLANNED, action['state'])
        [first] = self.stopped()
        [second] = [v['server_id'] for v in action['victims']
                    if v['server_id'] != first]
        self.assertEqual(at == 'stop', cloud.server_state(second)['locked'])
        return action, first, second

    def victim_states(self, action):
        action = actions_db.get_action(self.engine.db, self.ctx,
                                       action['id'])
        return action['state'], {v['server_id']: v['state']
                                 for v in action['victims']}

    def test_a_notice_an_engine_died_in_is_given_by_the_next(self):
        """A notice records its victims' states once they are all locked
        and stopped: an engine that dies in the middle recorded none, and
        the next leader's pass gives the whole notice again."""
        action, first, second = self.killed_notice('i-40', 'stop')
        self.engine.build('engine-b').reaper.process_unfinished()
        self.assertEqual((states.NOTICED, {first: 'noticed',
                                           second: 'noticed'}),
                         self.victim_states(action))
        for victim in (first, second):
            shown = self.engine.cloud.server_state(victim)
            self.assertEqual((True, 'SHUTOFF'),
                             (shown['locked'], shown['status']))

    def test_a_cancelled_plan_unlocks_what_a_dead_engine_locked(self):
        """An engine died between a victim's lock and its stop; the plan,
        resumed, is cancelled (an operator made that victim normal
        meanwhile): it stayed locked with "will be deleted" for good,
        its owner unable to unlock it, as it had no state recorded.
        Every victim the cloud shows locked with the action's reason is
        unlocked."""
        action, first, second = self.killed_notice('i-41', 'stop')
        cloud = self.engine.cloud
        cloud.set_flavor(second, 'm1.large')
        self.engine.build('engine-b').reaper.process_unfinished()
        self.assertEqual((states.CANCELLED, {first: 'released',
                                             second: 'released'}),
                         self.victim_states(action))
        for victim in (first, second):
            self.assertEqual((False, None), (
                cloud.server_state(victim)['locked'],
                cloud.server_state(victim)['locked_reason']))
        self.assertEqual([], [sid for verb, sid, _ in cloud.journal
                              if verb == 'delete'])

    def test_a_cancelled_plan_leaves_an_owners_lock(self):
        """The engine died before it locked the second victim, whose
        owner then locked it and resized it: the cancelled plan unlocks
        the first victim, not the owner's lock."""
        action, first, second = self.killed_notice('i-42', 'lock')
        cloud = self.engine.cloud
        cloud.lock(second, 'mine')
        cloud.set_flavor(second, 'm1.large')
        self.engine.build('engine-b').reaper.process_unfinished()
        self.assertEqual((states.CANCELLED, {first: 'released',
                                             second: 'planned'}),
                         self.victim_states(action))
        self.assertFalse(cloud.server_state(first)['locked'])
        self.assertEqual((True, 'mine'), (
            cloud.server_state(second)['locked'],
            cloud.server_state(second)['locked_reason']))

    def test_a_delete_refused_for_an_hour_fails_the_action(self):
        reaper = self.engine.build().reaper
        failure = nova_notifications.scheduling_failure(
            VERSIONED, ef.failure_message(VERSIONED, 'i-9')['payload'])
        action = reaper.handle_failure(failure)

        def delete(server_id):
            raise driver_base.DriverError('HTTP 403')

        self.useFixture(fixtures.MockPatchObject(self.engine.cloud,
                                                 'delete', delete))
        for minutes in (1, 30, 61):
            later = action['delete_after'] + datetime.timedelta(
                minutes=minutes)
            reaper.clock = lambda: later
            reaper.process_unfinished()
        action = actions_db.get_action(self.engine.db, self.ctx,
                                       action['id'])
        self.assertEqual(states.FAILED, action['state'])
        self.assertIn('HTTP 403', action['reason'])

    def test_a_failed_action_s_reason_says_how_the_cloud_failed(self):
        """An action failed because Nova could not be reached (a lock)
        or answered a 503 (a deletion), both for an hour: its reason,
        which the API shows administrators and the victims' projects,
        says which service failed and how; keystoneauth's text, with
        Nova's internal endpoint and address and urllib3's internals,
        stays in the log.  The reasons carried that text."""
        log = self.useFixture(fixtures.FakeLogger())
        reaper = self.engine.build().reaper
        cloud = self.engine.cloud
        internal = 'http://10.0.0.5:8774/v2.1/servers'

        def refused(server_id, method, cause):
            # As reaper_svc.drivers.openstack raises it.
            path = '/servers/%s' % server_id
            try:
                raise cause
            except ks_exc.ClientException as exc:
                raise driver_base.DriverError(
                    'Nova: %s %s: %s' % (method, path, exc)) from exc

        def lock(server_id, reason):
            refused(server_id, 'POST', ks_exc.ConnectFailure(
                'Unable to establish connection to %s/%s/action: '
                "HTTPConnectionPool(host='10.0.0.5', port=8774): Max "
                'retries exceeded ([Errno 111] Connection refused)'
                % (internal, server_id)))

        def delete(server_id):
            refused(server_id, 'DELETE', ks_exc.ServiceUnavailable(
                message='Service Unavailable', http_status=503,
                url='%s/%s' % (internal, server_id)))

        def boot_failed(boot_id):
            message = ef.failure_message(VERSIONED, boot_id)
            return reaper.handle_failure(nova_notifications.
                                         scheduling_failure(
                                             VERSIONED, message['payload']))

        with fixtures.MockPatchObject(cloud, 'lock', lock):
            locking = boot_failed('i-60')
            later = locking['created_at'] + datetime.timedelta(hours=1)
            reaper.clock = lambda: later
            reaper.process_unfinished()
        locking = actions_db.get_action(self.engine.db, self.ctx,
                                        locking['id'])
        [locked] = [v['server_id'] for v in locking['victims']]
        self.assertEqual(
            (states.FAILED, 'Could not lock %s: Nova could not be reached'
             % locked), (locking['state'], locking['reason']))

        deleting = boot_failed('i-61')
        with fixtures.MockPatchObject(cloud, 'delete', delete):
            for minutes in (1, 61):
                moment = deleting['delete_after'] + datetime.timedelta(
                    minutes=minutes)
                reaper.clock = lambda: moment
                reaper.process_unfinished()
        deleting = actions_db.get_action(self.engine.db, self.ctx,
                                         deleting['id'])
        [deleted] = [v['server_id'] for v in deleting['victims']]
        self.assertEqual(
            (states.FAILED, 'Could not delete %s: Nova answered HTTP 503'
             % deleted), (deleting['state'], deleting['reason']))
        self.assertIn('%s/%s/action' % (internal, locked), log.output)
        self.assertIn('Errno 111', log.output)
        self.assertIn('%s/%s' % (internal, deleted), log.output)

    def test_concurrent_triggers_never_share_a_victim(self):
        reaper = self.engine.build().reaper
        message = ef.failure_message(VERSIONED, 'x')
        errors = []

        def trigger(index):
            try:
                payload = ef.failure_message(VERSIONED, 'i-%d' % index)
                reaper.handle_failure(nova_notifications.scheduling_failure(
                    VERSIONED, payload['payload']))
            except Exception as exc:  # noqa: reported below
                errors.append(exc)

        self.assertTrue(message)
        threads = [threading.Thread(target=trigger, args=(i,))
                   for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual([], errors)
        victims = [v['server_id'] for a in self.actions()
                   for v in a['victims']]
        self.assertEqual(len(victims), len(set(victims)))
        # cmp1 holds 5 candidates; every trigger got its own until none
        # was left, then the rest were unsatisfiable.
        self.assertEqual(5, len(victims))
        self.assertEqual(3, len([a for a in self.actions()
                                 if a['state'] == states.FAILED]))


class TestMalformedMessageIds(EngineTestBase):
    """A notification whose id the reaper cannot record is acknowledged
    and dropped: claiming it raised at every delivery (an unhashable id
    in the engine, a long one in PostgreSQL's column), and
    oslo.messaging requeued it for ever."""

    #: What each id raised when it was claimed; the long one only where
    #: the column's length is enforced.
    IDS = [['a', 'list'], {'an': 'object'}, '']

    def database_url(self):
        return None

    def setUp(self):
        testtools.TestCase.setUp(self)
        self.engine = self.useFixture(ef.ReaperEngine(
            grace_period=self.GRACE, database_url=self.database_url()))
        self.ctx = context.admin_context()

    def test_an_id_that_cannot_be_recorded_is_acknowledged(self):
        endpoint = self.engine.build()._listeners[0].endpoints[0]
        for number, message_id in enumerate(self.IDS):
            message = ef.failure_message(VERSIONED, 'i-%d' % number)
            result = endpoint.error({}, 'nova-conductor:ctl', VERSIONED,
                                    message['payload'],
                                    {'message_id': message_id})
            self.assertEqual(oslo_messaging.NotificationResult.HANDLED,
                             result, message_id)
        self.assertEqual([], self.actions())
        self.assertEqual([], self.engine.cloud.journal)
        # A well-formed id is still handled once.
        message = ef.failure_message(VERSIONED, 'i-ok')
        metadata = {'message_id': str(uuid.uuid4())}
        for _ in range(2):
            endpoint.error({}, 'nova-conductor:ctl', VERSIONED,
                           message['payload'], metadata)
        self.assertEqual(['i-ok'], [a['trigger_id'] for a in self.actions()])


class TestMalformedMessageIdsOnPostgreSQL(TestMalformedMessageIds):

    IDS = ['x' * (nova_notifications.MAX_MESSAGE_ID_LENGTH + 1)
           ] + TestMalformedMessageIds.IDS

    def database_url(self):
        return self.useFixture(postgresql.Database()).url


class TestDatabaseAway(testtools.TestCase):
    """The engine's PostgreSQL refuses connections for a while (a
    restart, a failover): a NoValidHost that arrives meanwhile is tried
    again every few seconds, not many times a second, and is acted on
    once the database is back."""

    def setUp(self):
        super().setUp()
        self.database = self.useFixture(postgresql.Database())
        self.engine = self.useFixture(ef.ReaperEngine(
            grace_period=3600, database_url=self.database.url))
        self.admin = sqlalchemy.create_engine(
            postgresql.shared_server().admin_url,
            isolation_level='AUTOCOMMIT')
        self.addCleanup(self.admin.dispose)

    def allow_connections(self, allowed):
        with self.admin.connect() as conn:
            conn.execute(sqlalchemy.text(
                'ALTER DATABASE "%s" ALLOW_CONNECTIONS %s'
                % (self.database.name, 'true' if allowed else 'false')))
            if not allowed:
                conn.execute(sqlalchemy.text(
                    'SELECT pg_terminate_backend(pid) FROM pg_stat_activity '
                    'WHERE datname = :name'), {'name': self.database.name})

    def test_a_failure_waits_for_the_database(self):
        runner = self.engine.start()
        endpoint = runner._listeners[0].endpoints[0]
        claims = []
        real_seen = endpoint.processed.seen

        def seen(message_id):
            claims.append(message_id)
            return real_seen(message_id)

        endpoint.processed.seen = seen
        self.allow_connections(False)
        self.addCleanup(self.allow_connections, True)
        instance = str(uuid.uuid4())
        self.engine.send(ef.failure_message(VERSIONED, instance))
        self.assertTrue(ef.wait_for(lambda: claims, 10))
        time.sleep(3)
        self.assertLessEqual(len(claims), 2)
        self.allow_connections(True)
        ctx = context.admin_context()
        self.assertTrue(ef.wait_for(lambda: [
            a['state'] for a in actions_db.list_actions(
                self.engine.db, ctx, 10)] == [states.NOTICED], 20))

    def test_a_failure_the_database_dropped_mid_way_is_handled_later(self):
        """The database goes away while a NoValidHost is being handled
        (after its id was claimed, before its action was written): the
        claim could not be taken back either, and the redelivery once
        the database was back was acknowledged without being acted
        on."""
        endpoint = self.engine.build()._listeners[0].endpoints[0]
        endpoint.redelivery_delay = 0
        real_plan = endpoint.reaper.plan

        def plan(*args, **kwargs):
            self.allow_connections(False)
            return real_plan(*args, **kwargs)

        self.addCleanup(self.allow_connections, True)
        message = ef.failure_message(VERSIONED, str(uuid.uuid4()))
        metadata = {'message_id': str(uuid.uuid4())}
        with fixtures.MockPatchObject(endpoint.reaper, 'plan', plan):
            self.assertEqual(
                oslo_messaging.NotificationResult.REQUEUE,
                endpoint.error({}, 'nova-conductor:ctl', VERSIONED,
                               message['payload'], metadata))
        self.allow_connections(True)
        endpoint.error({}, 'nova-conductor:ctl', VERSIONED,
                       message['payload'], metadata)
        ctx = context.admin_context()
        self.assertEqual([states.NOTICED], [
            a['state'] for a in actions_db.list_actions(
                self.engine.db, ctx, 10)])


def first_request(failure):
    return model.Request(resources=failure.resources, count=failure.count)


class TestEngineOverRabbitMQ(testtools.TestCase):
    """The same path over a real RabbitMQ: Nova publishes on exchange
    ``nova``, the reaper's listener (pool ``reaper``) binds there."""

    def test_novalidhost_over_rabbitmq(self):
        broker = self.useFixture(rabbitmq.RabbitMQ())
        engine = self.useFixture(ef.ReaperEngine(url=broker.url,
                                                 grace_period=0))
        engine.start()
        engine.send(ef.failure_message(VERSIONED, str(uuid.uuid4())))
        ctx = context.admin_context()
        self.assertTrue(ef.wait_for(lambda: any(
            a['state'] == states.DONE for a in actions_db.list_actions(
                engine.db, ctx, 10)), timeout=30))
        self.assertTrue(ef.wait_for(lambda: 'preemption.notice' in {
            e for e, _ in engine.notices.received}, timeout=30))
