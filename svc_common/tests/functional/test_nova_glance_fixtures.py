"""The real Nova 34 and Glance 33 fixtures, end to end.

One Nova (three fake computes, two 1-VCPU servers each) is started for the
whole module and shared with any other test of the process
(:func:`svc_common.tests.fixtures.nova.shared_nova`); each test removes
the servers it boots. Its start-up time and memory are added to the
details of :meth:`NovaGlanceFixturesTest.test_start_time_and_memory`.
Measured on the 2-core test machine: about 37 s to start (PostgreSQL,
RabbitMQ vhost, Placement and Glance in parallel, ~10 s of nova-manage,
~19 s until the three computes register), about 1.0 GB unique memory
(1.4 GB RSS) for the set; a boot is ACTIVE in about a second.
"""

import json

import testtools
from testtools import content

from svc_common.tests.fixtures import notifications
from svc_common.tests.fixtures import nova as nova_fixture

TINY_IMAGE = b'\0' * 4096
VERSIONED = 'versioned_notifications'


class NovaGlanceFixturesTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.nova = nova_fixture.shared_nova()
        self.glance = self.nova.glance
        self.flavor = self.nova.create_flavor(
            vcpus=1, extra_specs={'arbiter:preemptible': 'false'})

    def _image(self):
        image_id = self.glance.create_image(data=TINY_IMAGE)
        self.addCleanup(self.glance.delete_image, image_id)
        return image_id

    def _boot(self, image_id, flavor_id=None):
        server_id = self.nova.boot(image_id, flavor_id or self.flavor)
        self.addCleanup(self.nova.delete, server_id)
        return server_id

    def _capture(self, topics, exchange='nova'):
        return self.useFixture(notifications.NotificationCapture(
            self.nova.transport_url, topics, exchange))

    def test_start_time_and_memory(self):
        usage = self.nova.memory_usage()
        report = {
            'startup_seconds': round(self.nova.startup_seconds, 1),
            'startup_steps': self.nova.startup_steps,
            'rss_mb': sum(rss for rss, _ in usage.values()) >> 20,
            'uss_mb': sum(uss for _, uss in usage.values()) >> 20,
            'per_process_uss_mb': {name: uss >> 20
                                   for name, (_, uss) in usage.items()},
        }
        self.addDetail('nova-set', content.text_content(
            json.dumps(report, indent=1, sort_keys=True)))
        expected = {'nova-api', 'nova-conductor', 'nova-scheduler',
                    'neutron-stub', 'placement', 'glance'}
        expected.update('nova-compute-%s' % h for h in self.nova.hosts)
        self.assertEqual(expected, set(usage))

    def test_image_upload_notifies_create_and_activate(self):
        capture = self._capture(['notifications'], exchange='glance')
        image_id = self._image()
        self.assertEqual('active', self.glance.get_image(image_id)['status'])
        for event_type in ('image.create', 'image.activate'):
            [message] = capture.wait_for(
                lambda m, e=event_type: (m.event_type == e and
                                         m.payload.get('id') == image_id))
            self.assertEqual('info', message.priority)

    def test_boot_stop_delete(self):
        capture = self._capture([VERSIONED])
        server_id = self._boot(self._image())
        server = self.nova.wait_for_status(server_id, 'ACTIVE')
        self.assertIn(server['OS-EXT-SRV-ATTR:host'], self.nova.hosts)
        self.assertIn(server_id, [
            s['id'] for s in self.nova.list_servers(
                host=server['OS-EXT-SRV-ATTR:host'])])
        self.assertEqual('SHUTOFF', self.nova.stop(server_id)['status'])
        self.nova.lock(server_id, reason='fixture test')
        self.assertTrue(self.nova.get_server(server_id)['locked'])
        self.nova.delete(server_id)
        self.assertIsNone(self.nova.get_server(server_id))
        [end] = capture.wait_for(
            lambda m: (m.event_type == 'instance.delete.end' and
                       m.payload_data['uuid'] == server_id))
        self.assertTrue(end.publisher_id.startswith('nova-compute:'))

    def test_full_cloud_gives_novalidhost(self):
        """Boots, one at a time, as many servers as Placement has free
        VCPUs: each goes ACTIVE (the scheduler sees the room Placement
        shows); the next finds no room: it is in ERROR with NoValidHost,
        and Nova announces it."""
        image_id = self._image()
        capture = self._capture([VERSIONED, 'notifications'])
        # One at a time: concurrent boots that race for the last slots can
        # each run out of alternate hosts and fail.
        free = self.nova.free_vcpus()
        for number in range(1, free + 1):
            server = self.nova.wait_for_status(self._boot(image_id),
                                               ('ACTIVE', 'ERROR'))
            if server['status'] != 'ACTIVE':
                self.addDetail('placement', content.text_content(
                    self.nova.placement_report()))
            self.assertEqual('ACTIVE', server['status'],
                             'boot %d of %d free VCPUs: %s' % (
                                 number, free, server.get('fault')))
        extra = self._boot(image_id)
        server = self.nova.wait_for_status(extra, ('ACTIVE', 'ERROR'))
        self.assertEqual('ERROR', server['status'])
        self.assertIn('No valid host', server['fault']['message'])
        [error] = capture.wait_for(
            lambda m: (m.event_type == 'compute_task.build_instances.error'
                       and m.payload_data['instance_uuid'] == extra))
        self.assertEqual('error', error.priority)
        reason = error.payload_data['reason']['nova_object.data']
        self.assertEqual('NoValidHost_Remote', reason['exception'])
        spec = error.payload_data['request_spec']['nova_object.data']
        flavor = spec['flavor']['nova_object.data']
        self.assertEqual({'arbiter:preemptible': 'false'},
                         flavor['extra_specs'])
