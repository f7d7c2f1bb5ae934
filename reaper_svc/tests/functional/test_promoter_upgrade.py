"""What the promoter does with builds and servers of a previous release
or of another user of the project (the findings of a review of the
promoter)."""

import datetime
import types

from keystoneauth1 import exceptions as ks_exc

from reaper_svc.db import guarantees as guarantees_db
from reaper_svc.db import pending as pending_db
from reaper_svc import promoter as promoter_mod
from reaper_svc.tests.functional import test_promoter_build_outage as tb


class TestUpgrade(tb.BuildOutageBase):

    def test_building_request_of_previous_release_is_not_built_twice(self):
        """A request left building by the previous release (no build
        token) whose server carries only its id: queued again, it was
        built a second time next to that server.  It fails, the server
        left for an operator and named in the reason."""
        request = self.queue(count=1)
        self.assertTrue(pending_db.transition(
            self.engine.db, self.ctx, request['id'], pending_db.QUEUED,
            pending_db.BUILDING))
        old = self.real_create(
            'physics', 'job', 'm1', 1, 1, image='img', networks=[],
            metadata={promoter_mod.REQUEST_METADATA: request['id']})
        self.stale()
        done = self.promoter.promote()
        self.assertEqual({request['id']: pending_db.FAILED},
                         done['recovered'])
        self.assertEqual([], done['built'])
        self.assertEqual(old, self.servers_of('physics'))
        state = self.state(request)
        self.assertEqual(pending_db.FAILED, state['state'])
        self.assertIn(old[0], state['reason'])
        # A later pass neither builds it nor deletes the server.
        self.promoter.promote()
        self.assertEqual(old, self.servers_of('physics'))


class TestInterruptionsCounted(tb.BuildOutageBase):

    def test_an_interruption_whose_servers_cannot_be_looked_for_counts(self):
        """The cloud away during a build and still away when the
        promoter looks for what it built: the request stays building and
        the recovery settles it.  That interruption was not counted, so
        a build interrupted every time was queued again for ever; at
        ``[preemption] max_build_interruptions`` it now fails."""
        self.engine.conf.set_override('max_build_interruptions', 1,
                                      'preemption')
        request = self.queue(count=1)
        self.failures['job'] = ('before', tb.away())

        away = [True]
        real = self.sim.servers_with_metadata

        def servers_with_metadata(*args, **kwargs):
            if away:
                raise tb.away()
            return real(*args, **kwargs)

        self.useFixture(tb.tp.fixtures.MockPatchObject(
            self.sim, 'servers_with_metadata', servers_with_metadata))
        self.assertRaises(tb.driver_base.DriverError, self.promoter.promote)
        self.assertEqual(pending_db.BUILDING, self.state(request)['state'])
        self.failures.clear()
        away.clear()
        self.stale()
        done = self.promoter.promote()
        self.assertEqual({request['id']: pending_db.FAILED},
                         done['recovered'])
        self.assertEqual([], done['built'])
        self.assertEqual([], self.servers_of('physics'))


#: Another member of the request's project, as the simulated cloud takes
#: a user's session.
COLLEAGUE = types.SimpleNamespace(user_id='colleague')


class TestCopiedToken(tb.BuildOutageBase):
    """A member of the project reads the token off the promoter's
    servers of an interrupted build and copies it, with the request's
    id, onto a server they create after the build started."""

    def interrupted(self, **kwargs):
        """A request whose create Nova took but whose answer was lost
        (a 502): left building; the metadata of its servers."""
        request = self.queue(count=2, **kwargs)
        self.failures['job'] = ('after', tb.wrapped(ks_exc.BadGateway()))
        self.assertRaises(tb.driver_base.DriverError, self.promoter.promote)
        self.failures.clear()
        return request, self.calls[-1][1]['metadata']

    def forge(self, flavor, metadata, auth=COLLEAGUE):
        [server] = self.real_create('physics', 'forged', flavor, 1, 1,
                                    image='img', networks=[], auth=auth)
        for key, value in sorted(metadata.items()):
            self.sim.set_metadata(server, key, value)
        return server

    def test_a_colleagues_server_is_not_deleted(self):
        """The build fails (a server of it in ERROR): what it built is
        deleted, the colleague's non-preemptible server is not."""
        request, metadata = self.interrupted()
        own = self.servers_of('physics')
        precious = self.forge('m1', metadata)
        self.sim.set_status(own[0], 'ERROR')
        self.stale()
        done = self.promoter.promote()
        self.assertEqual({request['id']: pending_db.FAILED},
                         done['recovered'])
        self.assertEqual([precious], self.servers_of('physics'))

    def test_a_colleagues_preemptible_server_is_not_adopted(self):
        """The build succeeded after all: its servers are adopted and
        guaranteed, the colleague's preemptible server is not."""
        request, metadata = self.interrupted(min_runtime=3600)
        own = self.servers_of('physics')
        spot = self.forge('p1', metadata)
        self.stale()
        done = self.promoter.promote()
        self.assertEqual({request['id']: pending_db.ACTIVE},
                         done['recovered'])
        self.assertEqual(own, sorted(self.state(request)['server_ids']))
        guaranteed = guarantees_db.current(
            self.engine.db, self.ctx, now=datetime.datetime(2000, 1, 1))
        self.assertNotIn(spot, guaranteed)
        self.assertEqual(sorted(own + [spot]), self.servers_of('physics'))

    def test_no_more_servers_adopted_than_asked(self):
        """The remaining case: a server created as the user the promoter
        built as, after the build started (with a trust, the requester
        on their own request), carrying the token, is the promoter's as
        far as Nova tells.  Still, no more than the request asked for
        are adopted; the others are not guaranteed and, the build having
        been interrupted, the late-server sweep deletes them as it
        deletes a create Nova carried out late, which nothing the cloud
        shows tells them from."""
        request, metadata = self.interrupted(min_runtime=3600)
        own = self.servers_of('physics')
        # Created a minute after the promoter's servers (the simulated
        # cloud's clock is the test's).
        self.now += datetime.timedelta(minutes=1)
        extra = self.forge('p1', metadata, auth=None)
        self.stale()
        done = self.promoter.promote()
        self.assertEqual({request['id']: pending_db.ACTIVE},
                         done['recovered'])
        self.assertEqual(own, sorted(self.state(request)['server_ids']))
        self.assertEqual(own, self.servers_of('physics'))
        self.assertNotIn(extra, self.servers_of('physics'))
        guaranteed = guarantees_db.current(
            self.engine.db, self.ctx, now=datetime.datetime(2000, 1, 1))
        self.assertNotIn(extra, guaranteed)


class TestBuildUserUnknown(tb.BuildOutageBase):

    def test_keystone_away_leaves_it_queued(self):
        """The user the promoter builds as cannot be asked (Keystone
        away): nothing is built and the request stays queued, in its
        place, for the next pass."""
        request = self.queue(count=1)

        def creator(auth=None):
            raise tb.away()

        self.useFixture(tb.tp.fixtures.MockPatchObject(
            self.sim, 'creator', creator))
        self.assertRaises(tb.driver_base.DriverError, self.promoter.promote)
        self.assertEqual([], self.creates)
        self.assertEqual(pending_db.QUEUED, self.state(request)['state'])
