"""The leader's clean-up of leaked trusts, against a real Keystone: the
trusts of the reaper's service user that no unfinished pending request
names are deleted once seen so for the grace; the others are kept."""

import logging
from unittest import mock
import uuid

import fixtures
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import session as ks_session
import testtools

from reaper_svc.cmd import engine
from reaper_svc.db import pending as pending_db
from reaper_svc import leaked_trusts
from reaper_svc.tests.functional import base
from reaper_svc import trusts
from svc_common import context
from svc_common.tests.fixtures import keystone
from svc_common.tests.fixtures import ports

GRACE = 3600


class TestLeakedTrusts(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.ks = self.useFixture(keystone.SharedKeystone()).keystone
        suffix = uuid.uuid4().hex[:8]
        self.project = self.ks.create_project('leaked-' + suffix)['id']
        self.alice = self.ks.create_user(
            'alice-' + suffix, 'alice-pw',
            roles_on_project={self.project: ['member']})
        self.alice_token = self.ks.token('alice-' + suffix, 'alice-pw',
                                         project_id=self.project)
        self.reaper_user = 'reaper-' + suffix
        self.ks.create_user(self.reaper_user, 'reaper-pw')
        self.reaper_app = self.useFixture(base.ReaperApp())
        self.db = self.reaper_app.db
        self.ctx = context.admin_context()
        self.broker = trusts.KeystoneTrusts(self.ks.url, self.reaper_user,
                                            'reaper-pw')
        self.now = 1000.0
        self.cleanup = leaked_trusts.LeakedTrusts(
            self.db, self.broker, GRACE, 100, clock=lambda: self.now)

    def take_trust(self):
        return self.broker.create_trust(self.alice_token, self.project,
                                        ['member'])

    def queue(self, trust_id):
        """A queued request naming ``trust_id``; its id."""
        return pending_db.create_request(
            self.db, self.ctx, self.project, self.alice['id'],
            [dict(base.SERVER, count=1)], True, trust_id=trust_id)['id']

    def usable(self, trust_id):
        """Whether the reaper can still act through the trust."""
        session = ks_session.Session(auth=self.broker.auth(trust_id))
        try:
            session.auth.get_access(session)
        except ks_exceptions.ClientException:
            return False
        return True

    def test_leaked_trusts_are_deleted_after_the_grace(self):
        # A worker killed between taking the trust and queueing its
        # request: no request names it.
        orphan = self.take_trust()
        # A request withdrawn while Keystone failed the deletion of its
        # trust: a finished request names it.
        withdrawn = self.take_trust()
        request = self.queue(withdrawn)
        pending_db.cancel_request(self.db, self.ctx, request)
        # A queued request's trust, needed to build it.
        live = self.take_trust()
        self.queue(live)

        self.assertEqual([], self.cleanup.sweep())
        # A submission in flight: its trust taken, not yet queued.
        young = self.take_trust()
        self.now += GRACE

        self.assertEqual(sorted([orphan, withdrawn]),
                         sorted(self.cleanup.sweep()))
        self.assertEqual(
            {orphan: False, withdrawn: False, live: True, young: True},
            {trust_id: self.usable(trust_id)
             for trust_id in (orphan, withdrawn, live, young)})
        self.assertEqual(sorted([live, young]),
                         sorted(self.broker.list_trust_ids()))

    def test_a_trust_queued_within_the_grace_is_kept(self):
        in_flight = self.take_trust()
        self.assertEqual([], self.cleanup.sweep())
        # Its request queued before the grace ran out, then built, its
        # trust still needed while building.
        request = self.queue(in_flight)
        self.now += GRACE
        self.assertEqual([], self.cleanup.sweep())
        self.assertTrue(pending_db.transition(
            self.db, self.ctx, request, pending_db.QUEUED,
            pending_db.BUILDING))
        self.now += GRACE
        self.assertEqual([], self.cleanup.sweep())
        self.assertTrue(self.usable(in_flight))

    def test_a_pass_deletes_at_most_per_pass(self):
        first, second = self.take_trust(), self.take_trust()
        self.cleanup.per_pass = 1
        self.cleanup.sweep()
        self.now += GRACE
        deleted = self.cleanup.sweep()
        self.assertEqual(1, len(deleted))
        self.assertTrue(self.usable(({first, second} - set(deleted)).pop()))
        deleted += self.cleanup.sweep()
        self.assertEqual(sorted([first, second]), sorted(deleted))
        self.assertEqual({first: False, second: False},
                         {t: self.usable(t) for t in (first, second)})

    def test_keystone_away_loses_nothing(self):
        log = self.useFixture(fixtures.FakeLogger(
            level=logging.INFO, format='%(levelname)s %(message)s'))
        runner = engine.build_runner(
            self.reaper_app.conf, self.db, notifier=mock.Mock(),
            trusts=self.broker)
        runner.leaked_trusts.clock = lambda: self.now
        [task] = [t for t in runner.tasks if t.name == engine.TRUSTS_TASK]
        orphan = self.take_trust()
        task.run_once()
        self.now += GRACE
        away = trusts.KeystoneTrusts(
            'http://127.0.0.1:%d/v3' % ports.free_port(), self.reaper_user,
            'reaper-pw')
        runner.leaked_trusts.trusts = away
        for _ in range(3):
            task.run_once()
        self.assertTrue(self.usable(orphan))
        # One warning for the outage, without a traceback.
        self.assertNotIn('Traceback', log.output)
        warnings = [line for line in log.output.splitlines()
                    if line.startswith('WARNING ')]
        self.assertEqual(1, len(warnings), warnings)
        self.assertIn('Periodic task preemption-leaked-trusts failed, a '
                      'service it depends on failed (ConnectFailure',
                      warnings[0])
        # Keystone back: what was seen before the outage still counts.
        runner.leaked_trusts.trusts = self.broker
        task.run_once()
        self.assertFalse(self.usable(orphan))
        self.assertIn('Periodic task preemption-leaked-trusts succeeded '
                      'again, after 3 failure(s)', log.output)

    def test_the_engine_leader_runs_the_clean_up(self):
        runner = engine.build_runner(
            self.reaper_app.conf, self.db, notifier=mock.Mock(),
            trusts=self.broker)
        [task] = [t for t in runner.tasks if t.name == engine.TRUSTS_TASK]
        self.assertTrue(task.leader_only)
        self.assertEqual(self.reaper_app.conf.trustee.leaked_trust_interval,
                         task.interval)
        self.assertIs(self.broker, runner.leaked_trusts.trusts)
