"""The API's requests while Glance takes connections and never answers
(a Glance that hangs): a change of several images waits for one
request's ``[glance] timeout``, not one per image, and the changes that
follow leave their writes to the engine's retries for a while."""

import socket
import threading

import fixtures

from image_family_svc.db import glance_writes as glance_writes_db
from image_family_svc.db import members as members_db
from image_family_svc.tests.functional import base
from svc_common import context
from svc_common.db import database


class CountingHangingPort(fixtures.Fixture):
    """A port of 127.0.0.1 that accepts connections, counts them and
    never answers."""

    def _setUp(self):
        self.accepted = []
        sock = socket.socket()
        sock.bind(('127.0.0.1', 0))
        sock.listen(16)
        sock.settimeout(0.2)
        self.url = 'http://127.0.0.1:%d' % sock.getsockname()[1]
        stop = threading.Event()

        def accept():
            while not stop.is_set():
                try:
                    conn, _ = sock.accept()
                except socket.timeout:
                    continue
                except OSError:
                    return
                self.accepted.append(conn)

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()

        def close():
            stop.set()
            thread.join(5)
            sock.close()
            for conn in self.accepted:
                conn.close()

        self.addCleanup(close)


class TestGlanceHanging(base.ApiTestCase):

    def setUp(self):
        self.glance = self.useFixture(CountingHangingPort())
        self.OVERRIDES = dict(self.OVERRIDES)
        self.OVERRIDES.update({
            ('image_family', 'glance_driver'): 'glance',
            ('glance', 'auth_type'): 'none',
            ('glance', 'endpoint_override'): self.glance.url,
            ('glance', 'timeout'): 1})
        super().setUp()
        self.db = database.Database(self.fixture.conf)
        self.addCleanup(self.db.dispose)
        self.family('centos-7')
        # Three active members, joined without the API (nothing written
        # to Glance yet).
        for n in (1, 2, 3):
            members_db.join(self.db, context.admin_context(), 'centos-7',
                            'img-%d' % n, '7.%d' % n, dict(base.PROPS),
                            state='active')

    def test_one_wait_for_glance_then_writes_left_to_the_engine(self):
        # Retention makes img-1 and img-2 obsolete: two images to write.
        self.app.patch_json('/v1/families/centos-7', {'keep_superseded': 0},
                            headers=base.ADMIN)
        self.assertEqual('obsolete', self.image('img-1')['state'])
        self.assertEqual('obsolete', self.image('img-2')['state'])
        # The next change, right after, does not wait for Glance again.
        self.move('img-3', 'deprecated')
        self.assertEqual(1, len(self.glance.accepted))
        # Every change stays recorded for the engine's retry of writes.
        self.assertEqual(['img-1', 'img-2', 'img-3'], sorted(
            glance_writes_db.due(self.db, context.admin_context(), 10,
                                 members_db.families_db.now())))
