"""What the promoter does with builds and servers of a previous release
or of another user of the project (the findings of a review of the
promoter)."""

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
