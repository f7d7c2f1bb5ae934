"""What reaper-engine logs while the cloud is away.

Nova, Placement or Keystone unreachable, answering 5xx or timing out:
every pass of the engine's periodic work fails for as long as it lasts.
The log must say so once (a warning when it starts, without a
traceback), keep quiet while it lasts, and say when it is over; a bug
keeps its traceback at every pass.
"""

import copy
import logging

import fixtures
from keystoneauth1 import exceptions as ks_exc
import testtools

from reaper_svc import action_states as states
from reaper_svc.cmd import engine
from reaper_svc.db import actions as actions_db
from reaper_svc.db import pending as pending_db
from reaper_svc.drivers import base as driver_base
from reaper_svc.drivers import simulated
from reaper_svc import nova_notifications
from reaper_svc.tests.functional import engine_fixture as ef
from reaper_svc.tests.functional import test_promoter as tp
from svc_common import context

#: What keystoneauth1 raises while a service is away, one per pass.
AWAY = [
    ks_exc.ConnectFailure('Unable to establish connection to '
                          'http://nova:8774/v2.1/flavors/detail'),
    ks_exc.EndpointNotFound('Could not find requested endpoint in '
                            'Service Catalog.'),
    ks_exc.DiscoveryFailure('Could not find versioned identity '
                            'endpoints when attempting to authenticate.'),
    ks_exc.ServiceUnavailable(),
    ks_exc.BadGateway(),
    ks_exc.ConnectTimeout('Request to http://placement/ timed out'),
]


class CloudAway(fixtures.Fixture):
    """The simulated cloud's reads and actions (``verbs``) raise
    ``errors`` in turn (one per call, the last again) until
    :meth:`back`; with ``wrapped``, as the ``openstack`` driver raises
    them: a ``DriverError`` raised from keystoneauth1's."""

    VERBS = ('cluster', 'flavors', 'aggregates', 'server', 'server_state',
             'lock', 'unlock', 'stop', 'delete', 'create',
             'servers_with_metadata')

    def __init__(self, cloud, errors, verbs=VERBS, wrapped=False):
        super().__init__()
        self.cloud = cloud
        self.errors = list(errors)
        self.verbs = verbs
        self.wrapped = wrapped
        self.away = True

    def _setUp(self):
        for verb in self.verbs:
            self.useFixture(fixtures.MockPatchObject(
                self.cloud, verb, self._failing(getattr(self.cloud, verb))))

    def _failing(self, real):
        def call(*args, **kwargs):
            if not self.away:
                return real(*args, **kwargs)
            error = (self.errors.pop(0) if len(self.errors) > 1
                     else self.errors[0])
            if not self.wrapped:
                raise error
            try:
                raise error
            except ks_exc.ClientException as exc:
                raise driver_base.DriverError('Nova: %s' % exc) from exc
        return call

    def back(self):
        self.away = False


def _failure(boot):
    """A NoValidHost of one normal server of one slot."""
    return nova_notifications.SchedulingFailure(
        instance_uuid=boot, project_id='physics', flavor_name='m1',
        resources=dict(tp.ONE), count=1, availability_zone=None,
        required_traits=frozenset())


class TestCloudOutage(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.engine = self.useFixture(ef.ReaperEngine(grace_period=0))
        self.ctx = context.admin_context()
        self.log = self.useFixture(fixtures.FakeLogger(
            level=logging.INFO,
            format='%(levelname)s %(name)s %(message)s'))

    def use_cloud(self, servers):
        self.engine.cloud = simulated.SimulatedCloud(
            tp.cloud(copy.deepcopy(servers)))
        self.runner = self.engine.build()
        return self.engine.cloud

    def task(self, name):
        [task] = [t for t in self.runner.tasks if t.name == name]
        return task

    def lines(self, level):
        return [line for line in self.log.output.splitlines()
                if line.startswith(level + ' ')]

    def queue(self):
        return pending_db.create_request(
            self.engine.db, self.ctx, 'physics', 'user-physics',
            [{'name': 'job', 'flavor': 'm1', 'image': 'img',
              'networks': [], 'count': 1}], True)

    def test_the_promoter_logs_an_outage_once(self):
        cloud = self.use_cloud(tp.full()[:2])
        request = self.queue()
        promote = self.task(engine.PROMOTE_TASK)
        away = self.useFixture(CloudAway(cloud, AWAY))
        for _ in AWAY:
            promote.run_once()
        self.assertNotIn('Traceback', self.log.output)
        [warning] = self.lines('WARNING')
        self.assertIn('Periodic task preemption-promoter failed, a service '
                      'it depends on failed (ConnectFailure: Unable to '
                      'establish connection to http://nova:8774', warning)
        self.assertIn('nothing more is logged until it succeeds again',
                      warning)
        self.assertEqual(pending_db.QUEUED,
                         pending_db.get_request(self.engine.db, self.ctx,
                                                request['id'])['state'])
        away.back()
        promote.run_once()
        promote.run_once()
        self.assertEqual(['INFO svc_common.engine.runner Periodic task '
                          'preemption-promoter succeeded again, after 6 '
                          'failure(s)'],
                         [line for line in self.lines('INFO')
                          if 'succeeded again' in line])
        self.assertEqual(pending_db.ACTIVE,
                         pending_db.get_request(self.engine.db, self.ctx,
                                                request['id'])['state'])
        # The next outage is logged again.
        self.queue()
        self.useFixture(CloudAway(cloud, AWAY[3:4]))
        promote.run_once()
        self.assertEqual(2, len(self.lines('WARNING')))
        self.assertIn('(ServiceUnavailable:', self.lines('WARNING')[1])

    def test_a_bug_keeps_its_traceback_at_every_pass(self):
        cloud = self.use_cloud(tp.full()[:2])
        self.queue()
        promote = self.task(engine.PROMOTE_TASK)
        self.useFixture(CloudAway(cloud, [KeyError('flavor')]))
        for _ in range(3):
            promote.run_once()
        self.assertEqual(3, self.log.output.count('Traceback'))
        self.assertEqual(3, len(self.lines('ERROR')))

    def test_the_modes_pass_logs_an_outage_once(self):
        self.engine.conf.set_override('watermark', 0.5, 'preemption')
        cloud = self.use_cloud(tp.full(flavor='p1'))
        modes = self.task(engine.MODES_TASK)
        self.useFixture(CloudAway(cloud, AWAY))
        for _ in range(4):
            modes.run_once()
        self.assertNotIn('Traceback', self.log.output)
        self.assertEqual(1, len(self.lines('WARNING')))

    def test_the_actions_pass_logs_an_outage_once(self):
        # Two actions due (grace 0): one noticed, one planned.
        cloud = self.use_cloud(tp.full(flavor='p1', project='batch'))
        reaper = self.runner.reaper
        noticed = reaper.handle_failure(_failure('boot-1'))
        self.assertEqual(states.NOTICED, noticed['state'])
        # Nova goes away between the plan and the lock.
        lock_away = self.useFixture(CloudAway(cloud, AWAY, verbs=['lock'],
                                              wrapped=True))
        planned = reaper.handle_failure(_failure('boot-2'))
        self.assertEqual(states.PLANNED, planned['state'])
        lock_away.back()
        away = self.useFixture(CloudAway(cloud, AWAY, wrapped=True))
        actions = self.task(engine.ACTIONS_TASK)
        for _ in range(4):
            actions.run_once()
        self.assertNotIn('Traceback', self.log.output)
        # The lock refused at the notice, then four passes: one line.
        [warning] = self.lines('WARNING')
        self.assertIn('Preemption actions failed, a service it depends on '
                      'failed (DriverError: Nova: Unable to establish '
                      'connection', warning)
        away.back()
        actions.run_once()      # planned -> noticed
        actions.run_once()      # grace 0: deleted
        self.assertEqual(1, len([line for line in self.lines('INFO')
                                 if 'Preemption actions succeeded again'
                                 in line]))
        for action in (noticed, planned):
            self.assertEqual(states.DONE, actions_db.get_action(
                self.engine.db, self.ctx, action['id'])['state'])

    def test_a_pass_without_an_answer_of_the_cloud_ends_no_outage(self):
        """The promoter's thread meets the outage (the lock of its
        preemption's victim); the actions' pass that follows makes no
        call of the cloud (it cancels that plan: the request it was for
        was withdrawn): the cloud is still away, nothing says it is
        back."""
        cloud = self.use_cloud(tp.full(flavor='p1', project='batch'))
        request = self.queue()
        self.useFixture(CloudAway(cloud, AWAY, verbs=['lock'],
                                  wrapped=True))
        self.task(engine.PROMOTE_TASK).run_once()
        [action] = actions_db.unfinished(self.engine.db, self.ctx)
        self.assertEqual(states.PLANNED, action['state'])
        self.assertIn('Preemption actions failed', self.log.output)
        self.assertTrue(pending_db.transition(
            self.engine.db, self.ctx, request['id'], pending_db.QUEUED,
            pending_db.CANCELLED))
        self.useFixture(CloudAway(cloud, AWAY, wrapped=True))
        self.task(engine.ACTIONS_TASK).run_once()
        self.assertEqual([], actions_db.unfinished(self.engine.db, self.ctx))
        self.assertNotIn('succeeded again', self.log.output)
