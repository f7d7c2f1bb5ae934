"""The promoter's late-server sweep against a real Nova 34: the list
calls Nova sees.

Nova filters a server list by project, not by metadata: each look for
the servers that interrupted builds of a project's pending requests left
is a listing of every server of the project, every page of ``GET
/servers/detail``.  A pass lists each project once for all its
requests, and at most ``[preemption] late_server_projects_per_pass``
projects; the pages are Nova's own (``[nova] page_size`` 2 here, each
answered with a ``next`` link when full).

Nova is the process's shared Nova fixture: its API, scheduler and
conductor are real, its compute nodes the fake virt driver's (the test
double of a hypervisor), and it has no Keystone: the ``openstack``
driver sends the identity headers nova-api takes as they come, as an
admin, and the servers standing for the late ones are booted with the
``X-User-Id`` of the user the promoter builds as.  The servers need no
room (those Nova finds none for, in ``ERROR``, are listed and deleted
alike).
"""

import os
import types
import uuid

import fixtures
import testtools

from reaper_svc.db import actions as actions_db
from reaper_svc.db import pending as pending_db
from reaper_svc import promoter as promoter_mod
from reaper_svc import service
from reaper_svc.tests.functional import test_promoter_sweep_listings as tsl
from reaper_svc.tests.functional import test_real_nova as trn
from svc_common import context
from svc_common.db import database
from svc_common.db import migration
from svc_common.tests.fixtures import nova as nova_fixture

BUILDER = 'reaper-builder'


class TestSweepOnRealNova(testtools.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.nova = nova_fixture.shared_nova()
        cls.image = cls.nova.glance.create_image(data=b'\0' * 1024)
        cls.flavor = cls.nova.create_flavor(vcpus=1)

    def setUp(self):
        super().setUp()
        self.ctx = context.admin_context()
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, 'reaper.conf')
        trn.write_config(path, tmp, self.nova, 0)
        self.conf = trn.build_conf(path)
        self.conf.set_override('late_server_projects_per_pass', 1,
                               'preemption')
        migration.upgrade(service.SPEC, self.conf.database.connection)
        self.db = database.Database(self.conf)
        self.driver = trn.build_driver(self.conf, self.nova.project_id,
                                       self.nova.user_id)
        self.conf.set_override('page_size', 2, 'nova')
        self.sent = []
        real = self.driver.nova.request

        def request(url, method, **kwargs):
            self.sent.append((method, url, dict(kwargs.get('params') or {})))
            return real(url, method, **kwargs)
        self.useFixture(fixtures.MockPatchObject(
            self.driver.nova, 'request', request))
        self.now = actions_db.utcnow()

    def boot(self, project, user_id, metadata):
        body = {'name': 'sweep-%s' % uuid.uuid4().hex[:8],
                'imageRef': self.image, 'flavorRef': self.flavor,
                'networks': 'none', 'metadata': metadata}
        server = self.nova.request(
            'POST', '/servers', json={'server': body}, project_id=project,
            headers={'X-User-Id': user_id}, expect=202).json()['server']
        self.addCleanup(self.nova.delete, server['id'])
        return server['id']

    def listings(self):
        """The project of each listing (its first page) Nova was sent."""
        return [params['project_id'] for method, url, params in self.sent
                if method == 'GET' and url == '/servers/detail'
                and 'marker' not in params]

    def left(self, project):
        return sorted(s['id'] for s in self.nova.list_servers(
            project_id=project) if s['status'] != 'DELETED')

    def test_one_listing_per_project_per_pass_every_page(self):
        projects = sorted(uuid.uuid4().hex for _ in range(2))
        kept, late = {}, {}
        for project in projects:
            kept[project] = [self.boot(project, 'alice', {})]
            late[project] = []
            for state in (pending_db.CANCELLED, pending_db.FAILED):
                rid = tsl.ended_after_interruption(
                    self.db, self.ctx, project, state, self.now,
                    build_user_id=BUILDER)
                tag = {promoter_mod.REQUEST_METADATA: rid}
                # A member's server tagged with the request's id, and
                # the one its interrupted build left.
                kept[project].append(self.boot(project, 'member', tag))
                late[project].append(self.boot(project, BUILDER, dict(
                    tag, **{promoter_mod.TOKEN_METADATA: 'token-' + rid})))
        promoter = promoter_mod.Promoter(
            self.conf, self.db, types.SimpleNamespace(
                driver=self.driver, clock=lambda: self.now),
            clock=lambda: self.now)

        promoter.promote()
        # One project a pass, listed once for its two requests, every
        # page (five servers, two a page) read.
        self.assertEqual([projects[0]], self.listings())
        pages = [params for method, url, params in self.sent
                 if method == 'GET' and url == '/servers/detail']
        self.assertEqual(3, len(pages))
        for server_id in late[projects[0]]:
            self.nova.wait_for_status(server_id, 'DELETED')
        self.assertEqual(sorted(kept[projects[0]]), self.left(projects[0]))
        self.assertEqual(sorted(kept[projects[1]] + late[projects[1]]),
                         self.left(projects[1]))

        self.sent = []
        promoter.promote()
        self.assertEqual([projects[1]], self.listings())
        for server_id in late[projects[1]]:
            self.nova.wait_for_status(server_id, 'DELETED')
        self.assertEqual(sorted(kept[projects[1]]), self.left(projects[1]))
