"""reaper-engine with the ``openstack`` driver against a real Nova 34.

One Nova for the module (two fake computes of 2 VCPU each, so four
1-VCPU servers fill it) whose services load the ``arbiter-routing``
notifier with the routing file shipped in ``etc/`` and
``notification_format = versioned``, as the admin guide says.  The
reaper engine listens on the same RabbitMQ virtual host, on topic
``reaper_notifications`` of exchange ``nova``, and acts on Nova through
the ``openstack`` driver (Nova and Placement REST through keystoneauth1).

What is checked is what a user and an operator see: the normal boot
fails with NoValidHost; a preemptible server becomes locked (with the
reaper's reason) and SHUTOFF; ``preemption.notice`` goes out; after the
grace period the victim is gone and a retried boot goes ACTIVE; the
same routed message delivered again changes nothing; an engine killed
(SIGKILL) between notice and deletion is replaced by one that finishes
the action; a pending all-or-nothing group of three is built by the
promoter when the third slot frees, and not before; the promoter's
late-server sweep lists each project once a pass, every page of Nova's
paging, at most ``[preemption] late_server_projects_per_pass`` projects
a pass, and deletes the late servers only.

The Nova fixture has no Keystone, so no trust can be taken: the promoter
builds the pending group with the reaper's own credentials (the request's
project is the fixture's project, so the servers land where the user
would see them); building through a trust is tested against the real
Keystone fixture in ``test_trusts``.  Without Keystone, nova-api takes
identity headers as they come: the driver's Nova adapter is given an auth
plugin that sends those headers (:class:`FixtureIdentity`) instead of the
one ``[nova]`` would load; Placement is reached as configured
(``admin_token``).

Run as a program (``python -m reaper_svc.tests.functional.test_real_nova
CONFIG PROJECT USER READY``), this module is that engine in a process of
its own, for the kill test; it creates the file READY once it listens.
"""

import json
import os
import signal
import subprocess
import sys
import time
import types
import uuid

import fixtures
from keystoneauth1 import plugin as ks_plugin
import kombu
import testtools
from testtools import content

from reaper_svc import action_states as states
from reaper_svc.cmd import engine
from reaper_svc.db import actions as actions_db
from reaper_svc.db import pending as pending_db
from reaper_svc.drivers import openstack
from reaper_svc import promoter
from reaper_svc import service
from reaper_svc.tests.functional import engine_fixture
from reaper_svc.tests.functional import test_promoter_sweep_listings as tsl
from svc_common import config
from svc_common import context
from svc_common.db import database
from svc_common.db import migration
from svc_common.tests.fixtures import notifications
from svc_common.tests.fixtures import nova as nova_fixture

ROUTING = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'etc',
                       'arbiter-routing-notifier.yaml.sample')
TOPIC = 'reaper_notifications'
NOTICES = 'reaper_notices'
PREEMPTIBLE = 'arbiter:preemptible'


class FixtureIdentity(ks_plugin.BaseAuthPlugin):
    """The identity headers the fixture's keystone-less nova-api reads:
    an admin of ``project_id``."""

    def __init__(self, project_id, user_id):
        super().__init__()
        self.project_id = project_id
        self.user_id = user_id

    def get_user_id(self, session, **kwargs):
        # The user the servers are created as (the promoter's own).
        return self.user_id

    def get_headers(self, session, **kwargs):
        return {'X-Auth-Token': 'fixture-token', 'X-User-Id': self.user_id,
                'X-Project-Id': self.project_id,
                'X-Roles': nova_fixture.ADMIN_ROLES}


def write_config(path, state_path, nova, grace_period):
    sections = {
        'DEFAULT': {'state_path': state_path,
                    'transport_url': nova.transport_url},
        'oslo_messaging_notifications': {'topics': NOTICES},
        'preemption': {'driver': 'openstack',
                       'notification_topic': TOPIC,
                       'notification_exchange': nova_fixture.EXCHANGE,
                       'grace_period': grace_period,
                       'action_interval': 1},
        'coordination': {'election_interval': 0.2},
        'nova': {'auth_type': 'none', 'endpoint_override': nova.url},
        'placement': {'auth_type': 'admin_token', 'token': 'admin',
                      'endpoint_override': nova.placement.url},
    }
    nova_fixture.write_conf(path, sections)


def build_conf(path):
    return config.build_conf(service.SPEC, args=['--config-file', path])


def build_driver(conf, project_id, user_id):
    return openstack.from_conf(
        conf, nova_auth=FixtureIdentity(project_id, user_id))


class RealNovaTest(testtools.TestCase):

    GRACE = 4

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.nova = nova_fixture.Nova(
            computes=2, notification_format='versioned',
            notification_driver='arbiter-routing',
            notification_topics=['notifications'],
            extra_config={'arbiter_routing_notifier': {
                'routing_config': os.path.abspath(ROUTING)}})
        cls.nova.setUp()
        cls.image = cls.nova.glance.create_image(data=b'\0' * 1024)
        cls.preemptible = cls.nova.create_flavor(
            'p1.tiny', vcpus=1, extra_specs={PREEMPTIBLE: 'true'})
        cls.normal = cls.nova.create_flavor('m1.tiny', vcpus=1)

    @classmethod
    def tearDownClass(cls):
        cls.nova.cleanUp()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.ctx = context.admin_context()
        tmp = self.useFixture(fixtures.TempDir()).path
        self.config_file = os.path.join(tmp, 'reaper.conf')
        write_config(self.config_file, tmp, self.nova, self.GRACE)
        self.conf = build_conf(self.config_file)
        migration.upgrade(service.SPEC, self.conf.database.connection)
        self.db = database.Database(self.conf)
        self.notices = self.useFixture(notifications.NotificationCapture(
            self.nova.transport_url, [NOTICES], exchange=None))

    # -- helpers --------------------------------------------------------

    def boot(self, flavor, status='ACTIVE'):
        if status == 'ACTIVE':
            server = self.nova.boot_active(self.image, flavor)
            self.addCleanup(self.nova.delete, server)
            return server
        server = self.nova.boot(self.image, flavor)
        self.addCleanup(self.nova.delete, server)
        self.nova.wait_for_status(server, status)
        return server

    def fill(self):
        """Three preemptibles and one normal server, booted one at a time
        (concurrent boots race for the last slots and fail), once the
        previous test's servers have given their room back."""
        free = self.nova.free_vcpus()
        if free != 4:
            self.addDetail('placement', content.text_content(
                self.nova.placement_report()))
        self.assertEqual(4, free)
        return ([self.boot(self.preemptible) for _ in range(3)],
                self.boot(self.normal))

    def start_engine(self, member_id='engine-a'):
        driver = build_driver(self.conf, self.nova.project_id,
                              self.nova.user_id)
        runner = engine.build_runner(
            self.conf, self.db, driver=driver, member_id=member_id,
            notifier=engine_fixture.closing_notifier(self, self.conf))
        runner.start()
        self.addCleanup(runner.stop)
        return runner

    def actions(self):
        return actions_db.list_actions(self.db, self.ctx, 100)

    def wait_for_action(self, predicate, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [a for a in self.actions() if predicate(a)]
            if found:
                return found[0]
            time.sleep(0.2)
        self.fail('no such action after %d s: %s'
                  % (timeout, self.actions()))

    def raw_capture(self):
        """A queue of our own receiving the raw routed NoValidHost
        messages, to deliver one again as the broker would."""
        url = self.nova.transport_url.replace('rabbit://', 'amqp://', 1)
        connection = kombu.Connection(url)
        self.addCleanup(connection.release)
        exchange = kombu.Exchange(nova_fixture.EXCHANGE, type='topic',
                                  passive=True)
        queue = kombu.Queue('raw-%s' % uuid.uuid4().hex[:8], exchange,
                            routing_key=TOPIC + '.error', auto_delete=True)
        bound = queue(connection)
        bound.declare()
        return connection, exchange, bound

    # -- tests ----------------------------------------------------------

    def test_novalidhost_notice_delete_retry_once(self):
        victims_before, _normal = self.fill()
        connection, exchange, raw = self.raw_capture()
        self.start_engine()

        failed = self.boot(self.normal, status='ERROR')
        self.assertIn('No valid host', self.nova.get_server(
            failed)['fault']['message'])

        noticed = self.wait_for_action(
            lambda a: a['trigger_id'] == failed and a['state'] in (
                states.NOTICED, states.DELETING, states.DONE))
        [victim] = noticed['victims']
        self.assertIn(victim['server_id'], victims_before)
        # What the victim's owner sees during the grace period.
        seen = self.nova.wait_for_status(victim['server_id'], 'SHUTOFF',
                                         timeout=self.GRACE)
        self.assertTrue(seen['locked'])
        self.assertIn(noticed['id'], seen['locked_reason'])
        [notice] = self.notices.wait_for(
            lambda m: m.event_type == 'preemption.notice', timeout=10)
        self.assertEqual(noticed['id'], notice.payload['action_id'])
        self.assertEqual([victim['server_id']],
                         [v['server_id'] for v in notice.payload['victims']])

        done = self.wait_for_action(
            lambda a: a['id'] == noticed['id'] and a['state'] == states.DONE,
            timeout=self.GRACE + 30)
        self.assertEqual(['deleted'], [v['state'] for v in done['victims']])
        self.nova.wait_for_status(victim['server_id'], 'DELETED')
        self.boot(self.normal)

        # The broker delivers the same NoValidHost again (same message
        # id): nothing more is planned, stopped or deleted.
        message = raw.get(no_ack=True)
        self.assertIsNotNone(message)
        self.assertEqual(failed, json.loads(json.loads(message.body)[
            'oslo.message'])['payload']['nova_object.data']['instance_uuid'])
        producer = connection.Producer()
        for _ in range(2):
            producer.publish(message.body, exchange=exchange,
                             routing_key=TOPIC + '.error',
                             content_type=message.content_type,
                             content_encoding=message.content_encoding)
        time.sleep(3)
        self.assertEqual([noticed['id']], [a['id'] for a in self.actions()])
        statuses = {s['id']: s['status'] for s in self.nova.list_servers()}
        self.assertEqual(2, sum(statuses.get(s) == 'ACTIVE'
                                for s in victims_before))
        self.assertEqual(1, len(self.notices.wait_for(
            lambda m: m.event_type == 'preemption.notice', timeout=1)))

    def test_engine_killed_after_notice_restarted_finishes(self):
        victims_before, _normal = self.fill()
        ready = self.config_file + '.ready'
        proc = subprocess.Popen(
            [sys.executable, '-m', __name__, self.config_file,
             self.nova.project_id, self.nova.user_id, ready],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(self.config_file + '.engine.log', 'wb'),
            start_new_session=True)
        self.addCleanup(self._reap, proc)
        # Listening: its queue is declared once the runner has started
        # (a fixed sleep was too short on a loaded machine, and the
        # NoValidHost then went to no queue).
        deadline = time.monotonic() + 120
        while not os.path.exists(ready):
            self.assertIsNone(proc.poll(), 'the engine exited')
            self.assertLess(time.monotonic(), deadline,
                            'the engine did not start in 120 s')
            time.sleep(0.2)

        failed = self.boot(self.normal, status='ERROR')
        noticed = self.wait_for_action(
            lambda a: a['trigger_id'] == failed and a['state'] in (
                states.NOTICED, states.DELETING, states.DONE))
        self.assertEqual(states.NOTICED, noticed['state'])
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        [victim] = noticed['victims']
        self.nova.wait_for_status(victim['server_id'], 'SHUTOFF')

        # Past the grace period, nobody deletes: the engine is dead.
        time.sleep(self.GRACE + 1)
        self.assertEqual(states.NOTICED, actions_db.get_action(
            self.db, self.ctx, noticed['id'])['state'])
        self.assertIsNotNone(self.nova.get_server(victim['server_id']))

        self.start_engine(member_id='engine-b')
        self.wait_for_action(
            lambda a: a['id'] == noticed['id'] and a['state'] == states.DONE,
            timeout=30)
        self.nova.wait_for_status(victim['server_id'], 'DELETED')
        self.boot(self.normal)

    def test_pending_group_built_when_space_frees_and_not_before(self):
        # Four normal servers fill the cloud's four slots.
        fillers = [self.boot(self.normal) for _ in range(4)]
        request = pending_db.create_request(
            self.db, self.ctx, self.nova.project_id, self.nova.user_id,
            [{'name': 'group', 'flavor': 'm1.tiny', 'image': self.image,
              'networks': [], 'count': 3}], True, min_runtime=3600)
        self.conf.set_override('promote_interval', 1, 'preemption')
        runner = self.start_engine()

        def pending():
            return pending_db.get_request(self.db, self.ctx, request['id'])

        def group():
            return [s for s in self.nova.list_servers()
                    if s['name'].startswith('group')]

        for server in fillers[:2]:
            self.nova.delete(server)
        task = [t for t in runner.tasks if t.name == 'preemption-promoter'][0]
        runs = task.runs
        deadline = time.monotonic() + 30
        while task.runs < runs + 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertGreaterEqual(task.runs, runs + 3)
        # Two slots free: still queued, nothing asked of Nova.
        self.assertEqual(pending_db.QUEUED, pending()['state'])
        self.assertEqual([], group())

        self.nova.delete(fillers[2])
        deadline = time.monotonic() + 180
        while pending()['state'] != pending_db.ACTIVE:
            self.assertLess(time.monotonic(), deadline, pending())
            time.sleep(0.5)
        built = pending()['server_ids']
        for server_id in built:
            self.addCleanup(self.nova.delete, server_id)
        self.assertEqual(3, len(built))
        self.assertEqual(sorted(built), sorted(s['id'] for s in group()))
        for server_id in built:
            self.assertEqual('ACTIVE', self.nova.get_server(
                server_id)['status'])
        # Their minimum runtime protects them from the reaper.
        cluster = runner.reaper.driver.cluster()
        for server_id in built:
            self.assertIsNotNone(cluster.servers[server_id].guaranteed_until)

    def test_late_server_sweep_lists_each_project_once_every_page(self):
        """The promoter's late-server sweep against this Nova: the list
        calls it sends.  Nova filters a server list by project, not by
        metadata: each look for the servers that interrupted builds of
        a project's pending requests left lists every server of the
        project, every page of ``GET /servers/detail`` (Nova's own
        paging, ``[nova] page_size`` 2 here: a full page comes with a
        ``next`` link).  A pass lists each project once for all its
        requests, and at most ``[preemption]
        late_server_projects_per_pass`` projects (1 here), in turn; the
        late servers are deleted, a member's server tagged with a
        request's id is left.  The servers standing for the late ones
        are booted with the ``X-User-Id`` of the user the promoter
        builds as; four, one at a time, fill the cloud's four slots."""
        builder = 'reaper-builder'
        self.conf.set_override('late_server_projects_per_pass', 1,
                               'preemption')
        driver = build_driver(self.conf, self.nova.project_id,
                              self.nova.user_id)
        self.conf.set_override('page_size', 2, 'nova')
        sent = []
        real = driver.nova.request

        def request(url, method, **kwargs):
            sent.append((method, url, dict(kwargs.get('params') or {})))
            return real(url, method, **kwargs)
        self.useFixture(fixtures.MockPatchObject(
            driver.nova, 'request', request))
        now = actions_db.utcnow()

        def boot(project, user_id, metadata):
            body = {'name': 'sweep-%s' % uuid.uuid4().hex[:8],
                    'imageRef': self.image, 'flavorRef': self.normal,
                    'networks': 'none', 'metadata': metadata}
            server = self.nova.request(
                'POST', '/servers', json={'server': body},
                project_id=project, headers={'X-User-Id': user_id},
                expect=202).json()['server']
            self.addCleanup(self.nova.delete, server['id'])
            self.nova.wait_for_status(server['id'], 'ACTIVE')
            return server['id']

        def late(project, rid):
            return boot(project, builder, {
                promoter.REQUEST_METADATA: rid,
                promoter.TOKEN_METADATA: 'token-' + rid})

        def listings():
            """The project of each listing (its first page) sent."""
            return [params['project_id'] for method, url, params in sent
                    if method == 'GET' and url == '/servers/detail'
                    and 'marker' not in params]

        def left(project):
            return sorted(s['id'] for s in self.nova.list_servers(
                project_id=project) if s['status'] != 'DELETED')

        first, second = sorted(uuid.uuid4().hex for _ in range(2))
        rids = [tsl.ended_after_interruption(
            self.db, self.ctx, first, state, now, build_user_id=builder)
            for state in (pending_db.CANCELLED, pending_db.FAILED)]
        # Booted first, so last in Nova's order (newest first): the
        # first late server is on the second page only.
        late_servers = [late(first, rid) for rid in rids]
        tagged = boot(first, 'member',
                      {promoter.REQUEST_METADATA: rids[0]})
        other = late(second, tsl.ended_after_interruption(
            self.db, self.ctx, second, pending_db.EXPIRED, now,
            build_user_id=builder))
        engine_promoter = promoter.Promoter(
            self.conf, self.db, types.SimpleNamespace(
                driver=driver, clock=lambda: now),
            clock=lambda: now)

        engine_promoter.promote()
        # One project a pass, listed once for its two requests, every
        # page (three servers, two a page) read.
        self.assertEqual([first], listings())
        self.assertEqual(2, len([url for method, url, params in sent
                                 if url == '/servers/detail']))
        for server_id in late_servers:
            self.nova.wait_for_status(server_id, 'DELETED')
        self.assertEqual([tagged], left(first))
        self.assertEqual([other], left(second))

        sent.clear()
        engine_promoter.promote()
        self.assertEqual([second], listings())
        self.nova.wait_for_status(other, 'DELETED')
        self.assertEqual([tagged], left(first))

    def _reap(self, proc):
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def main(argv):
    """The engine of the kill test, in a process of its own: it creates
    the file ``ready`` once it listens, then runs until killed."""
    config_file, project_id, user_id, ready = argv
    conf = build_conf(config_file)
    driver = build_driver(conf, project_id, user_id)
    runner = engine.build_runner(conf, database.Database(conf),
                                 driver=driver, member_id='engine-killed')
    runner.start()
    with open(ready, 'w'):
        pass
    while True:
        time.sleep(1)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
