"""Who "you" are for ``openstack vo request list --mine`` and ``vo
request show``: the user ID of the token, or ``ARBITER_NOAUTH_USER``
without Keystone; the paths they read."""

import argparse

from osc_lib import exceptions
import testtools

from federation_proxy.osc.v1 import common
from federation_proxy.osc.v1 import vo


class Session(object):

    def __init__(self, user_id):
        self.user_id = user_id

    def get_user_id(self):
        return self.user_id


class Adapter(object):

    def __init__(self, headers, user_id):
        self.additional_headers = headers
        self.session = Session(user_id)


class Client(object):
    """Records the paths read; answers one request."""

    def __init__(self, headers=None, user_id=None):
        self.adapter = Adapter(headers or {}, user_id)
        self.session = self.adapter.session
        self.read = []

    def get(self, path, **kwargs):
        self.read.append(path)
        return {'request': {'id': 'r-1', 'vo_id': 'vo-1',
                            'user_id': 'bob', 'status': 'pending'}}

    def list(self, path, collection, filters=None, limit=None,
             marker=None):
        self.read.append((path, filters, limit, marker))
        return iter([{'id': 'r-1', 'vo_id': 'vo-1', 'user_id': 'bob'}])


class TestCallerId(testtools.TestCase):

    def test_the_tokens_user(self):
        self.assertEqual('kid-1', common.caller_id(Client(user_id='kid-1')))

    def test_the_noauth_user(self):
        self.assertEqual('bob', common.caller_id(Client(
            headers={'X-User-Id': 'bob'})))

    def test_nobody_is_a_clear_error(self):
        error = self.assertRaises(exceptions.CommandError,
                                  common.caller_id, Client())
        self.assertIn('ARBITER_NOAUTH_USER', str(error))


class TestCommands(testtools.TestCase):

    def run_command(self, cls, client, argv):
        app = argparse.Namespace(client_manager=argparse.Namespace(
            federation=client))
        command = cls(app, argparse.Namespace())
        parsed = command.get_parser('openstack').parse_args(argv)
        return command.take_action(parsed)

    def test_list_mine(self):
        client = Client(user_id='bob%1')
        headings, rows = self.run_command(
            vo.ListRequest, client, ['--mine', '--status', 'pending'])
        self.assertEqual('VO ID', headings[0])
        self.assertEqual([('/v1/users/bob%251/requests',
                           {'status': 'pending', 'vo_id': None}, None,
                           None)], client.read)
        self.assertEqual('vo-1', list(rows)[0][0])

    def test_show_mine_and_someone_elses(self):
        client = Client(headers={'X-User-Id': 'bob'})
        self.run_command(vo.ShowRequest, client, ['r-1'])
        self.run_command(vo.ShowRequest, client, ['r-1', '--user', 'carol'])
        self.assertEqual(['/v1/users/bob/requests/r-1',
                          '/v1/users/carol/requests/r-1'], client.read)
