"""The cloud goes away while the promoter builds a pending request.

Nova (or Keystone, Placement) unreachable, answering 5xx or timing out
in the middle of a build failed the request for good, though the same
build would succeed once the cloud was back, and the user had to queue
it again, behind everyone queued meanwhile.  It is queued again in its
place, nothing of it left in the cloud; the cloud refusing the build
(quota, a bad flavor, a fault) still fails it.
"""

import sqlite3

from keystoneauth1 import exceptions as ks_exc
import sqlalchemy
from urllib3 import exceptions as urllib3_exc

from reaper_svc.db import actions as actions_db
from reaper_svc.db import guarantees as guarantees_db
from reaper_svc.db import pending as pending_db
from reaper_svc.drivers import base as driver_base
from reaper_svc.tests.functional import test_promoter as tp


def wrapped(error):
    """``error`` (keystoneauth1's) as the ``openstack`` driver raises it."""
    try:
        raise error
    except ks_exc.ClientException as exc:
        try:
            raise driver_base.DriverError('Nova: POST /servers: %s'
                                          % exc) from exc
        except driver_base.DriverError as driver_error:
            return driver_error


def refused():
    """keystoneauth1's ConnectFailure of a connection refused: raised
    while urllib3's NewConnectionError is handled."""
    try:
        raise urllib3_exc.NewConnectionError(
            None, 'Failed to establish a new connection: [Errno 111] '
            'Connection refused')
    except urllib3_exc.NewConnectionError:
        try:
            raise ks_exc.ConnectFailure(
                'Unable to establish connection to '
                'http://nova:8774/v2.1/servers')
        except ks_exc.ConnectFailure as exc:
            return exc


def away():
    """Nova away: the create's connection refused (so never received)."""
    return wrapped(refused())


def reset():
    """The create's connection closed once it was sent: keystoneauth1's
    ConnectFailure too, but Nova may have carried it out."""
    return wrapped(ks_exc.ConnectFailure(
        "Unable to establish connection to http://nova:8774/v2.1/servers: "
        "('Connection aborted.', RemoteDisconnected('Remote end closed "
        "connection without response'))"))


class BuildOutageBase(tp.PromoterTestBase):
    """A simulated cloud whose create fails as a test says."""

    def setUp(self):
        super().setUp()
        self.sim = self.use_cloud([], promoter_preempts=False)
        self.creates = []
        self.calls = []
        self.real_create = self.sim.create
        self.failures = {}
        self.useFixture(tp.fixtures.MockPatchObject(
            self.sim, 'create', self.create))

    def create(self, project_id, name, flavor, count, min_count, **kwargs):
        """The cloud's create, which raises what ``self.failures`` says
        for the server name: before Nova takes it (``'before'``) or
        after (``'after'``: the answer was lost)."""
        self.creates.append(name)
        self.calls.append(((project_id, name, flavor, count, min_count),
                           kwargs))
        when, error = self.failures.get(name, (None, None))
        if when == 'before':
            raise error
        ids = self.real_create(project_id, name, flavor, count, min_count,
                               **kwargs)
        if when == 'after':
            raise error
        return ids

    def queue_group(self, project='physics'):
        """A request of two kinds of servers, all or nothing: a pair
        ("first") then one ("second")."""
        return pending_db.create_request(
            self.engine.db, self.ctx, project, 'user-' + project,
            [{'name': 'first', 'flavor': 'm1', 'image': 'img',
              'networks': [], 'count': 2},
             {'name': 'second', 'flavor': 'm1', 'image': 'img',
              'networks': [], 'count': 1}], all_or_nothing=True)

    def servers_of(self, project):
        return sorted(s.id for s in self.sim.cluster().servers.values()
                      if s.project_id == project)

    def stale(self):
        """Move the clock past [preemption] build_timeout."""
        self.now = actions_db.utcnow() + tp.datetime.timedelta(
            seconds=self.engine.conf.preemption.build_timeout + 1)


class TestBuildOutage(BuildOutageBase):

    def test_an_outage_mid_group_queues_it_again_in_its_place(self):
        group = self.queue_group()
        later = self.queue(project='chemistry', count=1)
        self.age(group, tp.datetime.timedelta(seconds=1))
        created_at = self.state(group)['created_at']
        self.failures['second'] = ('before', away())
        # The pass ends with the outage, for the engine's runner to log
        # once.
        self.assertRaises(driver_base.DriverError, self.promoter.promote)
        interrupted = self.state(group)
        self.assertEqual((pending_db.QUEUED, [], created_at),
                         (interrupted['state'], interrupted['server_ids'],
                          interrupted['created_at']))
        self.assertIn('the cloud was away', interrupted['reason'])
        # How Nova failed, not keystoneauth's text, which named its
        # internal endpoint (the reason is shown to the project's
        # members: GET /v1/pending).
        self.assertIn('(Nova could not be reached)', interrupted['reason'])
        self.assertNotIn('nova:8774', interrupted['reason'])
        # The pair built before the second kind failed is deleted.
        self.assertEqual(['first', 'second'], self.creates)
        self.assertEqual([], self.servers_of('physics'))
        # The request queued after it was not tried meanwhile, and the
        # group is still served first once the cloud is back.
        self.assertEqual(pending_db.QUEUED, self.state(later)['state'])
        self.failures.clear()
        done = self.promoter.promote()
        self.assertEqual([group['id'], later['id']], done['built'])
        self.assertEqual(3, len(self.servers_of('physics')))
        self.assertEqual(pending_db.ACTIVE, self.state(group)['state'])

    def test_servers_nova_took_before_its_answer_was_lost_are_kept(self):
        """A 502 does not tell whether Nova took the create: the request
        stays building, and the recovery finds it built after all."""
        group = self.queue_group()
        # Nova built the single server but its answer never came back (a
        # 502 of the proxy in front of it): the promoter does not know
        # its id; the cloud shows it with the request's metadata.
        self.failures['second'] = ('after', wrapped(ks_exc.BadGateway()))
        self.assertRaises(driver_base.DriverError, self.promoter.promote)
        self.assertEqual(pending_db.BUILDING, self.state(group)['state'])
        self.assertEqual(3, len(self.servers_of('physics')))
        self.failures.clear()
        self.stale()
        done = self.promoter.promote()
        self.assertEqual({group['id']: pending_db.ACTIVE}, done['recovered'])
        self.assertEqual(['first', 'second'], self.creates)
        self.assertEqual(self.servers_of('physics'),
                         sorted(self.state(group)['server_ids']))

    def test_servers_that_cannot_be_deleted_yet_keep_it_building(self):
        """Queued while its servers are still in the cloud, it would be
        built a second time next to them: it stays building, for the
        recovery of interrupted builds."""
        group = self.queue_group()
        self.failures['second'] = ('before', away())

        def delete(server_id):
            raise away()

        self.useFixture(tp.fixtures.MockPatchObject(
            self.sim, 'delete', delete))
        self.assertRaises(driver_base.DriverError, self.promoter.promote)
        self.assertEqual(pending_db.BUILDING, self.state(group)['state'])
        self.assertEqual(2, len(self.servers_of('physics')))
        # A later pass, before [preemption] build_timeout, does not build
        # it again.
        self.now = actions_db.utcnow()
        self.failures.clear()
        del self.creates[:]
        self.promoter.promote()
        self.assertEqual([], self.creates)
        self.assertEqual(2, len(self.servers_of('physics')))
        self.assertEqual(pending_db.BUILDING, self.state(group)['state'])

    def test_the_cloud_refusing_the_build_still_fails_it(self):
        for name, error in (
                ('quota', wrapped(ks_exc.Forbidden(
                    'Quota exceeded for instances'))),
                ('flavor', wrapped(ks_exc.BadRequest('Invalid flavorRef'))),
                ('fault', driver_base.DriverError(
                    'build of r-1 failed: {"code": 500, "message": '
                    '"Exceeded maximum number of retries"}'))):
            project = 'p-' + name
            group = self.queue_group(project)
            self.failures['second'] = ('before', error)
            done = self.promoter.promote()
            self.assertEqual([group['id']], done['failed'], name)
            failed = self.state(group)
            self.assertEqual(pending_db.FAILED, failed['state'], name)
            self.assertIn('The cloud refused the build', failed['reason'])
            # A refusal keeps Nova's message for its client.
            self.assertIn({'quota': ': Nova answered HTTP 403: "Quota '
                                    'exceeded for instances"',
                           'flavor': ': Nova answered HTTP 400: "Invalid '
                                     'flavorRef"',
                           'fault': ': build of r-1 failed'}[name],
                          failed['reason'])
            self.assertEqual([], self.servers_of(project), name)


class TestPoisonAndAmbiguousBuilds(BuildOutageBase):
    """Review findings: one request must not stall the queue, a build
    must not be undone or made twice by an error that says nothing of
    the servers."""

    def test_a_request_nova_answers_500_fails_at_the_limit(self):
        """A request answered 500 every time is queued again in its
        place each pass (the pass ends there), and fails at
        max_build_interruptions; the queue then moves on."""
        poison = self.queue_group()
        later = self.queue(project='chemistry', count=1)
        self.age(poison, tp.datetime.timedelta(seconds=1))
        self.failures['second'] = ('before', wrapped(
            ks_exc.InternalServerError('Unexpected API Error.')))
        most = self.engine.conf.preemption.max_build_interruptions
        for attempt in range(most):
            self.assertRaises(driver_base.DriverError, self.promoter.promote)
            self.assertEqual([], self.servers_of('physics'))
            self.assertEqual(pending_db.QUEUED if attempt < most - 1
                             else pending_db.FAILED,
                             self.state(poison)['state'])
            self.assertEqual(pending_db.QUEUED, self.state(later)['state'])
        failed = self.state(poison)
        self.assertIn('%d times' % most, failed['reason'])
        self.assertIn('the last: Nova answered HTTP 500;', failed['reason'])
        done = self.promoter.promote()
        self.assertEqual([later['id']], done['built'])
        self.assertEqual(pending_db.ACTIVE, self.state(later)['state'])
        self.assertEqual(['first', 'second'] * most + ['job'], self.creates)

    def test_a_500_blip_loses_nobody_their_place(self):
        """Keystone (or Nova) answering 500 for a moment, to every build
        of a pass: one request is queued again in its place, the pass
        ends; once the blip is over every request is built, in order."""
        requests = []
        for index in range(3):
            requests.append(self.queue(project='p%d' % index, count=1))
            self.age(requests[-1], tp.datetime.timedelta(seconds=3 - index))
        self.failures['job'] = ('before', wrapped(
            ks_exc.InternalServerError('Unexpected API Error.')))
        self.assertRaises(driver_base.DriverError, self.promoter.promote)
        self.assertEqual([pending_db.QUEUED] * 3,
                         [self.state(r)['state'] for r in requests])
        self.assertEqual(['job'], self.creates)
        self.failures.clear()
        done = self.promoter.promote()
        self.assertEqual(sorted(r['id'] for r in requests),
                         sorted(done['built']))
        self.assertEqual([], done['failed'])

    def test_a_build_interrupted_every_time_fails_after_the_limit(self):
        poison = self.queue_group()
        later = self.queue(project='chemistry', count=1)
        self.age(poison, tp.datetime.timedelta(seconds=1))
        # A proxy that refuses this request's second kind, every time.
        self.failures['second'] = ('before', away())
        most = self.engine.conf.preemption.max_build_interruptions
        for attempt in range(most):
            self.assertRaises(driver_base.DriverError, self.promoter.promote)
            self.assertEqual([], self.servers_of('physics'))
        failed = self.state(poison)
        self.assertEqual(pending_db.FAILED, failed['state'])
        self.assertIn('%d times' % most, failed['reason'])
        self.assertEqual(['first', 'second'] * most, self.creates)
        done = self.promoter.promote()
        self.assertEqual([later['id']], done['built'])
        self.assertEqual(pending_db.ACTIVE, self.state(later)['state'])

    def test_a_database_error_after_the_build_keeps_its_servers(self):
        request = self.queue(count=2, min_runtime=3600)
        real_record = guarantees_db.record
        calls = []

        def record(*args, **kwargs):
            calls.append(args)
            if len(calls) == 2:
                raise sqlalchemy.exc.OperationalError(
                    'INSERT', {}, sqlite3.OperationalError(
                        'database is locked'))
            return real_record(*args, **kwargs)

        self.useFixture(tp.fixtures.MockPatchObject(
            guarantees_db, 'record', record))
        self.assertRaises(sqlalchemy.exc.OperationalError,
                          self.promoter.promote)
        self.assertEqual(pending_db.BUILDING, self.state(request)['state'])
        built = self.servers_of('physics')
        self.assertEqual(2, len(built))
        # The recovery makes it active with the servers it has, and
        # their guarantee.
        self.stale()
        done = self.promoter.promote()
        self.assertEqual({request['id']: pending_db.ACTIVE},
                         done['recovered'])
        self.assertEqual(built, sorted(self.state(request)['server_ids']))
        self.assertEqual(built, self.servers_of('physics'))
        self.assertEqual(set(built), set(guarantees_db.current(
            self.engine.db, self.ctx, self.now)) & set(built))
        self.assertEqual(['job'], self.creates)

    def test_a_create_that_timed_out_is_not_built_twice(self):
        """keystoneauth1 reports a read timeout as ConnectTimeout; Nova
        may commit the create after any search for it."""
        request = self.queue(count=1)
        self.failures['job'] = ('before', wrapped(ks_exc.ConnectTimeout(
            'Request to http://nova:8774/v2.1/servers timed out')))
        self.assertRaises(driver_base.DriverError, self.promoter.promote)
        left = self.state(request)
        self.assertEqual(pending_db.BUILDING, left['state'])
        # Its reason, shown to the project's members, does not name
        # Nova's internal endpoint as keystoneauth's text did.
        self.assertIn('(Nova did not answer in time)', left['reason'])
        self.assertNotIn('nova:8774', left['reason'])
        # Nova's late commit of that create.
        args, kwargs = self.calls[-1]
        late = self.real_create(*args, **kwargs)
        self.failures.clear()
        # Passes before build_timeout leave it alone.
        self.now = actions_db.utcnow()
        self.promoter.promote()
        self.assertEqual(['job'], self.creates)
        self.stale()
        done = self.promoter.promote()
        self.assertEqual({request['id']: pending_db.ACTIVE},
                         done['recovered'])
        self.assertEqual(['job'], self.creates)
        self.assertEqual(late, self.servers_of('physics'))
        self.assertEqual(late, self.state(request)['server_ids'])

    def test_a_create_timed_out_and_never_taken_is_queued_again(self):
        request = self.queue(count=1)
        self.failures['job'] = ('before', wrapped(ks_exc.GatewayTimeout()))
        self.assertRaises(driver_base.DriverError, self.promoter.promote)
        self.failures.clear()
        self.stale()
        done = self.promoter.promote()
        self.assertEqual({request['id']: pending_db.QUEUED},
                         done['recovered'])
        self.assertEqual([request['id']], done['built'])
        self.assertEqual(1, len(self.servers_of('physics')))

    def test_a_late_server_of_a_requeued_build_is_deleted(self):
        """A server of an interrupted build that Nova made after the
        search for it (carrying the request's token) is deleted once the
        request is built; other servers of the project (a
        non-preemptible one, another request's) are left alone.  (A
        connection closed once the create was sent leaves the build for
        the recovery instead: see test_promoter_forged_tag.)"""
        other = self.queue(project='physics', count=1)
        self.assertEqual([other['id']], self.promoter.promote()['built'])
        own = self.real_create('physics', 'mine', 'm1', 1, 1, image='img',
                               networks=[])
        request = self.queue(count=1)
        del self.creates[:]
        self.failures['job'] = ('before', away())
        self.assertRaises(driver_base.DriverError, self.promoter.promote)
        self.assertEqual(pending_db.QUEUED, self.state(request)['state'])
        args, kwargs = self.calls[-1]
        late = self.real_create(*args, **kwargs)
        self.failures.clear()
        done = self.promoter.promote()
        self.assertEqual([request['id']], done['built'])
        ids = self.state(request)['server_ids']
        self.assertNotIn(late[0], ids)
        self.assertEqual(
            sorted(ids + own + self.state(other)['server_ids']),
            self.servers_of('physics'))
