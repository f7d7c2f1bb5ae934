"""Who "you" are for ``openstack vo request list --mine`` and ``vo
request show``: the user ID of the token, or ``ARBITER_NOAUTH_USER``
without Keystone; the paths they read."""

import argparse

from osc_lib import exceptions
import testtools

from federation_proxy.osc.v1 import common
from federation_proxy.osc.v1 import vo
from svc_common.clients import rest


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


class VOClient(Client):
    """Bob asked to join the VO ``vo-1`` (he cannot see it); he is a
    member of ``vo-2``, named ``name``, which he can see."""

    def __init__(self, name='astro'):
        super().__init__(headers={'X-User-Id': 'bob'})
        self.name = name

    def get(self, path, **kwargs):
        self.read.append(path)
        if path == '/v1/vos/vo-2':
            return {'vo': {'id': 'vo-2', 'name': self.name}}
        raise rest.NotFound(404, 'federation.vo_not_found')

    def list(self, path, collection, filters=None, limit=None,
             marker=None):
        self.read.append((path, filters, limit, marker))
        if collection == 'vos':
            return iter([{'id': 'vo-2', 'name': self.name}])
        vo_id = (filters or {}).get('vo_id')
        if vo_id is not None and ' ' in vo_id:
            raise rest.ApiError(400, 'federation.bad_request')
        return iter([{'id': 'r-%s' % vo_id, 'vo_id': vo_id,
                      'user_id': 'bob', 'decided_at': None}]
                    if vo_id in (None, 'vo-1') else [])


class TestListMineOfAVO(testtools.TestCase):
    """``vo request list --mine <vo>``: the VO by the ID in the person's
    requests, or by a name or ID the caller can see; else an error (a
    name was sent as an ID and listed nothing)."""

    run_command = TestCommands.run_command

    def list_mine(self, client, *argv):
        headings, rows = self.run_command(vo.ListRequest, client,
                                          ['--mine'] + list(argv))
        return [dict(zip(headings, row)) for row in rows]

    def test_an_id_in_the_requests_or_a_name_that_is_looked_up(self):
        client = VOClient()
        self.assertEqual(['r-vo-1'], [r['ID'] for r in self.list_mine(
            client, 'vo-1')])
        self.assertEqual('vo-1', client.read[-1][1]['vo_id'])
        # (A name with a space is no ID: the service refuses it as vo_id.)
        for name in ('astro', 'as tro'):
            client = VOClient(name)
            self.assertEqual([], self.list_mine(client, name))
            # The request list read last is that of the VO's ID.
            self.assertEqual(('/v1/users/bob/requests',
                              {'status': None, 'vo_id': 'vo-2'}, None,
                              None), client.read[-1])

    def test_a_vo_found_neither_way_is_an_error(self):
        client = VOClient()
        error = self.assertRaises(exceptions.CommandError, self.list_mine,
                                  client, 'bio')
        self.assertIn('No request of bob to a VO with ID bio', str(error))
        error = self.assertRaises(exceptions.CommandError, self.list_mine,
                                  client, 'x y', '--user', 'carol')
        self.assertIn('No request of carol to a VO with ID x y',
                      str(error))

    def test_user_without_mine_is_refused(self):
        client = VOClient()
        error = self.assertRaises(
            exceptions.CommandError, self.run_command, vo.ListRequest,
            client, ['astro', '--user', 'carol'])
        self.assertIn('--user is only for --mine', str(error))
        self.assertEqual([], client.read)

    def test_own_requests_do_not_show_who_decided(self):
        headings, _rows = self.run_command(vo.ListRequest, VOClient(),
                                           ['--mine'])
        self.assertIn('Decided At', headings)
        self.assertNotIn('Decided By', headings)
        names, _values = self.run_command(vo.ShowRequest, Client(
            headers={'X-User-Id': 'bob'}), ['r-1'])
        self.assertNotIn('decided_by', names)
        self.assertIn('decided_at', names)
