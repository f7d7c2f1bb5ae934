"""The drain before an obsolete image is deleted.

A server counts for its image from its build's start on a compute host
(``instance.create.start``), but Nova's scheduler admitted it earlier,
possibly before the image became obsolete (the Nova filter also reuses a
"may boot" answer for 30 s).  Deletion asked of an obsolete image that no
server was counted on yet deleted it at once, under a server still
building from it.  It now waits until the image has been obsolete for
``[image_family] obsolete_drain_seconds``; a build slower than that
counts from its start (only its ``instance.create.end`` counted it
before) until its server is deleted or the build fails, and a rebuild
counts for its new image from its start (``instance.rebuild.start``).
"""

import datetime

import sqlalchemy as sa

from image_family_svc.cmd import engine
from image_family_svc.db import models
from image_family_svc import listeners
from image_family_svc.tests.functional import base
from image_family_svc.tests.functional import test_engine
from svc_common.db import database
from svc_common.tests.fixtures import postgresql

DRAIN = 600


class _ObsoleteDrain(object):

    def setUp(self):
        self.OVERRIDES = dict(self.OVERRIDES)
        self.OVERRIDES[('image_family', 'obsolete_drain_seconds')] = DRAIN
        super().setUp()
        self.family('centos-7')
        self.add('centos-7', 'img-1', '7.1', state='active')
        self.add('centos-7', 'img-2', '7.2', state='active')
        self.db = database.Database(self.fixture.conf)
        self.addCleanup(self.db.dispose)
        self.notifier = test_engine.RecordingNotifier()
        self.nova = listeners.NovaEndpoint(self.fixture.conf, self.db,
                                           self.notifier)

    def nova_event(self, event_type, server_id, image_id, sent=None):
        metadata = test_engine.meta()
        if sent is not None:
            metadata['timestamp'] = sent.isoformat(' ')
        # As oslo.messaging's dispatcher does: the filter first.
        self.assertTrue(self.nova.filter_rule.match(
            {}, 'nova-compute:host', event_type, {}, metadata))
        self.nova.info({}, 'nova-compute:host', event_type,
                       test_engine.nova_payload(server_id, image_id),
                       metadata)

    def sweep(self):
        return engine.apply_schedule(self.db, drain=DRAIN)

    def obsolete_for(self, seconds):
        """Move img-1's times back as if it had gone obsolete (and been
        asked deleted) ``seconds`` ago."""
        back = datetime.timedelta(seconds=seconds)
        # In Python: SQLite has no arithmetic on its stored times.
        with self.db.engine.begin() as connection:
            for table, column in ((models.Transition, 'at'),
                                  (models.FamilyImage, 'state_changed_at')):
                key = sa.inspect(table).primary_key[0]
                for row_id, at in connection.execute(sa.select(
                        key, getattr(table, column)).where(
                        table.image_id == 'img-1')).all():
                    connection.execute(sa.update(table).where(
                        key == row_id).values({column: at - back}))

    def obsolete_and_ask_deleted(self):
        self.move('img-1', 'obsolete')
        answer = self.move('img-1', 'deleted')['image']
        self.assertEqual(('pending_delete', 0),
                         (answer['state'], answer['usage']['servers']))

    def test_server_admitted_before_obsolete_keeps_its_image(self):
        # vm-1 was admitted by the Nova filter while img-1 was active;
        # its instance.create.end comes after the deletion was asked.
        self.obsolete_and_ask_deleted()
        self.sweep()
        self.assertEqual('pending_delete', self.image('img-1')['state'])
        # Another server counted and gone before the drain: no deletion.
        self.nova_event('instance.create.end', 'vm-0', 'img-1')
        self.nova_event('instance.delete.end', 'vm-0', 'img-1')
        self.assertEqual('pending_delete', self.image('img-1')['state'])
        self.nova_event('instance.create.end', 'vm-1', 'img-1')
        self.assertEqual(1, self.image('img-1')['usage']['servers'])
        # Drained, but used: kept, and a new ask is refused as before.
        self.obsolete_for(DRAIN + 1)
        self.sweep()
        self.assertEqual('pending_delete', self.image('img-1')['state'])
        resp = self.move('img-1', 'deleted', status=409)
        self.assertEqual(1, resp['errors'][0]['servers'])
        # Its last server gone after the drain: deleted.
        self.nova_event('instance.delete.end', 'vm-1', 'img-1')
        self.assertEqual('deleted', self.image('img-1')['state'])
        self.assertEqual(('pending_delete', 'deleted', 'usage'),
                         (self.notifier.sent[-1][1]['from_state'],
                          self.notifier.sent[-1][1]['to_state'],
                          self.notifier.sent[-1][1]['cause']))

    def test_slow_build_started_before_obsolete_keeps_its_image(self):
        # vm-1's build started (its compute host downloads img-1) before
        # the deletion was asked, and takes longer than the drain.
        self.nova_event('instance.create.start', 'vm-1', 'img-1')
        self.assertEqual(1, self.image('img-1')['usage']['servers'])
        self.move('img-1', 'obsolete')
        self.assertEqual('pending_delete', self.move(
            'img-1', 'deleted')['image']['state'])
        self.obsolete_for(DRAIN + 1)
        self.assertEqual([], self.sweep())
        self.assertEqual('pending_delete', self.image('img-1')['state'])
        # Its end counts the same server, once.
        self.nova_event('instance.create.end', 'vm-1', 'img-1')
        self.assertEqual(1, self.image('img-1')['usage']['servers'])
        self.assertEqual([], self.sweep())
        self.nova_event('instance.delete.end', 'vm-1', 'img-1')
        self.assertEqual('deleted', self.image('img-1')['state'])

    def test_slow_rebuild_onto_an_image_keeps_it(self):
        # vm-1 runs from img-2; its rebuild onto img-1 started (its
        # compute host downloads img-1) before img-1's deletion was
        # asked, and takes longer than the drain.
        self.nova_event('instance.create.end', 'vm-1', 'img-2')
        self.nova_event('instance.rebuild.start', 'vm-1', 'img-1')
        self.assertEqual((1, 0), (self.image('img-1')['usage']['servers'],
                                  self.image('img-2')['usage']['servers']))
        self.move('img-1', 'obsolete')
        self.move('img-1', 'deleted')
        self.obsolete_for(DRAIN + 1)
        self.assertEqual([], self.sweep())
        self.assertEqual('pending_delete', self.image('img-1')['state'])
        self.nova_event('instance.rebuild.end', 'vm-1', 'img-1')
        self.assertEqual(1, self.image('img-1')['usage']['servers'])
        self.nova_event('instance.delete.end', 'vm-1', None)
        self.assertEqual('deleted', self.image('img-1')['state'])

    def test_failed_build_stops_counting(self):
        self.nova_event('instance.create.start', 'vm-1', 'img-1')
        self.move('img-1', 'obsolete')
        self.move('img-1', 'deleted')
        self.obsolete_for(DRAIN + 1)
        self.nova_event('instance.create.error', 'vm-1', 'img-1')
        self.assertEqual('deleted', self.image('img-1')['state'])

    def test_error_of_a_rescheduled_build_delivered_late_is_stale(self):
        # vm-1 failed on host-1 and Nova rebuilt it on host-2; host-2's
        # start came first: the error changes nothing.
        t0 = datetime.datetime(2030, 1, 1, 12, 0, 0)
        second = datetime.timedelta(seconds=1)
        self.nova_event('instance.create.start', 'vm-1', 'img-1', t0)
        self.nova_event('instance.create.start', 'vm-1', 'img-1',
                        t0 + 3 * second)
        self.nova_event('instance.create.error', 'vm-1', 'img-1',
                        t0 + 2 * second)
        self.move('img-1', 'obsolete')
        self.move('img-1', 'deleted')
        self.obsolete_for(DRAIN + 1)
        self.assertEqual([], self.sweep())
        self.assertEqual(('pending_delete', 1),
                         (self.image('img-1')['state'],
                          self.image('img-1')['usage']['servers']))

    def test_unused_image_is_deleted_by_the_sweep_after_the_drain(self):
        self.obsolete_and_ask_deleted()
        resp = self.move('img-1', 'deleted', status=409)
        self.assertEqual('image_family.invalid_transition',
                         resp['errors'][0]['code'])
        self.assertIn('drain', resp['errors'][0]['detail'])
        self.obsolete_for(DRAIN - 60)
        self.assertEqual([], self.sweep())
        self.assertEqual('pending_delete', self.image('img-1')['state'])
        self.obsolete_for(61)
        events = self.sweep()
        self.assertEqual([('img-1', 'deleted')],
                         [(e.payload['image_id'], e.payload['to_state'])
                          for e in events])
        self.assertEqual('deleted', self.image('img-1')['state'])

    def test_image_obsolete_long_ago_is_deleted_when_asked(self):
        self.move('img-1', 'obsolete')
        self.obsolete_for(DRAIN + 1)
        self.assertEqual('deleted', self.move(
            'img-1', 'deleted')['image']['state'])

    def test_made_obsolete_again_restarts_the_drain(self):
        # Bootable again in between: servers may have been admitted.
        self.move('img-1', 'obsolete')
        self.obsolete_for(DRAIN + 1)
        self.move('img-1', 'active')
        self.move('img-1', 'obsolete')
        self.assertEqual('pending_delete', self.move(
            'img-1', 'deleted')['image']['state'])


class TestObsoleteDrainSQLite(_ObsoleteDrain, base.ApiTestCase):
    pass


class TestObsoleteDrainPostgreSQL(_ObsoleteDrain, base.ApiTestCase):

    def setUp(self):
        url = self.useFixture(postgresql.Database()).url
        self.OVERRIDES = {('database', 'connection'): url}
        super().setUp()
