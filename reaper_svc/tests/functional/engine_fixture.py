"""A reaper engine on the simulated cloud, and a pretend Nova that sends
the notifications a real Nova 34 sent (samples in ../unit/samples)."""

import copy
import json
import os
import time
import uuid

import fixtures
from oslo_config import cfg
import oslo_messaging

from reaper_svc.cmd import engine
from reaper_svc.drivers import simulated
from reaper_svc import service
from svc_common.db import database
from svc_common.messaging import bus
from svc_common.tests.fixtures import api as af

HERE = os.path.dirname(__file__)
CLOUD = os.path.join(HERE, '..', '..', '..', 'etc', 'reaper',
                     'simulated-cloud.yaml')
SAMPLES = os.path.join(HERE, '..', 'unit', 'samples',
                       'nova34_novalidhost_delete.json')


def samples():
    with open(SAMPLES) as source:
        return {m['event_type']: m for m in json.load(source)}


def failure_message(event_type, instance_uuid):
    """A sample NoValidHost notification for another boot of one
    instance (the instance and its request spec name it)."""
    message = copy.deepcopy(samples()[event_type])
    payload = message['payload']
    if event_type.endswith('.error'):
        data = payload['nova_object.data']
        data['instance_uuid'] = instance_uuid
        data['request_spec']['nova_object.data'][
            'instance_uuid'] = instance_uuid
    else:
        payload['instance_id'] = instance_uuid
        payload['request_spec']['instance_properties'][
            'uuid'] = instance_uuid
    return message


def wait_for(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


class Collector(object):
    """Collects the notifications a listener receives."""

    def __init__(self):
        self.received = []

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self.received.append((event_type, payload))

    error = info


def closing_notifier(test, conf):
    """The engine's notifier, on a transport of ``conf`` that ``test`` (a
    test case or fixture) closes at its cleanup.

    An engine process exits when it stops; a test goes on, and a
    transport left open keeps its connection's heartbeat thread retrying
    the broker once the test stopped it, for the rest of the run.
    """
    transport = bus.get_notification_transport(conf)
    test.addCleanup(transport.cleanup)
    return bus.get_notifier(conf, bus.publisher_id(service.SPEC),
                            transport=transport)


class ReaperEngine(fixtures.Fixture):
    """``.conf``, ``.db``, ``.cloud`` (simulated), ``.runner`` (started
    by :meth:`start`), ``.nova`` (a notifier on Nova's exchange)."""

    def __init__(self, url='fake:/', grace_period=3600, strategy=None,
                 database_url=None):
        super().__init__()
        self.url = url
        self.grace_period = grace_period
        self.strategy = strategy
        #: None: a SQLite file of the app fixture's.
        self.database_url = database_url

    def _setUp(self):
        self.topic = 'reaper_notifications_%s' % uuid.uuid4().hex[:8]
        self.notices_topic = 'notifications_%s' % uuid.uuid4().hex[:8]
        overrides = {
            (None, 'transport_url'): self.url,
            ('oslo_messaging_notifications', 'topics'): [self.notices_topic],
            ('preemption', 'notification_topic'): self.topic,
            ('preemption', 'grace_period'): self.grace_period,
            ('preemption', 'action_interval'): 1,
            ('coordination', 'election_interval'): 0.2,
        }
        if self.strategy:
            overrides[('preemption', 'strategy')] = self.strategy
        if self.database_url:
            overrides[('database', 'connection')] = self.database_url
        app = self.useFixture(af.ServiceApp(service.SPEC,
                                            overrides=overrides))
        self.app = app.app
        self.conf = app.conf
        self.db = database.Database(self.conf)
        with open(CLOUD) as source:
            self.cloud = simulated.SimulatedCloud.from_yaml(source.read())
        self.nova = self._nova_notifier()
        self.notices = Collector()
        transport = oslo_messaging.get_notification_transport(
            self.conf, url=self.url)
        self.addCleanup(transport.cleanup)
        listener = oslo_messaging.get_notification_listener(
            transport, [oslo_messaging.Target(topic=self.notices_topic)],
            [self.notices], executor='threading', pool='test-operator')
        listener.start()
        self.addCleanup(listener.wait)
        self.addCleanup(listener.stop)
        self.runner = None

    def _nova_notifier(self):
        conf = cfg.ConfigOpts()
        conf([], project='nova')
        oslo_messaging.get_notification_transport(conf, url=self.url)
        conf.set_override('control_exchange', 'nova')
        transport = oslo_messaging.get_notification_transport(conf,
                                                              url=self.url)
        self.addCleanup(transport.cleanup)
        return oslo_messaging.Notifier(
            transport, publisher_id='nova-conductor:ctl',
            driver='messagingv2', topics=[self.topic])

    def build(self, member_id='engine-a'):
        return engine.build_runner(
            self.conf, self.db, driver=self.cloud, member_id=member_id,
            notifier=closing_notifier(self, self.conf))

    def start(self, member_id='engine-a'):
        runner = self.build(member_id)
        runner.start()
        self.addCleanup(runner.stop)
        self.runner = runner
        return runner

    def send(self, message):
        """Nova sends ``message`` (a sample's shape)."""
        notify = getattr(self.nova, message['priority'])
        notify({}, message['event_type'], message['payload'])
