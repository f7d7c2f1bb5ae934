"""Property-based runs of the image family service's server counts: Nova
notifications of random servers' lives (created on an image, rebuilt
onto others, deleted), delivered in any order and some twice
(redeliveries, two engine hosts of one pool), each with the time Nova
sent it.  Once all are delivered, no image counts fewer servers than
run from it, and asking for the deletion of every image deletes none
that a running server uses (it waits, ``pending_delete``).  The same
holds for builds, counted from their ``instance.create.start`` (failed,
rescheduled, ended), and rebuilds from their ``instance.rebuild.start``,
on SQLite and PostgreSQL, with the drain passed.  Servers may also hold
volumes made from images (of the same family, the one they run from or
others), which a usage reconciliation run at any point of the delivery
finds through Cinder: every image a server runs from or holds a volume
of is counted, once."""

import datetime
import os
import threading
import time

import fixtures
import hypothesis
from hypothesis import strategies as st
from oslo_config import cfg
import sqlalchemy as sa
import testtools

from image_family_svc.conf import image_family as image_family_conf
from image_family_svc.conf import nova as nova_conf
from image_family_svc.db import families
from image_family_svc.db import members
from image_family_svc.db import reconcile as reconcile_db
from image_family_svc.db import usage
from image_family_svc import lifecycle as lc
from image_family_svc import listeners
from image_family_svc import service
from image_family_svc.tests.functional import test_usage_reconcile as doubles
from image_family_svc import usage_reconcile
from svc_common import context
from svc_common.db import migration
from svc_common.tests.fixtures import backends

IMAGES = ['img-%d' % n for n in range(4)]
T0 = datetime.datetime(2030, 1, 1, 12, 0, 0)


@st.composite
def lives(draw):
    """The notifications of 1 to 4 servers' lives, in the order Nova sent
    them: ``(kind, server, image, sent)``."""
    sent = []
    clock = [T0]

    def tick():
        clock[0] += datetime.timedelta(seconds=draw(st.integers(1, 600)))
        return clock[0]

    for n in range(draw(st.integers(1, 4))):
        server = 'vm-%d' % n
        sent.append(('create', server, draw(st.sampled_from(IMAGES)),
                     tick()))
        for _ in range(draw(st.integers(0, 3))):
            sent.append(('rebuild', server, draw(st.sampled_from(IMAGES)),
                         tick()))
        if draw(st.booleans()):
            sent.append(('delete', server, None, tick()))
    sent.sort(key=lambda event: event[3])
    return sent


def running(sent):
    """``{image: servers}`` that run from each image once every
    notification of ``sent`` happened."""
    counts = {}
    for image in runs_from(sent).values():
        counts[image] = counts.get(image, 0) + 1
    return counts


def runs_from(sent, gone=('delete',)):
    """``{server: image}`` of the servers that run (or build) once every
    notification of ``sent`` happened."""
    where = {}
    for kind, server, image, _at in sent:
        if kind in gone:
            where.pop(server, None)
        else:
            where[server] = image
    return where


def used(where, volumes):
    """``{image: servers}`` that run from each image (``where``) or hold
    a volume made from it (``volumes``: ``{server: images}``), once."""
    users = {}
    for server, image in where.items():
        users.setdefault(image, set()).add(server)
        for made_from in volumes.get(server, ()):
            users.setdefault(made_from, set()).add(server)
    return {image: len(servers) for image, servers in users.items()}


def volumes_of(servers):
    """A strategy: ``{server: images}`` its volumes were made from, 0 to
    2 per server."""
    return st.fixed_dictionaries({
        server: st.sets(st.sampled_from(IMAGES), max_size=2)
        for server in sorted(servers)})


def reconciler(db, where, volumes, prefix=''):
    """A usage reconciliation whose Nova lists the servers of ``where``
    (``{server: image}``) and whose Cinder the volumes of those servers
    (``volumes``), ids prefixed with ``prefix``."""
    conf = cfg.ConfigOpts()
    image_family_conf.register_opts(conf)
    nova_conf.register_opts(conf)
    conf([], default_config_files=[])
    conf.set_override('enabled', 'true', 'cinder')
    conf.set_override('obsolete_drain_seconds', 0, 'image_family')
    by_image = {}
    for server, image in where.items():
        by_image.setdefault(prefix + image, []).append(prefix + server)
    return usage_reconcile.Reconciler(
        conf, db, nova=doubles.nova_double(by_image),
        cinder=doubles.cinder_double([
            doubles.volume(prefix + image, prefix + server)
            for server in sorted(where)
            for image in sorted(volumes.get(server, ()))]))


class TestServerCounts(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.ctx = context.admin_context()
        self.runs = 0

    def fresh_database(self):
        self.runs += 1
        url = 'sqlite:///%s' % os.path.join(self.tmp,
                                            'run-%d.db' % self.runs)
        migration.upgrade(service.SPEC, url)
        db = backends.database_at(self, url)
        families.create_family(db, self.ctx, 'fam', None, 'public', {})
        for image in IMAGES:
            members.join(db, self.ctx, 'fam', image, image[-1], {},
                         state=lc.ACTIVE)
        return db

    @hypothesis.settings(max_examples=60, deadline=None,
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(lives(), st.data())
    def test_counts_and_deletions(self, sent, data):
        db = self.fresh_database()
        # Delivered in any order, some twice (with the same message id).
        delivery = data.draw(st.permutations(
            list(range(len(sent))) + data.draw(st.lists(
                st.integers(0, len(sent) - 1), max_size=4))))
        for index in delivery:
            kind, server, image, at = sent[index]
            metadata = {'message_id': 'm-%d' % index,
                        'timestamp': at.isoformat(' ')}
            stamp = listeners.sent_at(metadata)
            if kind == 'create':
                usage.server_created(db, self.ctx, server, image, 'nova',
                                     metadata['message_id'], sent_at=stamp)
            elif kind == 'rebuild':
                usage.server_rebuilt(db, self.ctx, server, image, 'nova',
                                     metadata['message_id'], sent_at=stamp)
            else:
                usage.server_deleted(db, self.ctx, server, 'nova',
                                     metadata['message_id'])
        truth = running(sent)
        for image in IMAGES:
            counted, _at = usage.servers_of(db, self.ctx, image)
            self.assertGreaterEqual(counted, truth.get(image, 0), image)
            members.request_transition(db, self.ctx, image, lc.OBSOLETE)
            _scheduled, _events = members.request_transition(
                db, self.ctx, image, lc.DELETED)
            state = members.get_image(db, self.ctx, image).row.state
            if truth.get(image):
                self.assertEqual(lc.PENDING_DELETE, state, image)


class TestServerCountsWithVolumes(TestServerCounts):
    """:class:`TestServerCounts` with servers that hold volumes made
    from images, and a reconciliation at a random point of the
    delivery."""

    @hypothesis.settings(max_examples=60, deadline=None,
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(lives(), st.data())
    def test_counts_and_deletions(self, sent, data):
        db = self.fresh_database()
        where = runs_from(sent)
        volumes = data.draw(volumes_of(where))
        delivery = data.draw(st.permutations(
            list(range(len(sent))) + data.draw(st.lists(
                st.integers(0, len(sent) - 1), max_size=4))))
        reconcile_at = data.draw(st.integers(0, len(delivery)))
        for position, index in enumerate(delivery + [None]):
            if position == reconcile_at:
                reconciler(db, where, volumes).run()
            if index is None:
                break
            kind, server, image, at = sent[index]
            message_id = 'm-%d' % index
            if kind == 'create':
                usage.server_created(db, self.ctx, server, image, 'nova',
                                     message_id, sent_at=at)
            elif kind == 'rebuild':
                usage.server_rebuilt(db, self.ctx, server, image, 'nova',
                                     message_id, sent_at=at)
            else:
                usage.server_deleted(db, self.ctx, server, 'nova',
                                     message_id)
        truth = used(where, volumes)
        for image in IMAGES:
            counted, _at = usage.servers_of(db, self.ctx, image)
            self.assertGreaterEqual(counted, truth.get(image, 0), image)
            members.request_transition(db, self.ctx, image, lc.OBSOLETE)
            members.request_transition(db, self.ctx, image, lc.DELETED)
            state = members.get_image(db, self.ctx, image).row.state
            if truth.get(image):
                self.assertEqual(lc.PENDING_DELETE, state, image)
        # Nova and Cinder say the same again, once every notification
        # is in: the counts are exact.
        reconciler(db, where, volumes).run()
        self.assertEqual({i: truth.get(i, 0) for i in IMAGES},
                         {i: usage.servers_of(db, self.ctx, i)[0]
                          for i in IMAGES})


@st.composite
def builds(draw):
    """The notifications of 1 to 4 servers' lives from their build's
    start, in the order Nova sent them: ``(kind, server, image, sent)``.
    A build may fail on a host (``error``) and be rescheduled on another
    (a new ``start``), or fail for good; clocks of the hosts may differ
    by less than the time between two of these notifications."""
    sent = []
    clock = [T0]

    def tick():
        clock[0] += datetime.timedelta(seconds=draw(st.integers(1, 600)))
        return clock[0]

    for n in range(draw(st.integers(1, 4))):
        server = 'vm-%d' % n
        image = draw(st.sampled_from(IMAGES))
        sent.append(('start', server, image, tick()))
        failed = False
        for _ in range(draw(st.integers(0, 2))):
            sent.append(('error', server, None, tick()))
            failed = not draw(st.booleans())
            if failed:
                break
            sent.append(('start', server, image, tick()))
        if not failed:
            if draw(st.booleans()):
                sent.append(('end', server, image, tick()))
            for _ in range(draw(st.integers(0, 2))):
                rebuilt_onto = draw(st.sampled_from(IMAGES))
                sent.append(('rebuild_start', server, rebuilt_onto, tick()))
                if draw(st.booleans()):
                    sent.append(('rebuild', server, rebuilt_onto, tick()))
        if draw(st.booleans()):
            sent.append(('delete', server, None, tick()))
    sent.sort(key=lambda event: event[3])
    return sent


class _BuildCounts(object):
    """A build counts for its image from ``instance.create.start``: with
    the drain passed, asking the deletion of every image deletes none
    that a server builds or runs from, whatever the order and repetition
    of the notifications."""

    def setUp(self):
        super().setUp()
        url = self.database_url()
        migration.upgrade(service.SPEC, url)
        self.db = backends.database_at(self, url)
        self.ctx = context.admin_context()
        self.runs = 0
        conf = cfg.ConfigOpts()
        image_family_conf.register_opts(conf)
        conf([], default_config_files=[])
        conf.set_override('obsolete_drain_seconds', 0, 'image_family')
        self.nova = listeners.NovaEndpoint(conf, self.db)

    def fresh_family(self):
        """A family of its own for each example, with images and servers
        of their own (the database is the test's)."""
        self.runs += 1
        prefix = 'r%d-' % self.runs
        families.create_family(self.db, self.ctx, prefix + 'fam', None,
                               'public', {})
        for image in IMAGES:
            members.join(self.db, self.ctx, prefix + 'fam', prefix + image,
                         image[-1], {}, state=lc.ACTIVE)
        return prefix

    @hypothesis.settings(max_examples=40, deadline=None,
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(builds(), st.data())
    def test_no_image_deleted_under_a_build(self, sent, data):
        prefix = self.fresh_family()
        # The servers built (or building), and the volumes they hold:
        # a failed build's server holds none.
        where = runs_from(sent, gone=('delete', 'error'))
        volumes = data.draw(volumes_of(where))
        delivery = data.draw(st.permutations(
            list(range(len(sent))) + data.draw(st.lists(
                st.integers(0, len(sent) - 1), max_size=4))))
        reconcile_at = data.draw(st.integers(0, len(delivery)))
        event_types = {'start': 'instance.create.start',
                       'end': 'instance.create.end',
                       'error': 'instance.create.error',
                       'rebuild_start': 'instance.rebuild.start',
                       'rebuild': 'instance.rebuild.end',
                       'delete': 'instance.delete.end'}
        for position, index in enumerate(delivery + [None]):
            if position == reconcile_at:
                reconciler(self.db, where, volumes, prefix).run()
            if index is None:
                break
            kind, server, image, at = sent[index]
            payload = {'nova_object.data': {
                'uuid': prefix + server,
                'image_uuid': prefix + image if image else ''}}
            self.nova.info({}, 'nova-compute:host', event_types[kind],
                           payload,
                           {'message_id': '%sm-%d' % (prefix, index),
                            'timestamp': at.isoformat(' ')})
        truth = used(where, volumes)
        for image in IMAGES:
            counted, _at = usage.servers_of(self.db, self.ctx,
                                            prefix + image)
            self.assertGreaterEqual(counted, truth.get(image, 0), image)
            members.request_transition(self.db, self.ctx, prefix + image,
                                       lc.OBSOLETE, drain=0)
            members.request_transition(self.db, self.ctx, prefix + image,
                                       lc.DELETED, drain=0)
            state = members.get_image(self.db, self.ctx,
                                      prefix + image).row.state
            if truth.get(image):
                self.assertEqual(lc.PENDING_DELETE, state, image)


class TestBuildCountsSQLite(_BuildCounts, backends.OnSQLite,
                            testtools.TestCase):
    pass


class TestBuildCountsPostgreSQL(_BuildCounts, backends.OnPostgreSQL,
                                testtools.TestCase):
    pass


class TestRebuildsDuringReconciliationsPostgreSQL(
        backends.OnPostgreSQL, testtools.TestCase):
    """Servers that hold a volume made from img-1 are rebuilt back and
    forth between img-0 and img-1 (on several engine hosts at once)
    while reconciliations record their volumes: whatever the
    interleaving, each counts once for img-1 (its volume) and once for
    the image it last runs from, and neither image is deleted."""

    SERVERS = 6

    def setUp(self):
        super().setUp()
        url = self.database_url()
        migration.upgrade(service.SPEC, url)
        self.db = backends.database_at(self, url)
        self.ctx = context.admin_context()
        families.create_family(self.db, self.ctx, 'fam', None, 'public',
                               {})
        for image in IMAGES[:2]:
            members.join(self.db, self.ctx, 'fam', image, image[-1], {},
                         state=lc.ACTIVE)
        self.servers = ['vm-%d' % n for n in range(self.SERVERS)]
        for server in self.servers:
            usage.server_created(self.db, self.ctx, server, 'img-0',
                                 sent_at=T0)

    def test_counts_stay_exact(self):
        volumes = {server: {'img-1'} for server in self.servers}
        errors = []
        barrier = threading.Barrier(len(self.servers) + 1)

        def rebuilds(server):
            try:
                barrier.wait()
                for n in range(1, 9):
                    usage.server_rebuilt(
                        self.db, self.ctx, server, IMAGES[n % 2],
                        sent_at=T0 + datetime.timedelta(seconds=n))
            except Exception as exc:  # reported below
                errors.append(exc)

        def reconciliations():
            try:
                barrier.wait()
                for _ in range(4):
                    # Nova's list of each image is of no use here (the
                    # servers move meanwhile): their volumes only.
                    for image in IMAGES[:2]:
                        reconcile_db.set_servers(
                            self.db, self.ctx, image, (), datetime.datetime(
                                2000, 1, 1),
                            from_volumes={s for s, i in volumes.items()
                                          if image in i},
                            volumes_listed_at=T0)
            except Exception as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=rebuilds, args=(s,))
                   for s in self.servers]
        threads.append(threading.Thread(target=reconciliations))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual([], errors)
        # The last rebuild of each (n = 8) was onto img-0.
        self.assertEqual(
            {'img-0': self.SERVERS, 'img-1': self.SERVERS},
            {i: usage.servers_of(self.db, self.ctx, i)[0]
             for i in IMAGES[:2]})
        self.assertEqual(
            [self.SERVERS, self.SERVERS],
            [usage.count_rows(self.db, self.ctx, i) for i in IMAGES[:2]])
        for image in IMAGES[:2]:
            members.request_transition(self.db, self.ctx, image,
                                       lc.OBSOLETE, drain=0)
            members.request_transition(self.db, self.ctx, image,
                                       lc.DELETED, drain=0)
            self.assertEqual(lc.PENDING_DELETE, members.get_image(
                self.db, self.ctx, image).row.state, image)


class _LockRace(backends.OnPostgreSQL, testtools.TestCase):
    """A write held uncommitted on a connection of the test's own while a
    call of the service waits for its lock, then committed."""

    def setUp(self):
        super().setUp()
        self.url = self.database_url()
        migration.upgrade(service.SPEC, self.url)
        self.db = backends.database_at(self, self.url)
        self.ctx = context.admin_context()
        self.engine = sa.create_engine(self.url)
        self.addCleanup(self.engine.dispose)

    def run_while_held(self, transaction, call):
        """Run ``call`` in a thread; once it waits for a lock (or ended),
        commit ``transaction``; ``call`` must then end without error."""
        failures = []

        def run():
            try:
                call()
            except Exception as exc:  # reported below
                failures.append(exc)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        with self.engine.connect() as conn:
            for _ in range(600):
                if conn.execute(sa.text(
                        'SELECT count(*) FROM pg_locks WHERE NOT granted'
                )).scalar() or not thread.is_alive():
                    break
                time.sleep(0.1)
        transaction.commit()
        thread.join(60)
        self.assertFalse(thread.is_alive())
        self.assertEqual([], failures)

    def assert_not_deleted(self, image_id):
        """Asked to go, ``image_id`` waits for its servers."""
        members.request_transition(self.db, self.ctx, image_id,
                                   lc.OBSOLETE, drain=0)
        members.request_transition(self.db, self.ctx, image_id,
                                   lc.DELETED, drain=0)
        self.assertEqual(lc.PENDING_DELETE, members.get_image(
            self.db, self.ctx, image_id).row.state)


class TestReconciliationMovesOffAnImageBeingCountedPostgreSQL(_LockRace):
    """The reconciliation of img-a finds vm-1, recorded as running from
    img-b (of another family), running from img-a, while vm-2's
    ``instance.create.start`` on img-b is being applied (review of
    5850e6a)."""

    def setUp(self):
        super().setUp()
        for name, image in (('fam-a', 'img-a'), ('fam-b', 'img-b')):
            families.create_family(self.db, self.ctx, name, None,
                                   'public', {})
            members.join(self.db, self.ctx, name, image, '1', {},
                         state=lc.ACTIVE)
        usage.server_created(self.db, self.ctx, 'vm-1', 'img-b')

    def test_the_server_created_meanwhile_stays_counted(self):
        listed_at = reconcile_db.database_now(self.db, self.ctx)
        # vm-2's create.start, written and not committed yet (as
        # usage.server_created writes it, under fam-b's lock).
        creating = self.engine.connect()
        self.addCleanup(creating.close)
        transaction = creating.begin()
        creating.execute(sa.text(
            "SELECT id FROM families WHERE name = 'fam-b' FOR UPDATE"))
        creating.execute(sa.text(
            "INSERT INTO image_servers (server_id, image_id, source, "
            "created_at) VALUES ('vm-2', 'img-b', 'nova', now())"))
        creating.execute(sa.text(
            "UPDATE image_usage SET servers = servers + 1 WHERE "
            "image_id = 'img-b'"))

        def reconcile():
            reconcile_db.set_servers(self.db, self.ctx, 'img-a',
                                     {'vm-1'}, listed_at, drain=0)

        self.run_while_held(transaction, reconcile)
        # vm-1 counts for img-a, vm-2 for img-b...
        self.assertEqual((1, 1), (usage.servers_of(self.db, self.ctx,
                                                   'img-a')[0],
                                  usage.servers_of(self.db, self.ctx,
                                                   'img-b')[0]))
        # ... which is not deleted under it.
        self.assert_not_deleted('img-b')


class TestRebuildRacingADeletionPostgreSQL(_LockRace):
    """vm-1's ``instance.rebuild.end`` (onto img-1) is applied while its
    ``instance.delete.end`` is (redelivered late, or on another engine
    host): the rebuild read vm-1's row before the deletion committed
    (review of 5850e6a)."""

    def setUp(self):
        super().setUp()
        families.create_family(self.db, self.ctx, 'fam', None, 'public',
                               {})
        for image in IMAGES[:2]:
            members.join(self.db, self.ctx, 'fam', image, image[-1], {},
                         state=lc.ACTIVE)
        for server in ('vm-1', 'vm-2'):
            usage.server_created(self.db, self.ctx, server, 'img-0',
                                 sent_at=T0)

    def test_the_image_left_is_not_counted_down_twice(self):
        # vm-1's deletion, written and not committed yet (as
        # usage.server_deleted writes it, under the family's lock).
        deleting = self.engine.connect()
        self.addCleanup(deleting.close)
        transaction = deleting.begin()
        deleting.execute(sa.text(
            "SELECT id FROM families WHERE name = 'fam' FOR UPDATE"))
        deleting.execute(sa.text(
            "DELETE FROM image_servers WHERE server_id = 'vm-1'"))
        deleting.execute(sa.text(
            "UPDATE image_usage SET servers = servers - 1 WHERE "
            "image_id = 'img-0'"))

        def rebuild():
            usage.server_rebuilt(
                self.db, self.ctx, 'vm-1', 'img-1',
                sent_at=T0 + datetime.timedelta(seconds=1))

        self.run_while_held(transaction, rebuild)
        # vm-2 still runs from img-0...
        self.assertEqual(1, usage.servers_of(self.db, self.ctx,
                                             'img-0')[0])
        # ... which is not deleted under it.
        self.assert_not_deleted('img-0')


class TestDeletionRacingAReconciliationPostgreSQL(_LockRace):
    """vm-1's ``instance.delete.end`` is applied while a reconciliation
    that listed it (before its deletion) running from img-a moves its
    row off img-b, of another family (review of 5850e6a)."""

    def setUp(self):
        super().setUp()
        for name, image in (('fam-a', 'img-a'), ('fam-b', 'img-b')):
            families.create_family(self.db, self.ctx, name, None,
                                   'public', {})
            members.join(self.db, self.ctx, name, image, '1', {},
                         state=lc.ACTIVE)
        for server in ('vm-1', 'vm-2'):
            usage.server_created(self.db, self.ctx, server, 'img-b')

    def test_the_image_left_is_not_counted_down_twice(self):
        # The reconciliation of img-a, written and not committed yet (as
        # reconcile.set_servers writes it, under fam-a's lock).
        moving = self.engine.connect()
        self.addCleanup(moving.close)
        transaction = moving.begin()
        moving.execute(sa.text(
            "SELECT id FROM families WHERE name = 'fam-a' FOR UPDATE"))
        moving.execute(sa.text(
            "UPDATE image_servers SET image_id = 'img-a' WHERE server_id "
            "= 'vm-1' AND source = 'nova'"))
        moving.execute(sa.text(
            "UPDATE image_usage SET servers = servers - 1 WHERE "
            "image_id = 'img-b'"))

        def delete():
            usage.server_deleted(self.db, self.ctx, 'vm-1', drain=0)

        self.run_while_held(transaction, delete)
        # vm-2 still runs from img-b...
        self.assertEqual(1, usage.servers_of(self.db, self.ctx,
                                             'img-b')[0])
        # ... which is not deleted under it.
        self.assert_not_deleted('img-b')
