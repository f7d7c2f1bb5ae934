"""Servers a user tagged with a pending request's id are not the
promoter's.

The promoter took as a request's own, to delete or adopt, any server of
the project whose metadata said ``arbiter:pending_request=<request
id>``.  A member can set that on any server of the project (``openstack
server set --property``) and read the project's request ids: the reaper
then deleted a colleague's non-preemptible server with its own
credentials, or guaranteed a preemptible one.  Only the servers that
carry the request's secret build token are its own; the others are left
alone through every path: an outage that queues the request again, its
build after interruptions, the recovery of a build left building, and
the clean-up of a request that ended after interruptions.
"""

from keystoneauth1 import exceptions as ks_exc

from reaper_svc.db import guarantees as guarantees_db
from reaper_svc.db import pending as pending_db
from reaper_svc.drivers import base as driver_base
from reaper_svc import promoter as promoter_mod
from reaper_svc.tests.functional import test_promoter_build_outage as tb


class TestForgedTag(tb.BuildOutageBase):

    def tag(self, request, flavor, name):
        """A server a member made (long before, or just now) and tagged
        with ``request``'s id, as ``openstack server set --property``
        does on any server of the project."""
        return self.real_create(
            'physics', name, flavor, 1, 1, image='img', networks=[],
            metadata={promoter_mod.REQUEST_METADATA: request['id']})[0]

    def tagged(self, request):
        """A non-preemptible and a preemptible server, both tagged."""
        return [self.tag(request, 'm1', 'precious'),
                self.tag(request, 'p1', 'spot')]

    def guaranteed(self):
        return set(guarantees_db.current(self.engine.db, self.ctx,
                                         now=tb.tp.datetime.datetime(2000, 1,
                                                                     1)))

    def test_an_outage_requeue_leaves_tagged_servers(self):
        request = self.queue(count=1)
        victims = self.tagged(request)
        self.failures['job'] = ('before', tb.away())
        self.assertRaises(driver_base.DriverError, self.promoter.promote)
        self.assertEqual(pending_db.QUEUED, self.state(request)['state'])
        self.assertEqual(sorted(victims), self.servers_of('physics'))

    def test_a_500_requeue_leaves_tagged_servers(self):
        request = self.queue(count=1)
        victims = self.tagged(request)
        self.failures['job'] = ('before', tb.wrapped(
            ks_exc.InternalServerError('Unexpected API Error.')))
        self.assertRaises(driver_base.DriverError, self.promoter.promote)
        self.assertEqual(pending_db.QUEUED, self.state(request)['state'])
        self.assertEqual(sorted(victims), self.servers_of('physics'))

    def test_the_build_after_interruptions_leaves_tagged_servers(self):
        request = self.queue(count=1)
        self.failures['job'] = ('before', tb.away())
        self.assertRaises(driver_base.DriverError, self.promoter.promote)
        self.assertEqual(pending_db.QUEUED, self.state(request)['state'])
        # After the interruption, a member tags two servers.
        victims = self.tagged(request)
        # And Nova's late create of the interrupted build: the
        # promoter's own orphan.
        args, kwargs = self.calls[-1]
        late = self.real_create(*args, **kwargs)
        self.failures.clear()
        done = self.promoter.promote()
        self.assertEqual([request['id']], done['built'])
        built = self.state(request)['server_ids']
        self.assertEqual(sorted(victims + built), self.servers_of('physics'))
        self.assertNotIn(late[0], self.servers_of('physics'))

    def test_the_recovery_adopts_no_tagged_server(self):
        request = self.queue(count=1, min_runtime=3600)
        # 502: Nova may have taken it; left building, nothing made.
        self.failures['job'] = ('before', tb.wrapped(ks_exc.BadGateway()))
        self.assertRaises(driver_base.DriverError, self.promoter.promote)
        self.assertEqual(pending_db.BUILDING, self.state(request)['state'])
        victims = self.tagged(request)
        self.failures.clear()
        self.stale()
        done = self.promoter.promote()
        # Nothing of its own in the cloud: queued again, then built.
        self.assertEqual({request['id']: pending_db.QUEUED},
                         done['recovered'])
        self.assertEqual([request['id']], done['built'])
        built = self.state(request)['server_ids']
        self.assertEqual(1, len(built))
        self.assertNotIn(built[0], victims)
        self.assertEqual(sorted(victims + built), self.servers_of('physics'))
        self.assertEqual(set(), self.guaranteed() & set(victims))

    def test_the_recovery_deletes_no_tagged_server(self):
        """A build left building whose own servers are not all active is
        failed and its servers deleted: the tagged ones are not."""
        request = self.queue(count=2)
        self.failures['job'] = ('after', tb.wrapped(ks_exc.BadGateway()))
        self.assertRaises(driver_base.DriverError, self.promoter.promote)
        own = self.servers_of('physics')
        self.assertEqual(2, len(own))
        self.sim.set_status(own[0], 'ERROR')
        victims = self.tagged(request)
        self.failures.clear()
        self.stale()
        done = self.promoter.promote()
        self.assertEqual(pending_db.FAILED, done['recovered'][request['id']])
        self.assertEqual(sorted(victims), self.servers_of('physics'))

    def test_the_token_is_never_shown(self):
        request = self.queue(count=1)
        self.promoter.promote()
        shown = pending_db.get_request(self.engine.db, self.ctx,
                                       request['id'])
        self.assertNotIn('build_token', shown)
        token = self.calls[-1][1]['metadata'][promoter_mod.TOKEN_METADATA]
        self.assertGreaterEqual(len(token), 32)
        self.assertNotIn(token, repr(shown))


class TestLateServersOfEndedRequests(tb.BuildOutageBase):
    """A create whose connection broke after it was sent may have been
    carried out: it is left building (the recovery settles it), and a
    request that ends after interruptions has the servers its builds
    left deleted."""

    def test_a_connection_closed_after_the_post_is_left_building(self):
        request = self.queue(count=1)
        self.failures['job'] = ('before', tb.reset())
        self.assertRaises(driver_base.DriverError, self.promoter.promote)
        self.assertEqual(pending_db.BUILDING, self.state(request)['state'])
        args, kwargs = self.calls[-1]
        late = self.real_create(*args, **kwargs)
        self.failures.clear()
        self.stale()
        done = self.promoter.promote()
        self.assertEqual({request['id']: pending_db.ACTIVE},
                         done['recovered'])
        self.assertEqual(late, self.state(request)['server_ids'])
        self.assertEqual(['job'], self.creates)

    def test_a_late_server_of_a_withdrawn_request_is_deleted(self):
        request = self.queue(count=1)
        self.failures['job'] = ('before', tb.wrapped(
            ks_exc.InternalServerError('Unexpected API Error.')))
        self.assertRaises(driver_base.DriverError, self.promoter.promote)
        self.assertEqual(pending_db.QUEUED, self.state(request)['state'])
        # Nova made the server after all, after the search for it.
        args, kwargs = self.calls[-1]
        late = self.real_create(*args, **kwargs)
        victim = self.real_create(
            'physics', 'precious', 'm1', 1, 1, image='img', networks=[],
            metadata={promoter_mod.REQUEST_METADATA: request['id']})
        pending_db.cancel_request(self.engine.db, self.ctx, request['id'])
        self.failures.clear()
        self.promoter.promote()
        self.assertEqual(victim, self.servers_of('physics'))
        self.assertNotIn(late[0], self.servers_of('physics'))

    def test_a_late_server_of_a_request_failed_at_the_limit_is_deleted(self):
        request = self.queue(count=1)
        self.failures['job'] = ('before', tb.away())
        most = self.engine.conf.preemption.max_build_interruptions
        for attempt in range(most):
            self.assertRaises(driver_base.DriverError, self.promoter.promote)
        self.assertEqual(pending_db.FAILED, self.state(request)['state'])
        args, kwargs = self.calls[-1]
        late = self.real_create(*args, **kwargs)
        self.failures.clear()
        self.promoter.promote()
        self.assertEqual([], self.servers_of('physics'))
        self.assertNotIn(late[0], self.servers_of('physics'))


class TestCopiedToken(tb.BuildOutageBase):
    """The token can be read on the servers built for the request (their
    metadata is their owner's to read): copied onto a server created
    before the request's first build, it does not make it the
    request's."""

    def test_an_older_server_with_the_copied_token_is_left(self):
        # A colleague's server, from an hour before.
        self.now = tb.tp.T0 - tb.tp.datetime.timedelta(hours=1)
        [older] = self.real_create('physics', 'precious', 'm1', 1, 1,
                                   image='img', networks=[])
        self.now = tb.tp.T0
        request = self.queue(count=2)
        # 502 once Nova took it: left building, its servers there.
        self.failures['job'] = ('after', tb.wrapped(ks_exc.BadGateway()))
        self.assertRaises(driver_base.DriverError, self.promoter.promote)
        metadata = self.calls[-1][1]['metadata']
        for key, value in sorted(metadata.items()):
            self.sim.set_metadata(older, key, value)
        # Non-ASCII metadata on another server breaks nothing.
        [odd] = self.real_create('physics', 'odd', 'm1', 1, 1,
                                 image='img', networks=[])
        self.sim.set_metadata(odd, promoter_mod.REQUEST_METADATA,
                              request['id'])
        self.sim.set_metadata(odd, promoter_mod.TOKEN_METADATA, 'jeton é')
        own = sorted(set(self.servers_of('physics')) - {older, odd})
        self.assertEqual(2, len(own))
        self.failures.clear()
        self.stale()
        done = self.promoter.promote()
        self.assertEqual({request['id']: pending_db.ACTIVE},
                         done['recovered'])
        self.assertEqual(own, sorted(self.state(request)['server_ids']))
        self.assertIn(older, self.servers_of('physics'))
        self.assertIn(odd, self.servers_of('physics'))
