"""What the client of POST /v1/pending reads when the trust its servers
are built with cannot be taken: which way Keystone failed, not
keystoneauth's text (real keystoneauth1 sessions, a port on 127.0.0.1
that nothing listens on)."""

import socket
import types

import fixtures
from keystoneauth1 import exceptions as ks_exc
import testtools

from reaper_svc.api import pending
from reaper_svc import cloud_errors
from reaper_svc import trusts
from svc_common import errors


def _closed_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class TestTrustRefusalDetail(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(30, gentle=True))
        self.conf = types.SimpleNamespace(
            api=types.SimpleNamespace(auth_strategy='keystone'),
            trustee=types.SimpleNamespace(roles=[]))
        self.ctx = types.SimpleNamespace(
            auth_token='user-token', user_id='alice', project_id='p1',
            roles=['member'])

    def refusal(self, broker):
        self.useFixture(fixtures.MockPatchObject(trusts, 'get',
                                                 lambda conf: broker))
        exc = self.assertRaises(errors.ApiError, pending.take_trust,
                                self.conf, self.ctx)
        self.assertEqual(503, exc.status)
        return str(exc)

    def test_keystone_away(self):
        # keystoneauth's text named Keystone's URL, address and port:
        # "Unable to establish connection to http://127.0.0.1:...".
        port = _closed_port()
        detail = self.refusal(trusts.KeystoneTrusts(
            'http://127.0.0.1:%d/v3' % port, 'reaper', 'secret'))
        self.assertIn('Keystone could not be reached', detail)
        self.assertIn('Try again later', detail)
        for internal in (str(port), '127.0.0.1', 'Errno', 'http'):
            self.assertNotIn(internal, detail)

    def test_keystone_refusing_says_why(self):
        # A refusal's own message is Keystone's, for its client.
        refused = ks_exc.Forbidden(
            message='You may not delegate role admin.', http_status=403)
        broker = types.SimpleNamespace(
            create_trust=lambda *args: (_ for _ in ()).throw(refused))
        detail = self.refusal(broker)
        self.assertIn('Keystone answered HTTP 403: "You may not delegate '
                      'role admin.". Ask your cloud\'s operator', detail)
        self.assertNotIn('Try again later', detail)
        # Another answer (a 500) tells only its status, as Nova's does.
        self.assertEqual(
            'Keystone answered HTTP 500',
            cloud_errors.keystoneauth_failure(
                'Keystone', ks_exc.InternalServerError(
                    message='at http://10.0.0.5', http_status=500)))

    def test_a_long_refusal_is_cut_after_a_whole_character(self):
        """A service's message of more than 200 characters is quoted as
        errors.quoted_id quotes a client's ID: its JSON text was cut
        anywhere, in the middle of an escape ("\\u00e..."), and its
        closing quotation mark was lost."""
        for message, kept in (
                ('x' * 193 + '\u00e9\n', 'x' * 193),
                ('caf' + '\u00e9' * 200, 'caf' + '\\u00e9' * 32)):
            shown = cloud_errors.keystoneauth_failure(
                'Nova', ks_exc.Forbidden(message=message, http_status=403))
            self.assertEqual('Nova answered HTTP 403: "%s"...' % kept, shown)
