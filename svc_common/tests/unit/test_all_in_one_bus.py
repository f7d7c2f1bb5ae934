"""The in-process bus of ``arbiter-all-in-one``.

Its listeners used to keep the idle local run at a quarter to a third of
a CPU core: the bus was ``kombu+memory:////``, for which oslo.messaging's
rabbit driver sets kombu's polling interval to 0, so each listener looked
for messages without ever pausing.
"""

import time

import fixtures
import testtools

from svc_common.cmd import all_in_one
from svc_common.messaging import bus

TOPIC = 'arbiter_local_bus_test'
# CPU seconds the whole test process may use while two listeners wait
# for IDLE_SECONDS on the local bus.  Listeners that pause between polls
# use a few hundredths of a second; one that spins uses what the machine
# gives it, most of the window on an idle machine and well above this
# budget on a machine shared by several processes.
IDLE_SECONDS = 3.0
CPU_BUDGET = 0.6


class RecordingEndpoint(object):
    def __init__(self):
        self.event_types = []

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self.event_types.append(event_type)


class TestLocalBus(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.data_dir = self.useFixture(fixtures.TempDir()).path
        self.specs = {spec.prog: spec for spec in all_in_one.load_specs()}

    def local_conf(self, prog, port):
        return all_in_one.local_conf(self.specs[prog], self.data_dir,
                                     '127.0.0.1', port)

    def listen(self, conf, endpoint, pool):
        transport = bus.get_notification_transport(conf)
        self.addCleanup(transport.cleanup)
        listener = bus.get_notification_listener(
            conf, transport, [TOPIC], [endpoint], pool=pool)
        listener.start()
        self.addCleanup(listener.wait)
        self.addCleanup(listener.stop)

    def test_one_service_reaches_another(self):
        """A notification of the limits service reaches a listener of the
        reaper and one of the image family service, each in its own
        pool, as it would over RabbitMQ."""
        endpoints = {}
        for prog, port in (('reaper', 10991), ('image-family', 10992)):
            endpoints[prog] = RecordingEndpoint()
            self.listen(self.local_conf(prog, port), endpoints[prog], prog)
        limits_conf = self.local_conf('limits', 10990)
        notifier = bus.get_notifier(limits_conf, 'limits.test',
                                    topics=[TOPIC])
        notifier.info({}, 'limits.test.sent', {'n': 1})
        deadline = time.monotonic() + 30
        while (not all(e.event_types for e in endpoints.values()) and
               time.monotonic() < deadline):
            time.sleep(0.05)
        for prog, endpoint in endpoints.items():
            self.assertEqual(['limits.test.sent'], endpoint.event_types,
                             prog)

    def test_idle_listeners_pause(self):
        """Two listeners with nothing to receive, like the reaper's and
        the image family engine's in the local run, leave the CPU alone
        (budget: CPU_BUDGET seconds in IDLE_SECONDS)."""
        for prog, port in (('reaper', 10991), ('image-family', 10992)):
            self.listen(self.local_conf(prog, port), RecordingEndpoint(),
                        prog)
        time.sleep(0.5)  # let both listeners start polling
        before = time.process_time()
        time.sleep(IDLE_SECONDS)
        used = time.process_time() - before
        self.assertLess(used, CPU_BUDGET,
                        'the idle listeners used %.2f s of CPU in %.1f s'
                        % (used, IDLE_SECONDS))
