"""The ``arbiter-routing`` notification driver inside a real Nova 34.

:class:`RoutingInNovaTest` starts a Nova of its own (one fake compute)
whose services load ``arbiter-routing`` with the routing file shipped in
``etc/``, and checks what the preemption service would receive on its
topic: exactly the routed events, on Nova's exchange, while Nova's usual
topics still carry everything. :class:`BrokenRoutingFileTest` checks that
a Nova service with a broken routing file does not start.
"""

import fnmatch
import os
import subprocess

import fixtures
import testtools
import yaml

from svc_common.tests.fixtures.keystone import console_script
from svc_common.tests.fixtures import notifications
from svc_common.tests.fixtures import nova as nova_fixture

SAMPLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'etc',
                      'arbiter-routing-notifier.yaml.sample')
REAPER_TOPIC = 'reaper_notifications'


def sample_reaper_patterns():
    with open(SAMPLE) as sample:
        return yaml.safe_load(sample)['reaper']['messagingv2'][
            'accepted_events']


class RoutingInNovaTest(testtools.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # "both": the legacy twins must not reach the reaper either.
        cls.nova = nova_fixture.Nova(
            computes=1, notification_format='both',
            notification_driver='arbiter-routing',
            notification_topics=['notifications'],
            extra_config={'arbiter_routing_notifier': {
                'routing_config': os.path.abspath(SAMPLE)}})
        cls.nova.setUp()

    @classmethod
    def tearDownClass(cls):
        cls.nova.cleanUp()
        super().tearDownClass()

    def _capture(self, topics, exchange):
        return self.useFixture(notifications.NotificationCapture(
            self.nova.transport_url, topics, exchange))

    def test_novalidhost_and_delete_routed_to_reaper(self):
        nova = self.nova
        reaper = self._capture([REAPER_TOPIC], exchange='nova')
        # Bound to the listening transport's default exchange ("openstack"):
        # what svc_common's listeners did before they took an exchange.
        default_exchange = self._capture([REAPER_TOPIC], exchange=None)
        plain = self._capture(['notifications', 'versioned_notifications'],
                              exchange='nova')
        image_id = nova.glance.create_image(data=b'\0' * 1024)
        self.addCleanup(nova.glance.delete_image, image_id)
        # One compute of 2 VCPU: 4 never fit.
        too_big = nova.create_flavor(vcpus=4)
        small = nova.create_flavor(vcpus=1)

        failed = nova.boot(image_id, too_big)
        self.addCleanup(nova.delete, failed)
        nova.wait_for_status(failed, 'ERROR')
        server = nova.boot(image_id, small)
        self.addCleanup(nova.delete, server)
        nova.wait_for_status(server, 'ACTIVE')
        nova.delete(server)
        plain.wait_for(lambda m: (m.event_type == 'instance.delete.end' and
                                  m.payload_data['uuid'] == server))
        reaper.wait_for(lambda m: m.event_type == 'instance.delete.end')
        plain.settle()
        reaper.settle(quiet=1)

        patterns = sample_reaper_patterns()
        routed = {m.metadata['message_id']: m.event_type
                  for m in plain.messages
                  if any(fnmatch.fnmatchcase(m.event_type, p)
                         for p in patterns)}
        received = [m.metadata['message_id'] for m in reaper.messages]
        self.assertEqual(sorted(routed), sorted(received))
        self.assertEqual(len(set(received)), len(received))
        routed_types = set(routed.values())
        self.assertEqual({'compute_task.build_instances.error',
                          'instance.delete.end'},
                         routed_types)
        [error] = [m for m in reaper.messages
                   if m.event_type == 'compute_task.build_instances.error']
        self.assertEqual(failed, error.payload_data['instance_uuid'])
        # The usual topics still carry everything, legacy twins included.
        plain_types = {m.event_type for m in plain.messages}
        for event_type in ('compute_task.build_instances',
                           'compute.instance.update',
                           'compute.instance.delete.end',
                           'instance.create.end'):
            self.assertIn(event_type, plain_types)
        self.assertEqual([], default_exchange.messages)
        self.addDetail('routed', testtools.content.text_content(
            '%d of %d notifications routed: %s' % (
                len(received), len(plain.messages),
                sorted(routed_types))))


class BrokenRoutingFileTest(testtools.TestCase):

    def test_nova_conductor_does_not_start(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        routing = os.path.join(tmp, 'routing.yaml')
        with open(routing, 'w') as routing_file:
            routing_file.write('reaper:\n  messagingv2:\n'
                               '    accepted_event: [instance.update]\n')
        conf = os.path.join(tmp, 'nova.conf')
        with open(conf, 'w') as conf_file:
            conf_file.write(
                '[DEFAULT]\n'
                # Never contacted: the start fails before.
                'transport_url = rabbit://guest:guest@127.0.0.1:9/\n'
                'log_dir = %s\n'
                '[oslo_messaging_notifications]\n'
                'driver = arbiter-routing\n'
                '[arbiter_routing_notifier]\n'
                'routing_config = %s\n' % (tmp, routing))
        env = dict(os.environ, PYTHONWARNINGS='ignore')
        result = subprocess.run(
            [console_script('nova-conductor'), '--config-file', conf],
            capture_output=True, text=True, timeout=120, env=env,
            stdin=subprocess.DEVNULL, cwd=tmp)
        self.assertNotEqual(0, result.returncode)
        self.assertIn('RoutingDriverLoadError', result.stderr)
        self.assertIn('routing file %s, route reaper/messagingv2: unknown '
                      'key(s) accepted_event' % routing, result.stderr)
