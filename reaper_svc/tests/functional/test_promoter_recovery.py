"""Pending requests an engine left ``building`` (it stopped in the
middle of a build) are settled from what the simulated cloud shows, once
``[preemption] build_timeout`` has passed, and never built twice."""

import datetime
import threading
from unittest import mock

from reaper_svc.db import actions as actions_db
from reaper_svc.db import guarantees as guarantees_db
from reaper_svc.db import pending as pending_db
from reaper_svc import promoter as promoter_mod
from reaper_svc.tests.functional import test_promoter as tp
from reaper_svc.tests.functional import test_promoter_build_outage as tbo

TIMEOUT = 600


class EngineDied(Exception):
    """Stands for the engine process dying in the middle of a build."""


class TestRecovery(tp.PromoterTestBase):

    def setUp(self):
        super().setUp()
        # The database stamps state changes with the real time.
        self.now = actions_db.utcnow()
        self.sim = self.use_cloud([], build_timeout=TIMEOUT)
        self.creates = lambda: [e for e in self.sim.journal
                                if e[0] == 'create']

    def crash_build(self, after_create, request):
        """One pass of an engine that dies before or after Nova's create
        call: the request stays ``building``."""
        real_create = self.sim.create

        def create(*args, **kwargs):
            if not after_create:
                raise EngineDied()
            real_create(*args, **kwargs)
            raise EngineDied()

        self.sim.create = create
        self.assertRaises(EngineDied, self.promoter.promote)
        self.sim.create = real_create
        self.assertEqual(pending_db.BUILDING, self.state(request)['state'])

    def restart(self, seconds):
        """A new engine's promoter, ``seconds`` later."""
        self.now += datetime.timedelta(seconds=seconds)
        return promoter_mod.Promoter(self.engine.conf, self.engine.db,
                                     self.reaper, clock=lambda: self.now)

    def test_nothing_built_is_queued_again_and_built_once(self):
        request = self.queue(count=3)
        self.crash_build(False, request)
        # Before the timeout the request may still be building elsewhere.
        early = self.restart(TIMEOUT - 60).promote()
        self.assertEqual(({}, []), (early['recovered'], early['built']))
        self.assertEqual(pending_db.BUILDING, self.state(request)['state'])
        done = self.restart(120).promote()
        self.assertEqual({request['id']: pending_db.QUEUED},
                         done['recovered'])
        self.assertEqual([request['id']], done['built'])
        self.assertEqual(pending_db.ACTIVE, self.state(request)['state'])
        self.assertEqual(3, len(self.creates()))

    def test_servers_built_before_the_crash_make_it_active(self):
        request = self.queue(count=3)
        self.crash_build(True, request)
        made = sorted(e[1] for e in self.creates())
        self.assertEqual(3, len(made))
        done = self.restart(TIMEOUT + 1).promote()
        self.assertEqual({request['id']: pending_db.ACTIVE},
                         done['recovered'])
        self.assertEqual([], done['built'])
        settled = self.state(request)
        self.assertEqual((pending_db.ACTIVE, made),
                         (settled['state'], sorted(settled['server_ids'])))
        # Never built twice, however many passes follow.
        self.restart(TIMEOUT + 1).promote()
        self.assertEqual(3, len(self.creates()))

    def test_a_recovered_build_keeps_its_whole_guaranteed_runtime(self):
        """The engine died after Nova's create, before it recorded the
        servers' guarantee: the pass that finds them active guarantees
        them for min_runtime from then (their build ended at some time
        before, which nothing recorded), not from the start of the build,
        which took that long off their guaranteed runtime."""
        request = self.queue(count=2, min_runtime=3600)
        real_create = self.sim.create

        def create(*args, **kwargs):
            kwargs['on_created'] = None
            real_create(*args, **kwargs)
            raise EngineDied()

        self.sim.create = create
        self.assertRaises(EngineDied, self.promoter.promote)
        self.sim.create = real_create
        made = [e[1] for e in self.creates()]
        promoter = self.restart(TIMEOUT + 1)
        found_at = self.now
        self.assertEqual({request['id']: pending_db.ACTIVE},
                         promoter.promote()['recovered'])
        guarantees = guarantees_db.current(self.engine.db, self.ctx,
                                           now=found_at)
        self.assertEqual(sorted(made), sorted(guarantees))
        for server_id in made:
            self.assertGreaterEqual(
                guarantees[server_id],
                found_at + datetime.timedelta(seconds=3600))

    def test_a_server_in_error_fails_the_group(self):
        request = self.queue(count=3)
        self.crash_build(True, request)
        made = [e[1] for e in self.creates()]
        self.sim.set_status(made[0], 'ERROR')
        done = self.restart(TIMEOUT + 1).promote()
        self.assertEqual({request['id']: pending_db.FAILED},
                         done['recovered'])
        self.assertEqual(pending_db.FAILED, self.state(request)['state'])
        # All or nothing: what was found is deleted, nothing rebuilt.
        self.assertEqual(sorted(made), sorted(
            e[1] for e in self.sim.journal if e[0] == 'delete'))
        self.assertEqual(3, len(self.creates()))

    def test_a_server_its_user_stopped_is_built(self):
        """The engine died after Nova's create, and the user stopped
        the server before the recovery looked: it was failed and its
        server deleted (only ACTIVE servers were taken for built).  A
        stopped (or paused, suspended) server of its own is built: the
        request is active with it, guaranteed, and it is left stopped."""
        for status in ('SHUTOFF', 'PAUSED', 'SUSPENDED'):
            request = self.queue(count=1, min_runtime=3600)
            before = len(self.creates())
            self.crash_build(True, request)
            made = [e[1] for e in self.creates()[before:]]
            self.sim.set_status(made[0], status)
            promoter = self.restart(TIMEOUT + 1)
            done = promoter.promote()
            self.assertEqual({request['id']: pending_db.ACTIVE},
                             done['recovered'], status)
            self.assertEqual(made, self.state(request)['server_ids'])
            self.assertEqual(status, self.sim.server_state(made[0])['status'])
            self.assertIn(made[0], guarantees_db.current(
                self.engine.db, self.ctx, now=self.now))
            self.assertEqual([], [e for e in self.sim.journal
                                  if e[0] == 'delete'])

    def test_a_request_not_all_or_nothing_keeps_its_stopped_servers(self):
        """Two servers, as many as fit: the user stopped one before the
        recovery looked.  Both are its servers; the one in ERROR of a
        third is deleted (as the driver's create deletes them), not left
        in the user's quota, unmanaged."""
        request = self.queue(count=3, all_or_nothing=False)
        self.crash_build(True, request)
        made = [e[1] for e in self.creates()]
        self.sim.set_status(made[1], 'SHUTOFF')
        self.sim.set_status(made[2], 'ERROR')
        done = self.restart(TIMEOUT + 1).promote()
        self.assertEqual({request['id']: pending_db.ACTIVE},
                         done['recovered'])
        self.assertEqual(sorted(made[:2]),
                         sorted(self.state(request)['server_ids']))
        self.assertEqual([made[2]], [e[1] for e in self.sim.journal
                                     if e[0] == 'delete'])
        self.assertEqual(sorted(made[:2]), sorted(
            s.id for s in self.sim.cluster().servers.values()))

    def test_a_group_short_of_a_kind_is_queued_again(self):
        """Not all or nothing, two kinds ("web", then "db"): the engine
        died after the first kind's create.  A build is at least one of
        each kind (one whose later kind finds no room is queued again,
        what it built deleted): it was made active with the web servers
        only, and the user never had a db.  It is queued again in its
        place, what was built deleted, and then built whole once."""
        request = pending_db.create_request(
            self.engine.db, self.ctx, 'physics', 'user-physics',
            [{'name': 'web', 'flavor': 'm1', 'image': 'img',
              'networks': [], 'count': 2},
             {'name': 'db', 'flavor': 'm1', 'image': 'img',
              'networks': [], 'count': 1}], all_or_nothing=False)
        self.crash_build(True, request)
        made = [e[1] for e in self.creates()]
        self.assertEqual(2, len(made))
        promoter = self.restart(TIMEOUT + 1)
        self.assertEqual({request['id']: pending_db.QUEUED},
                         promoter.recover(self.now))
        self.assertEqual(sorted(made), sorted(
            e[1] for e in self.sim.journal if e[0] == 'delete'))
        self.assertIn(
            'Queued again: its build was interrupted before any server of '
            'servers/1 ("db") was built', self.state(request)['reason'])
        self.assertEqual([request['id']], promoter.promote()['built'])
        active = self.state(request)
        self.assertEqual(pending_db.ACTIVE, active['state'])
        names = sorted(self.sim.server_state(i)['name'].split('-')[0]
                       for i in active['server_ids'])
        self.assertEqual(['db', 'web', 'web'], names)

    def test_a_group_stopped_between_kinds_is_queued_again(self):
        """All or nothing, two kinds: the engine died (a restart) after
        the first kind's create.  The request was failed, what it built
        deleted, and the user lost its place for the restart.  Nothing
        of the second kind was made: it is queued again, as a build
        whose later kind finds no room, and built whole."""
        request = pending_db.create_request(
            self.engine.db, self.ctx, 'physics', 'user-physics',
            [{'name': 'web', 'flavor': 'm1', 'image': 'img',
              'networks': [], 'count': 2},
             {'name': 'db', 'flavor': 'm1', 'image': 'img',
              'networks': [], 'count': 1}], all_or_nothing=True)
        self.crash_build(True, request)
        made = [e[1] for e in self.creates()]
        done = self.restart(TIMEOUT + 1).promote()
        self.assertEqual({request['id']: pending_db.QUEUED},
                         done['recovered'])
        self.assertEqual([request['id']], done['built'])
        active = self.state(request)
        self.assertEqual(pending_db.ACTIVE, active['state'])
        self.assertEqual(sorted(active['server_ids']),
                         sorted(self.sim.cluster().servers))
        self.assertEqual([], sorted(set(made) & set(active['server_ids'])))
        names = sorted(self.sim.server_state(i)['name'].split('-')[0]
                       for i in active['server_ids'])
        self.assertEqual(['db', 'web', 'web'], names)

    def test_a_group_with_a_failed_server_still_fails(self):
        """The same, but a server of the first kind is in ERROR: the
        cloud failed the build, which fails as before."""
        request = pending_db.create_request(
            self.engine.db, self.ctx, 'physics', 'user-physics',
            [{'name': 'web', 'flavor': 'm1', 'image': 'img',
              'networks': [], 'count': 2},
             {'name': 'db', 'flavor': 'm1', 'image': 'img',
              'networks': [], 'count': 1}], all_or_nothing=True)
        self.crash_build(True, request)
        made = [e[1] for e in self.creates()]
        self.sim.set_status(made[0], 'ERROR')
        done = self.restart(TIMEOUT + 1).promote()
        self.assertEqual({request['id']: pending_db.FAILED},
                         done['recovered'])
        self.assertEqual([], list(self.sim.cluster().servers))

    def test_two_engines_settling_one_request_build_it_once(self):
        """Two engines' recoveries read one stale request (a new
        leader's pass while the old leader's still runs).  The first
        finds nothing in the cloud, queues it again and builds it; the
        second, from what it read before, found nothing either and
        queued it again in the middle of that build: the build was
        taken, its servers left to nobody, and the request built a
        second time.  Read building, it is moved only if it has not
        moved since."""
        request = self.queue(count=2)
        self.crash_build(False, request)
        first = self.restart(TIMEOUT + 1)
        second = promoter_mod.Promoter(self.engine.conf, self.engine.db,
                                       self.reaper, clock=lambda: self.now)
        before = self.now - datetime.timedelta(seconds=TIMEOUT)
        read = pending_db.stale_building(self.engine.db, self.ctx, before)
        self.assertEqual([request['id']], [r['id'] for r in read])
        real_create = self.sim.create
        settled = []

        def create(*args, **kwargs):
            # The first engine builds it: the second settles what it
            # read before.
            self.assertEqual(pending_db.BUILDING,
                             self.state(request)['state'])
            with mock.patch.object(pending_db, 'stale_building',
                                   lambda *a: read):
                settled.append(second.recover(self.now))
            return real_create(*args, **kwargs)

        self.sim.create = create
        done = first.promote()
        self.sim.create = real_create
        first.promote()
        # Built once: its two servers, the request active with them.
        self.assertEqual(2, len(self.sim.cluster().servers))
        built = self.state(request)
        self.assertEqual(pending_db.ACTIVE, built['state'])
        self.assertEqual(sorted(built['server_ids']), sorted(
            self.sim.cluster().servers))
        self.assertEqual([request['id']], done['built'])
        self.assertEqual([{}], settled)

    def test_an_engine_listing_during_anothers_build_deletes_nothing(self):
        """The second engine's recovery read the request stuck (left
        building for twice build_timeout) and lists the cloud while the
        first engine, which queued it again, builds it: it found that
        build's servers still in BUILD, took them for stuck and deleted
        them, and the request became active with servers gone.  Read
        again after the listing, a request that moved is left."""
        request = self.queue(count=2)
        self.crash_build(False, request)
        first = self.restart(2 * TIMEOUT + 1)
        second = promoter_mod.Promoter(self.engine.conf, self.engine.db,
                                       self.reaper, clock=lambda: self.now)
        before = self.now - datetime.timedelta(seconds=TIMEOUT)
        read = pending_db.stale_building(self.engine.db, self.ctx, before)
        real_create = self.sim.create

        def create(*args, **kwargs):
            ids = real_create(*args, **kwargs)
            for server_id in ids:
                self.sim.set_status(server_id, 'BUILD')
            with mock.patch.object(pending_db, 'stale_building',
                                   lambda *a: read):
                second.recover(self.now)
            for server_id in ids:
                self.sim.set_status(server_id, 'ACTIVE')
            return ids

        self.sim.create = create
        self.assertEqual([request['id']], first.promote()['built'])
        self.sim.create = real_create
        built = self.state(request)
        self.assertEqual(pending_db.ACTIVE, built['state'])
        self.assertEqual(sorted(built['server_ids']), sorted(
            self.sim.cluster().servers))
        self.assertEqual(2, len(built['server_ids']))

    def test_a_build_outlasting_the_timeout_does_not_take_the_next(self):
        """All or nothing, two kinds: the old leader's create of "db"
        returns only after build_timeout.  Meanwhile the new leader's
        recovery found "web" whole and nothing of "db": it queued the
        request again, what was built deleted, and builds it.  The old
        leader's build, ending while that one runs, moved the request
        active on the state only, with its own servers (its "web"
        deleted), and the new build was taken.  Its moves compare the
        updated_at its start wrote: the request is the new build's."""
        request = pending_db.create_request(
            self.engine.db, self.ctx, 'physics', 'user-physics',
            [{'name': 'web', 'flavor': 'm1', 'image': 'img',
              'networks': [], 'count': 1},
             {'name': 'db', 'flavor': 'm1', 'image': 'img',
              'networks': [], 'count': 1}], all_or_nothing=True)
        old = self.promoter
        real_create = self.sim.create
        blocked, release = threading.Event(), threading.Event()
        outcome = {}

        def create(project_id, name, *args, **kwargs):
            if threading.current_thread() is thread and name == 'db':
                blocked.set()
                self.assertTrue(release.wait(30))
            ids = real_create(project_id, name, *args, **kwargs)
            if threading.current_thread() is not thread and name == 'db':
                # The new leader's build, mid-way: the old one's create
                # returns now, and its build ends.
                release.set()
                thread.join(30)
            return ids

        def run_old():
            outcome.update(old.promote())

        self.sim.create = create
        thread = threading.Thread(target=run_old)
        thread.start()
        try:
            self.assertTrue(blocked.wait(30))
            new = self.restart(TIMEOUT + 1)
            done = new.promote()
        finally:
            release.set()
            thread.join(30)
            self.sim.create = real_create
        self.assertEqual({request['id']: pending_db.QUEUED},
                         done['recovered'])
        self.assertEqual([request['id']], done['built'])
        self.assertEqual([request['id']], outcome['taken'])
        active = self.state(request)
        self.assertEqual(pending_db.ACTIVE, active['state'])
        servers = self.sim.cluster().servers
        self.assertEqual([], [i for i in active['server_ids']
                              if i not in servers])
        names = sorted(self.sim.server_state(i)['name'].split('-')[0]
                       for i in active['server_ids'])
        self.assertEqual(['db', 'web'], names)

    def test_a_late_interrupted_build_deletes_not_the_next_ones(self):
        """The same, but the old leader's create of "db" ends refused
        (Nova away: never received) while the new leader builds the
        request.  Its clean-up deleted every server of its own the cloud
        showed, the new build's among them (one token), and queued the
        request again: the new build was taken, its servers gone.  The
        request moved since that build started: nothing is deleted."""
        request = pending_db.create_request(
            self.engine.db, self.ctx, 'physics', 'user-physics',
            [{'name': 'web', 'flavor': 'm1', 'image': 'img',
              'networks': [], 'count': 1},
             {'name': 'db', 'flavor': 'm1', 'image': 'img',
              'networks': [], 'count': 1}], all_or_nothing=True)
        old = self.promoter
        real_create = self.sim.create
        blocked, release = threading.Event(), threading.Event()
        outcome = []

        def create(project_id, name, *args, **kwargs):
            if threading.current_thread() is thread and name == 'db':
                blocked.set()
                self.assertTrue(release.wait(30))
                raise tbo.away()
            ids = real_create(project_id, name, *args, **kwargs)
            if threading.current_thread() is not thread and name == 'db':
                release.set()
                thread.join(30)
            return ids

        def run_old():
            try:
                old.promote()
            except Exception as exc:
                outcome.append(exc)

        self.sim.create = create
        thread = threading.Thread(target=run_old)
        thread.start()
        try:
            self.assertTrue(blocked.wait(30))
            done = self.restart(TIMEOUT + 1).promote()
        finally:
            release.set()
            thread.join(30)
            self.sim.create = real_create
        self.assertEqual(1, len(outcome))
        self.assertEqual([request['id']], done['built'])
        active = self.state(request)
        self.assertEqual(pending_db.ACTIVE, active['state'])
        servers = self.sim.cluster().servers
        self.assertEqual([], [i for i in active['server_ids']
                              if i not in servers])
        names = sorted(self.sim.server_state(i)['name'].split('-')[0]
                       for i in active['server_ids'])
        self.assertEqual(['db', 'web'], names)

    def test_servers_still_building_in_the_cloud_wait(self):
        request = self.queue(count=2)
        self.crash_build(True, request)
        for server_id in [e[1] for e in self.creates()]:
            self.sim.set_status(server_id, 'BUILD')
        done = self.restart(TIMEOUT + 1).promote()
        self.assertEqual({}, done['recovered'])
        self.assertEqual(pending_db.BUILDING, self.state(request)['state'])

    def test_servers_stuck_building_fail_the_request(self):
        """Servers still in BUILD twice build_timeout after the build
        started (their compute host died) left the request building for
        good: counted against the project's cap of pending requests, its
        trust kept, checked again at every pass."""
        request = self.queue(count=2)
        self.crash_build(True, request)
        made = [e[1] for e in self.creates()]
        self.sim.set_status(made[0], 'BUILD')
        done = self.restart(2 * TIMEOUT + 1).promote()
        self.assertEqual({request['id']: pending_db.FAILED},
                         done['recovered'])
        failed = self.state(request)
        self.assertEqual(pending_db.FAILED, failed['state'])
        self.assertIn('still building', failed['reason'])
        self.assertEqual(sorted(made), sorted(
            e[1] for e in self.sim.journal if e[0] == 'delete'))
        self.assertEqual(2, len(self.creates()))

    def test_other_servers_of_the_project_are_not_taken_for_it(self):
        request = self.queue(count=1)
        self.sim.create('physics', 'job', 'm1', 1, 1)
        self.crash_build(False, request)
        done = self.restart(TIMEOUT + 1).promote()
        self.assertEqual({request['id']: pending_db.QUEUED},
                         done['recovered'])
        self.assertEqual(pending_db.ACTIVE, self.state(request)['state'])
        self.assertEqual(2, len(self.creates()))


class TestRecoveryPostgreSQL(TestRecovery):
    """The same on PostgreSQL, whose clock (and so ``updated_at``, which
    a move of the recovery compares with the one it read) has
    microseconds."""

    def database_url(self):
        return self.useFixture(tp.postgresql.Database()).url
