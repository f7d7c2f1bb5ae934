"""The cloud goes away while the promoter builds a pending request.

Nova (or Keystone, Placement) unreachable, answering 5xx or timing out
in the middle of a build failed the request for good, though the same
build would succeed once the cloud was back, and the user had to queue
it again, behind everyone queued meanwhile.  It is queued again in its
place, nothing of it left in the cloud; the cloud refusing the build
(quota, a bad flavor, a fault) still fails it.
"""

from keystoneauth1 import exceptions as ks_exc

from reaper_svc.db import actions as actions_db
from reaper_svc.db import pending as pending_db
from reaper_svc.drivers import base as driver_base
from reaper_svc import promoter as promoter_mod
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


def away():
    return wrapped(ks_exc.ConnectFailure(
        'Unable to establish connection to http://nova:8774/v2.1/servers'))


class TestBuildOutage(tp.PromoterTestBase):

    def setUp(self):
        super().setUp()
        self.sim = self.use_cloud([], promoter_preempts=False)
        self.creates = []
        self.real_create = self.sim.create
        self.failures = {}
        self.useFixture(tp.fixtures.MockPatchObject(
            self.sim, 'create', self.create))

    def create(self, project_id, name, flavor, count, min_count, **kwargs):
        """The cloud's create, which raises what ``self.failures`` says
        for the server name: before Nova takes it (``'before'``) or
        after (``'after'``: the answer was lost)."""
        self.creates.append(name)
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
        self.assertIn('Unable to establish connection',
                      interrupted['reason'])
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

    def test_servers_nova_took_before_its_answer_was_lost_are_deleted(self):
        group = self.queue_group()
        # Nova built the single server but its answer never came back (a
        # 502 of the proxy in front of it): the promoter does not know
        # its id; the cloud shows it with the request's metadata.
        self.failures['second'] = ('after', wrapped(ks_exc.BadGateway()))
        self.assertRaises(driver_base.DriverError, self.promoter.promote)
        self.assertEqual(pending_db.QUEUED, self.state(group)['state'])
        self.assertEqual([], self.servers_of('physics'))
        self.assertEqual([], self.sim.servers_with_metadata(
            'physics', promoter_mod.REQUEST_METADATA, group['id']))

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
            self.assertEqual([], self.servers_of(project), name)
