"""image_family_svc against a real Glance 33 and a real Nova 34.

One cloud for the whole module (:class:`Cloud`, started once per
process): RabbitMQ (the process's shared broker, a virtual host of
Nova's), PostgreSQL, Nova with the fake virt driver and
:class:`~image_family_svc.hooks.nova_filter.ImageFamilyFilter` among its
scheduler filters, its Glance with
:mod:`~image_family_svc.hooks.glance_middleware` in its paste pipeline and
an image cache, and image_family_svc itself: its API on 127.0.0.1 in a
thread of this process, its engine (listeners of Glance's and Nova's
notifications on that virtual host, the sweep) in threads too, with
``glance_driver = glance``.

Identity: there is no Keystone (see the Nova and Glance fixtures).  The
hooks authenticate with keystoneauth1's ``admin_token`` plugin and a
token that :class:`ServiceTokenFilter`, in front of the noauth API, maps
to a user with the ``service`` role, as auth_token would map a real
service user's token.  The glance driver uses ``auth_type = none``: the
Glance fixture gives a request without identity its admin.
"""

import datetime
import os
import socketserver
import threading
import time
import uuid
import wsgiref.simple_server

import requests
import testtools
from testtools import content

from image_family_svc.cmd import engine
from image_family_svc.db import usage as usage_db
from image_family_svc import service
from image_family_svc import usage_reconcile
from svc_common import config
from svc_common import context
from svc_common.db import database
from svc_common.db import migration
from svc_common.tests.fixtures import api as api_fixture
from svc_common.tests.fixtures import nova as nova_fixture
from svc_common.tests.fixtures import ports
from svc_common.tests.fixtures import postgresql
from svc_common.tests.fixtures import shared
from svc_common import wsgi_app

SERVICE_TOKEN = 'image-family-hooks-%s' % uuid.uuid4().hex
ADMIN = api_fixture.SYSTEM_ADMIN
TINY = b'\0' * 4096
FILTER = 'image_family_svc.hooks.nova_filter.ImageFamilyFilter'
MIDDLEWARE = 'image_family_svc.hooks.glance_middleware:filter_factory'
WAIT = 60


class ServiceTokenFilter(object):
    """What auth_token would do for the hooks' service user: the token
    :data:`SERVICE_TOKEN` becomes a user with the ``service`` role."""

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        if environ.get('HTTP_X_AUTH_TOKEN') == SERVICE_TOKEN:
            environ['HTTP_X_USER_ID'] = 'hooks'
            environ['HTTP_X_PROJECT_ID'] = 'service'
            environ['HTTP_X_ROLES'] = 'service'
        return self.application(environ, start_response)


class _ThreadingServer(socketserver.ThreadingMixIn,
                       wsgiref.simple_server.WSGIServer):
    daemon_threads = True


class _QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, *args):
        pass


def _hook_auth(url):
    return {'auth_type': 'admin_token', 'token': SERVICE_TOKEN,
            'endpoint': url, 'endpoint_override': url,
            'cache_seconds': '0', 'fail_open': 'false'}


class Cloud(object):
    """Nova, Glance and image_family_svc wired together (module doc)."""

    def start(self):
        self.port = ports.free_port()
        self.url = 'http://127.0.0.1:%d' % self.port
        hooks = _hook_auth(self.url)
        self.nova = nova_fixture.Nova(
            computes=2,
            available_filters=[FILTER],
            enabled_filters=list(nova_fixture.DEFAULT_FILTERS) +
            ['ImageFamilyFilter'],
            extra_config={'image_family_filter': hooks},
            glance_options={
                'extra_filters': {'image_family': {
                    'paste.filter_factory': MIDDLEWARE}},
                'extra_config': {
                    'image_family_middleware': hooks,
                    'DEFAULT': {'image_cache_dir': 'image-cache',
                                'image_cache_driver': 'sqlite'}}})
        self.nova.setUp()
        self.glance = self.nova.glance
        server = postgresql.shared_server()
        self.db_name = server.create_database('image_family_e2e_%s'
                                              % uuid.uuid4().hex[:8])
        self.conf = config.build_conf(service.SPEC, overrides={
            ('api', 'auth_strategy'): 'noauth',
            ('database', 'connection'): server.url(self.db_name),
            (None, 'state_path'): self.nova.base_dir,
            (None, 'transport_url'): self.nova.transport_url,
            ('image_family', 'glance_driver'): 'glance',
            ('image_family', 'schedule_interval'): 3600,
            ('image_family', 'usage_reconcile_interval'): 0,
            ('image_family', 'obsolete_drain_seconds'): 0,
            ('glance', 'auth_type'): 'none',
            ('glance', 'endpoint_override'): self.glance.url,
            ('glance', 'cache_api_urls'): [self.glance.url]})
        migration.upgrade(service.SPEC, self.conf.database.connection)
        app = ServiceTokenFilter(wsgi_app.make_application(service.SPEC,
                                                           self.conf))
        self.httpd = wsgiref.simple_server.make_server(
            '127.0.0.1', self.port, app, server_class=_ThreadingServer,
            handler_class=_QuietHandler)
        threading.Thread(target=self.httpd.serve_forever,
                         daemon=True).start()
        self.db = database.Database(self.conf)
        self.runner = engine.build_runner(self.conf, self.db)
        self.runner.start()
        return self

    def stop(self):
        self.runner.stop()
        self.httpd.shutdown()
        self.db.dispose()
        self.nova.cleanUp()
        postgresql.shared_server().drop_database(self.db_name)

    def sweep_now(self):
        """Run the engine's sweep now (as its interval would)."""
        [task] = [t for t in self.runner.tasks
                  if t.name == engine.SCHEDULE_TASK]
        runs = task.runs
        task.wake()
        wait_for(lambda: task.runs > runs, 'the sweep ran')


_cloud = shared.SharedInstance(lambda: Cloud().start(),
                               lambda cloud: cloud.stop())


def wait_for(predicate, what, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError('Timed out waiting until %s' % what)
        time.sleep(0.2)


class EndToEndTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.cloud = _cloud.get()
        self.glance = self.cloud.glance
        self.nova = self.cloud.nova
        self.http = requests.Session()
        self.addCleanup(self.http.close)
        self.family = 'e2e-%s' % uuid.uuid4().hex[:8]
        self.addOnException(self._glance_log)
        self.api('POST', '/v1/families', {'name': self.family,
                                          'visibility': 'public'})

    # -- helpers ------------------------------------------------------

    def _glance_log(self, exc_info):
        self.addDetail('glance-log', content.text_content(shared.tail(
            os.path.join(self.glance.base_dir, 'glance.log'), 60)))

    def api(self, method, path, body=None, status=None):
        response = self.http.request(method, self.cloud.url + path,
                                     json=body, headers=ADMIN, timeout=30)
        if status is None:
            self.assertLess(response.status_code, 300, response.text)
        else:
            self.assertEqual(status, response.status_code, response.text)
        return response.json() if response.content else None

    def move(self, image_id, to, **extra):
        return self.api('POST', '/v1/images/%s/transitions' % image_id,
                        dict(extra, to=to))

    def member(self, image_id):
        response = self.http.get(self.cloud.url + '/v1/images/' + image_id,
                                 headers=ADMIN, timeout=30)
        return response.json()['image'] if response.ok else None

    def upload(self, version):
        """An image uploaded to Glance with the family's properties; it
        joins from Glance's notifications.

        A transition may be asked for at once: the engine's write of the
        join and the API's write of the transition take turns, and the
        last writes what the database says then
        (:mod:`image_family_svc.db.glance_writes`)."""
        image_id = self.glance.create_image(
            data=TINY, arbiter_family=self.family, os_distro='centos',
            os_version=version, architecture='x86_64')
        # Still in use when a test fails half-way: 409, left to the end.
        self.addCleanup(self.glance.request, 'DELETE',
                        '/v2/images/%s' % image_id, expect=(204, 404, 409))
        wait_for(lambda: self.member(image_id), 'image %s joins' % image_id)
        return image_id

    def glance_says(self, image_id, **expected):
        def matches():
            image = self.glance.get_image(image_id)
            return all(image.get(k) == v for k, v in expected.items())
        wait_for(matches, 'Glance shows %s on %s' % (expected, image_id))
        return self.glance.get_image(image_id)

    def boot(self, image_id, flavor):
        server_id = self.nova.boot(image_id, flavor)
        self.addCleanup(self.nova.delete, server_id)
        return server_id

    def servers(self, image_id):
        return self.api('GET', '/v1/images/%s/usage' % image_id)['servers']

    # -- the tests ----------------------------------------------------

    def test_lifecycle_from_glance_notification_to_scheduled_obsolete(self):
        old = self.upload('7.8')
        member = self.member(old)
        self.assertEqual((self.family, '7.8', 'testing'),
                         (member['family'], member['version'],
                          member['state']))
        self.move(old, 'active')
        self.glance_says(old, arbiter_family_state='active',
                         arbiter_family=self.family, os_hidden=False)
        # The new latest is queued for (and cached by) Glance's cache.
        wait_for(lambda: old in str(self.glance.request(
            'GET', '/v2/cache').json()), 'image in Glance\'s cache')

        new = self.upload('7.9')
        self.move(new, 'active')
        self.move(old, 'deprecated')
        image = self.glance_says(old, os_hidden=True,
                                 arbiter_family_state='deprecated',
                                 arbiter_family_successor=new)
        self.assertEqual('active', image['status'])
        self.assertEqual(new, self.api(
            'GET', '/v1/families/%s/latest' % self.family)['image'][
            'image_id'])
        self.assertNotIn(old, [i['id'] for i in self.glance.list_images()])

        at = (datetime.datetime.now(datetime.timezone.utc) +
              datetime.timedelta(seconds=2)).isoformat()
        self.move(old, 'obsolete', at=at)
        time.sleep(2.5)
        self.cloud.sweep_now()
        self.assertEqual('obsolete', self.member(old)['state'])
        image = self.glance_says(old, arbiter_family_state='obsolete')
        # Hidden, never deactivated: Nova can still download it.
        self.assertEqual(('active', True),
                         (image['status'], image['os_hidden']))

    def test_scheduler_refuses_new_boots_but_moves_servers(self):
        image_id = self.upload('8.1')
        self.move(image_id, 'active')
        flavor = self.nova.create_flavor(vcpus=1)
        server_id = self.boot(image_id, flavor)
        before = self.nova.wait_for_status(server_id, 'ACTIVE')
        self.move(image_id, 'obsolete')

        refused = self.boot(image_id, flavor)
        self.nova.wait_for_status(refused, 'ERROR')
        # The conductor records the fault just after the ERROR state.
        server = wait_for(lambda: self.nova.get_server(refused).get('fault'),
                          'the fault of %s' % refused)
        self.assertIn('No valid host', server['message'])

        moved = self.nova.migrate(server_id)
        self.assertEqual('ACTIVE', moved['status'])
        self.assertNotEqual(before['OS-EXT-SRV-ATTR:host'],
                            moved['OS-EXT-SRV-ATTR:host'])
        live = self.nova.live_migrate(server_id)
        self.assertEqual(before['OS-EXT-SRV-ATTR:host'],
                         live['OS-EXT-SRV-ATTR:host'])

    def test_delete_refused_while_a_server_uses_the_image(self):
        image_id = self.upload('9.0')
        self.move(image_id, 'active')
        flavor = self.nova.create_flavor(vcpus=1)
        server_id = self.boot(image_id, flavor)
        self.nova.wait_for_status(server_id, 'ACTIVE')
        wait_for(lambda: self.servers(image_id) == 1,
                 'usage learnt from instance.create.end')

        # A project admin's delete through Glance: refused with the count.
        response = self.glance.request('DELETE', '/v2/images/%s' % image_id,
                                       expect=409)
        self.assertEqual('1', response.headers['X-Image-Family-Servers'])
        self.assertEqual('active', self.glance.get_image(image_id)['status'])

        # Deletion in the lifecycle waits for the server too ...
        self.move(image_id, 'obsolete')
        self.move(image_id, 'deleted')
        self.assertEqual('pending_delete', self.member(image_id)['state'])
        self.nova.delete(server_id)
        # ... and happens, through Glance's API (and its middleware), once
        # instance.delete.end has said the server is gone.
        wait_for(lambda: self.glance.request(
            'GET', '/v2/images/%s' % image_id,
            expect=(200, 404)).status_code == 404,
            'the glance driver deleted the image')

    def test_unused_image_delete_passes_and_reconciliation(self):
        image_id = self.upload('10.0')
        self.move(image_id, 'active')
        flavor = self.nova.create_flavor(vcpus=1)
        server_id = self.boot(image_id, flavor)
        self.nova.wait_for_status(server_id, 'ACTIVE')
        wait_for(lambda: self.servers(image_id) == 1, 'usage counted')
        # A lost count, as the reconciliation sees it.  Nova makes the
        # server ACTIVE before it sends instance.create.end, so that
        # notification may still be on its way and count the server
        # again after the loss is made: then the loss is made again
        # (a few times at most), and the count must have been put back
        # by that notification, never left at 0.
        ctx = context.admin_context()
        nova = requests_adapter(self.nova)
        reconciler = usage_reconcile.Reconciler(self.cloud.conf,
                                                self.cloud.db, nova=nova)
        for attempt in range(5):
            usage_db.server_deleted(self.cloud.db, ctx, server_id)
            corrected = reconciler.run()
            if image_id in corrected:
                break
            self.assertEqual(1, self.servers(image_id),
                             'neither the reconciliation nor a late '
                             'notification counted the server')
        self.assertEqual((0, 1), corrected[image_id])
        self.assertEqual(1, self.servers(image_id))

        self.nova.delete(server_id)
        wait_for(lambda: self.servers(image_id) == 0, 'usage back to 0')
        self.glance.request('DELETE', '/v2/images/%s' % image_id,
                            expect=204)
        wait_for(lambda: self.member(image_id) is None,
                 'image.delete makes it leave its family')


def requests_adapter(nova):
    """A keystoneauth1 adapter of the fixture's Nova with its identity
    headers (the fixture has no Keystone to give a token)."""
    from keystoneauth1 import adapter
    from keystoneauth1 import session
    headers = nova.headers()
    headers.pop('OpenStack-API-Version')
    return adapter.Adapter(session.Session(), service_type='compute',
                           endpoint_override=nova.url,
                           additional_headers=headers)
