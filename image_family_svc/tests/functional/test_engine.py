"""image-family-engine's listeners and sweep, driven with the
notifications Glance and Nova send (endpoints called as oslo.messaging
calls them); a redelivered notification changes nothing."""

import datetime
import uuid

import fixtures
import sqlalchemy as sa

from image_family_svc.cmd import engine
from image_family_svc.db import models
from image_family_svc import listeners
from image_family_svc import properties_schema
from image_family_svc.tests.functional import base
from svc_common.db import database
from svc_common.tests.functional import api_fixture as af

OWN = af.identity(['member', 'reader'], 'p1')


class RecordingNotifier(object):
    def __init__(self):
        self.sent = []

    def info(self, ctxt, event_type, payload):
        self.sent.append((event_type, payload))


def meta():
    return {'message_id': str(uuid.uuid4()), 'timestamp': 'now'}


def glance_payload(image_id, **properties):
    """Glance's payload of a public image (an administrator's) that
    names family centos-7 (system-owned in these tests)."""
    return {'id': image_id, 'status': 'active', 'name': image_id,
            'visibility': 'public',
            'properties': dict(base.PROPS, arbiter_family='centos-7',
                               **properties)}


def nova_payload(server_id, image_id):
    return {'nova_object.data': {'uuid': server_id, 'image_uuid': image_id}}


class TestListeners(base.ApiTestCase):

    def setUp(self):
        super().setUp()
        self.family('centos-7')
        self.db = database.Database(self.fixture.conf)
        self.addCleanup(self.db.dispose)
        self.notifier = RecordingNotifier()
        self.glance = listeners.GlanceEndpoint(self.fixture.conf, self.db,
                                               self.notifier)
        self.nova = listeners.NovaEndpoint(self.fixture.conf, self.db,
                                           self.notifier)

    def glance_event(self, event_type, payload, metadata=None):
        return self.glance.info({}, 'image.localhost', event_type, payload,
                                metadata or meta())

    def nova_event(self, event_type, server_id, image_id, metadata=None):
        return self.nova.info({}, 'nova-compute:host', event_type,
                              nova_payload(server_id, image_id),
                              metadata or meta())

    def test_image_joins_from_glance_and_leaves_on_delete(self):
        self.glance_event('image.create', glance_payload('img-1',
                                                         os_version='7.9'))
        image = self.image('img-1')
        self.assertEqual(('centos-7', '7.9', 'testing'),
                         (image['family'], image['version'],
                          image['state']))
        self.assertEqual(['image_family.membership.join'],
                         [e for e, _ in self.notifier.sent])
        # update/activate of a member change nothing.
        self.glance_event('image.update', glance_payload('img-1'))
        self.glance_event('image.delete', {'id': 'img-1'})
        self.app.get('/v1/images/img-1', headers=base.ADMIN, status=404)
        self.assertEqual('image_family.membership.leave',
                         self.notifier.sent[-1][0])

    def test_image_without_required_properties_does_not_join(self):
        payload = {'id': 'img-1', 'properties': {
            'arbiter_family': 'centos-7', 'os_distro': 'centos'}}
        self.glance_event('image.create', payload)
        self.app.get('/v1/images/img-1', headers=base.ADMIN, status=404)

    def test_projects_family_takes_the_projects_images_only(self):
        # Another project's image (or one Glance names no owner of)
        # announced with the family's name stays out: its lifecycle
        # would hide and delete it with the service's credentials.
        self.family('own', headers=OWN)
        for image_id, owner in (('img-1', 'p2'), ('img-2', None),
                                ('img-3', 'p1')):
            payload = glance_payload(image_id)
            payload['properties']['arbiter_family'] = 'own'
            if owner:
                payload['owner'] = owner
            self.glance_event('image.create', payload)
        self.app.get('/v1/images/img-1', headers=base.ADMIN, status=404)
        self.app.get('/v1/images/img-2', headers=base.ADMIN, status=404)
        self.assertEqual('own', self.image('img-3')['family'])
        # A system-owned family takes any project's public image (only
        # an administrator makes one), no other: any project may set the
        # family property on its own images.
        self.glance_event('image.create', dict(
            glance_payload('img-4'), owner='p2'))
        self.assertEqual('centos-7', self.image('img-4')['family'])
        for image_id, visibility in (('img-5', 'private'),
                                     ('img-6', 'community'),
                                     ('img-7', None)):
            self.glance_event('image.create', dict(
                glance_payload(image_id), owner='p2',
                visibility=visibility))
            self.app.get('/v1/images/%s' % image_id, headers=base.ADMIN,
                         status=404)
        # Glance's older is_public says so too.
        payload = dict(glance_payload('img-8'), owner='p2', is_public=True)
        del payload['visibility']
        self.glance_event('image.create', payload)
        self.assertEqual('centos-7', self.image('img-8')['family'])

    def test_an_image_given_to_another_project_leaves_its_family(self):
        # Glance lets an administrator give an image to another project
        # (its owner changes).  The image stayed in the first project's
        # family, whose members went on moving it, hiding it and at the
        # end deleting it with the service's credentials: another
        # project's image.
        self.family('own', headers=OWN)
        for image_id in ('img-1', 'img-2', 'img-3'):
            payload = dict(glance_payload(image_id), owner='p1')
            payload['properties']['arbiter_family'] = 'own'
            self.glance_event('image.create', payload)
        self.move('img-2', 'active', headers=OWN)
        self.notifier.sent[:] = []
        for image_id, owner in (('img-1', 'p2'), ('img-2', 'p2'),
                                ('img-3', 'p1')):
            payload = dict(glance_payload(image_id), owner=owner)
            payload['properties']['arbiter_family'] = 'own'
            self.glance_event('image.update', payload)
        self.app.get('/v1/images/img-1', headers=OWN, status=404)
        self.app.get('/v1/images/img-2', headers=OWN, status=404)
        self.assertEqual('own', self.image('img-3', headers=OWN)['family'])
        self.assertEqual(
            [('image_family.membership.leave', 'img-1'),
             ('image_family.membership.leave', 'img-2')],
            [(event_type, payload['image_id'])
             for event_type, payload in self.notifier.sent])
        family = self.app.get('/v1/families/own', headers=OWN).json
        self.assertIsNone(family['family']['latest_id'])
        # It does not come back while it is the other project's.
        payload = dict(glance_payload('img-1'), owner='p2')
        payload['properties']['arbiter_family'] = 'own'
        self.glance_event('image.update', payload)
        self.app.get('/v1/images/img-1', headers=OWN, status=404)

    def test_image_given_away_without_its_family_property_leaves(self):
        # An administrator gives img-1 to p2 and drops its family
        # property in the same PATCH: Glance's image.update names no
        # family, and the engine did nothing with it; p1's members went
        # on moving, hiding and at the end deleting p2's image.
        self.family('own', headers=OWN)
        for image_id in ('img-1', 'img-2'):
            payload = dict(glance_payload(image_id), owner='p1')
            payload['properties']['arbiter_family'] = 'own'
            self.glance_event('image.create', payload)
        self.move('img-1', 'active', headers=OWN)
        self.notifier.sent[:] = []
        given = dict(glance_payload('img-1'), owner='p2')
        del given['properties']['arbiter_family']
        kept = dict(glance_payload('img-2'), owner='p1')
        del kept['properties']['arbiter_family']
        self.glance.handle_batch([
            {'event_type': 'image.update', 'payload': given,
             'metadata': meta()},
            {'event_type': 'image.update', 'payload': kept,
             'metadata': meta()}])
        self.app.get('/v1/images/img-1', headers=OWN, status=404)
        self.assertEqual('own', self.image('img-2', headers=OWN)['family'])
        self.assertEqual([('image_family.membership.leave', 'img-1')],
                         [(event_type, payload['image_id'])
                          for event_type, payload in self.notifier.sent])
        self.assertIsNone(self.app.get(
            '/v1/families/own', headers=OWN).json['family']['latest_id'])
        # Again (a redelivery), or of an image in no family: nothing.
        self.glance_event('image.update', given)
        self.glance_event('image.update', dict(
            glance_payload('img-9'), owner='p2', properties={}))
        self.assertEqual(1, len(self.notifier.sent))

    def test_image_deleted_in_glance_cannot_be_added(self):
        # Added after Glance announced its deletion (a mistyped ID, an
        # old list), it was a member Glance no longer has, and made
        # active it was the family's latest.
        self.glance_event('image.delete', {'id': 'img-9',
                                           'status': 'deleted'})
        resp = self.app.post_json(
            '/v1/families/centos-7/images',
            {'image_id': 'img-9', 'version': '7.9', 'state': 'active',
             'properties': base.PROPS}, headers=base.ADMIN, status=409)
        self.assertEqual('image_family.image_deleted',
                         resp.json['errors'][0]['code'])
        self.assertIsNone(self.latest('centos-7'))

    def test_hostile_pattern_does_not_stall_the_engine(self):
        # A family's ^(a+)+$ ran in Python's re for hours on the engine
        # when Glance announced an image with fifty non-matching
        # characters; RE2 answers at once.
        self.family('hostile', headers=OWN, properties_schema={
            'type': 'object', 'properties': {'os_version': {
                'type': 'string', 'pattern': '^(a+)+$'}}})
        payload = glance_payload('img-1', os_version='a' * 49 + 'b')
        payload['properties']['arbiter_family'] = 'hostile'
        self.assertEqual(listeners.HANDLED, self.within(
            lambda: self.glance_event('image.create', payload)))
        self.app.get('/v1/images/img-1', headers=base.ADMIN, status=404)
        payload = dict(glance_payload('img-2', os_version='a' * 50),
                       owner='p1')
        payload['properties']['arbiter_family'] = 'hostile'
        self.glance_event('image.create', payload)
        self.assertEqual('hostile', self.image('img-2')['family'])

    def _hostile_family(self, schema):
        """Family ``hostile`` holding ``schema``, stored as a family
        created before the API refused it would hold it."""
        self.family('hostile', headers=OWN)
        with self.db.engine.begin() as connection:
            connection.execute(sa.update(models.Family).where(
                models.Family.name == 'hostile').values(
                    properties_schema=schema))

    def _hostile_payload(self, image_id):
        payload = glance_payload(image_id)
        payload['properties']['arbiter_family'] = 'hostile'
        return payload

    def test_stored_self_reference_is_a_handled_notification(self):
        # Validation recursed until the stack ran out; the RecursionError
        # left the endpoint, so the notification was requeued, and
        # failed again at each delivery.
        self._hostile_family({'definitions': {'a': {
            '$ref': '#/definitions/a'}}, '$ref': '#/definitions/a'})
        create = meta()
        for _ in range(2):
            self.assertEqual(listeners.HANDLED, self.within(
                lambda: self.glance_event(
                    'image.create', self._hostile_payload('img-1'),
                    create)))
        self.app.get('/v1/images/img-1', headers=base.ADMIN, status=404)

    def test_stored_chained_references_do_not_stall_the_engine(self):
        # 18 levels of anyOf over two references took 21 s per image.
        self._hostile_family(base.chained_schema(18))
        self.assertEqual(listeners.HANDLED, self.within(
            lambda: self.glance_event('image.create',
                                      self._hostile_payload('img-1'))))
        self.app.get('/v1/images/img-1', headers=base.ADMIN, status=404)

    def test_any_failure_of_a_schema_is_a_handled_notification(self):
        # Whatever running a family's schema raises, the notification is
        # recorded (not requeued forever), alone or in a batch, and the
        # other images of the batch join.
        hostile = {'type': 'object', 'title': 'cannot be run'}
        self._hostile_family(hostile)
        run = properties_schema.Validator.iter_errors

        def broken(validator, *args, **kwargs):
            if validator.schema == hostile:
                raise RuntimeError('a schema that cannot be run')
            return run(validator, *args, **kwargs)

        self.useFixture(fixtures.MockPatchObject(
            properties_schema.Validator, 'iter_errors', broken))
        self.assertEqual(listeners.HANDLED, self.glance_event(
            'image.create', self._hostile_payload('img-1')))
        batch = [{'event_type': 'image.create', 'metadata': meta(),
                  'payload': payload} for payload in (
                      self._hostile_payload('img-2'),
                      glance_payload('img-3'))]
        self.assertEqual(listeners.HANDLED,
                         listeners.Batched(self.glance).info(batch))
        for image_id in ('img-1', 'img-2', 'img-3'):
            self.app.get('/v1/images/%s' % image_id, headers=base.ADMIN,
                         status=404 if image_id != 'img-3' else 200)

    def test_redelivered_notifications_change_nothing(self):
        create = meta()
        self.glance_event('image.create', glance_payload('img-1'), create)
        self.move('img-1', 'active')
        self.glance_event('image.delete', {'id': 'img-1'})
        # The create again, with its message id: the image stays out.
        self.glance_event('image.create', glance_payload('img-1'), create)
        self.app.get('/v1/images/img-1', headers=base.ADMIN, status=404)

    def test_usage_counts_each_server_once(self):
        self.add('centos-7', 'img-1', '7.9', state='active')
        boot = meta()
        for _ in range(3):
            self.nova_event('instance.create.end', 'vm-1', 'img-1', boot)
        self.nova_event('instance.create.end', 'vm-2', 'img-1')
        # A second message about the same server (a new message id).
        self.nova_event('instance.create.end', 'vm-2', 'img-1')
        self.assertEqual(2, self.image('img-1')['usage']['servers'])
        gone = meta()
        self.nova_event('instance.delete.end', 'vm-1', 'img-1', gone)
        self.nova_event('instance.delete.end', 'vm-1', 'img-1', gone)
        usage = self.app.get('/v1/images/img-1/usage',
                             headers=base.ADMIN).json
        self.assertEqual(1, usage['servers'])
        self.assertIsNotNone(usage['updated_at'])

    def test_legacy_payload_and_volume_backed_server(self):
        self.add('centos-7', 'img-1', '7.9', state='active')
        self.nova.info({}, 'compute', 'instance.create.end', {
            'instance_id': 'vm-1',
            'image_ref_url': 'http://glance:9292/images/img-1'}, meta())
        self.nova.info({}, 'compute', 'instance.create.end', {
            'nova_object.data': {'uuid': 'vm-2', 'image_uuid': ''}}, meta())
        self.assertEqual(1, self.image('img-1')['usage']['servers'])

    def test_malformed_nova_notifications_are_dropped(self):
        # They raised (AttributeError, or a database error for an id too
        # long for its column on PostgreSQL): requeued for ever.
        self.add('centos-7', 'img-1', '7.9', state='active')
        for event_type, payload, metadata in (
                ('instance.create.end', 'garbage', meta()),
                ('instance.create.end', {'nova_object.data': ['vm-1']},
                 meta()),
                ('instance.create.end', {'nova_object.data': {
                    'uuid': {'id': 'vm-1'}, 'image_uuid': 'img-1'}}, meta()),
                ('instance.create.end', {'nova_object.data': {
                    'uuid': 'v' * 65, 'image_uuid': 'img-1'}}, meta()),
                ('instance.create.end', {'instance_id': 'vm-1',
                                         'image_ref_url': 7}, meta()),
                ('instance.delete.end', {'instance_id': ['vm-1']}, meta()),
                ('instance.create.end', nova_payload('vm-1', 'img-1'),
                 'metadata')):
            with self.assertLogs(listeners.LOG, 'WARNING'):
                self.assertEqual(listeners.HANDLED, self.nova.info(
                    {}, 'nova-compute:host', event_type, payload, metadata))
        self.assertEqual(0, self.image('img-1')['usage']['servers'])
        self.nova_event('instance.create.end', 'vm-1', 'img-1')
        self.assertEqual(1, self.image('img-1')['usage']['servers'])

    def test_unversioned_nova_notifications_count_servers(self):
        # With Nova's notification_format = unversioned (which the admin
        # guide supports), the event types are compute.instance.*: the
        # endpoint's filter let none through, and no server was counted
        # (an image in use could be deleted).
        self.add('centos-7', 'img-1', '7.9', state='active')
        legacy = {'instance_id': 'vm-1', 'tenant_id': 'p1',
                  'image_ref_url': 'http://glance:9292/images/img-1'}

        def deliver(event_type):
            # As oslo.messaging's dispatcher does: the filter first.
            if self.nova.filter_rule.match({}, 'compute.cmp1', event_type,
                                           legacy, meta()):
                self.nova.info({}, 'compute.cmp1', event_type, legacy,
                               meta())

        deliver('compute.instance.create.start')
        self.assertEqual(1, self.image('img-1')['usage']['servers'])
        deliver('compute.instance.create.end')
        self.assertEqual(1, self.image('img-1')['usage']['servers'])
        deliver('compute.instance.update')
        self.assertEqual(1, self.image('img-1')['usage']['servers'])
        deliver('compute.instance.delete.end')
        self.assertEqual(0, self.image('img-1')['usage']['servers'])
        legacy['instance_id'] = 'vm-2'
        deliver('compute.instance.create.start')
        self.assertEqual(1, self.image('img-1')['usage']['servers'])
        deliver('compute.instance.create.error')
        self.assertEqual(0, self.image('img-1')['usage']['servers'])

    def test_used_image_deleted_only_when_last_server_goes(self):
        self.add('centos-7', 'img-1', '7.9', state='active')
        self.nova_event('instance.create.end', 'vm-1', 'img-1')
        self.move('img-1', 'obsolete')
        answer = self.move('img-1', 'deleted')
        self.assertEqual('pending_delete', answer['image']['state'])
        resp = self.move('img-1', 'deleted', status=409)
        self.assertEqual(1, resp['errors'][0]['servers'])
        # The sweep does not delete it while the server runs.
        engine.apply_schedule(self.db)
        self.assertEqual('pending_delete', self.image('img-1')['state'])
        self.nova_event('instance.delete.end', 'vm-1', 'img-1')
        self.assertEqual('deleted', self.image('img-1')['state'])
        self.assertEqual(('image_family.transition', 'pending_delete',
                          'deleted', 'usage'),
                         (self.notifier.sent[-1][0],
                          self.notifier.sent[-1][1]['from_state'],
                          self.notifier.sent[-1][1]['to_state'],
                          self.notifier.sent[-1][1]['cause']))

    def test_rebuild_moves_the_server_to_its_new_image(self):
        # A server rebuilt onto another image counted for its old image
        # until the (hourly) usage reconciliation, and not for the new
        # one: that one could be deleted under it.
        self.add('centos-7', 'img-1', '7.8', state='active')
        self.add('centos-7', 'img-2', '7.9', state='active')
        self.nova_event('instance.create.end', 'vm-1', 'img-1')
        self.move('img-1', 'obsolete')
        self.move('img-1', 'deleted')
        self.assertEqual('pending_delete', self.image('img-1')['state'])
        rebuilt = meta()
        for _ in range(2):  # a redelivery changes nothing
            self.assertTrue(self.nova.filter_rule.match(
                {}, 'nova-compute:host', 'instance.rebuild.end', {}, {}))
            self.nova_event('instance.rebuild.end', 'vm-1', 'img-2',
                            rebuilt)
        # The old image's last server is gone: it is deleted.
        self.assertEqual('deleted', self.image('img-1')['state'])
        self.assertEqual(1, self.image('img-2')['usage']['servers'])
        self.move('img-2', 'obsolete')
        self.assertEqual('pending_delete', self.move(
            'img-2', 'deleted')['image']['state'])
        # Rebuilt on the same image again, or from a server never seen.
        self.nova_event('instance.rebuild.end', 'vm-1', 'img-2')
        self.nova_event('instance.rebuild.end', 'vm-9', 'img-2')
        self.assertEqual(2, self.image('img-2')['usage']['servers'])

    def test_a_stale_rebuild_does_not_move_the_server_back(self):
        """vm-1 is rebuilt onto img-2, then onto img-3; the first
        rebuild's notification comes last (redelivered after a failure,
        or handled by another engine host).  It moved the server back to
        img-2, and img-3, counted without it, was deleted under it."""
        for n in (1, 2, 3):
            self.add('centos-7', 'img-%d' % n, '7.%d' % n, state='active')
        sent = ['2030-01-01 10:0%d:00.000000' % minute for minute in
                range(3)]
        self.nova_event('instance.create.end', 'vm-1', 'img-1',
                        dict(meta(), timestamp=sent[0]))
        self.nova_event('instance.rebuild.end', 'vm-1', 'img-3',
                        dict(meta(), timestamp=sent[2]))
        self.nova_event('instance.rebuild.end', 'vm-1', 'img-2',
                        dict(meta(), timestamp=sent[1]))
        self.assertEqual((0, 0, 1), tuple(
            self.image('img-%d' % n)['usage']['servers'] for n in (1, 2,
                                                                   3)))
        self.move('img-3', 'obsolete')
        self.assertEqual('pending_delete', self.move(
            'img-3', 'deleted')['image']['state'])
        # A later rebuild, and one without a time, are applied.
        self.nova_event('instance.rebuild.end', 'vm-1', 'img-2',
                        dict(meta(), timestamp='2030-01-01T10:03:00Z'))
        self.assertEqual('deleted', self.image('img-3')['state'])
        self.assertEqual(1, self.image('img-2')['usage']['servers'])
        self.nova_event('instance.rebuild.end', 'vm-1', 'img-1')
        self.assertEqual((1, 0), (self.image('img-1')['usage']['servers'],
                                  self.image('img-2')['usage']['servers']))

    def test_the_time_a_notification_was_sent(self):
        self.assertEqual(datetime.datetime(2030, 1, 1, 10, 0, 0, 5),
                         listeners.sent_at(
                             {'timestamp': '2030-01-01 10:00:00.000005'}))
        self.assertEqual(datetime.datetime(2030, 1, 1, 9, 0),
                         listeners.sent_at(
                             {'timestamp': '2030-01-01T10:00:00+01:00'}))
        for metadata in ({}, {'timestamp': 'now'}, {'timestamp': 7},
                         {'timestamp': 'x' * 100}, None):
            self.assertIsNone(listeners.sent_at(metadata))


class TestRunner(base.ApiTestCase):

    def test_runner_has_listener_and_leader_tasks(self):
        db = database.Database(self.fixture.conf)
        self.addCleanup(db.dispose)
        runner = engine.build_runner(self.fixture.conf, db,
                                     notifier=RecordingNotifier())
        tasks = {t.name: t for t in runner.tasks}
        self.assertEqual({engine.SCHEDULE_TASK, engine.PURGE_TASK,
                          engine.RECONCILE_TASK, engine.GLANCE_DELETE_TASK,
                          engine.GLANCE_WRITE_TASK},
                         set(tasks))
        self.assertTrue(all(t.leader_only for t in tasks.values()))
        self.assertEqual(30, tasks[engine.SCHEDULE_TASK].interval)
        self.assertEqual(30, tasks[engine.GLANCE_DELETE_TASK].interval)
        self.assertEqual(30, tasks[engine.GLANCE_WRITE_TASK].interval)
        self.assertEqual(3600, tasks[engine.RECONCILE_TASK].interval)
        self.fixture.conf.set_override('usage_reconcile_interval', 0,
                                       group='image_family')
        runner = engine.build_runner(self.fixture.conf, db,
                                     notifier=RecordingNotifier())
        self.assertNotIn(engine.RECONCILE_TASK,
                         [t.name for t in runner.tasks])
        targets = listeners.targets(self.fixture.conf)
        self.assertEqual([('glance', 'notifications'),
                          ('nova', 'versioned_notifications')],
                         [(t.exchange, t.topic) for t in targets])
