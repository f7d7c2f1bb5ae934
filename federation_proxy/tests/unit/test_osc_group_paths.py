"""A VO's group named on the command line by its path.

People see a group as its path (``astro:radio`` in ``openstack vo group
list`` and in their entitlements), but ``--group`` and ``--parent`` took
only IDs: ``openstack vo member add astro bob --group astro:radio``
answered "No group astro:radio.".
"""

from unittest import mock

from osc_lib import exceptions
import testtools

from federation_proxy.osc.v1 import group
from federation_proxy.osc.v1 import vo

VO = {'id': 'v1', 'name': 'astro'}
GROUPS = [{'id': 'g0', 'path': 'astro'}, {'id': 'g1', 'path': 'astro:radio'}]


class RecordingClient(object):
    adapter = None

    def __init__(self):
        self.posts = []

    def get(self, path, **kwargs):
        assert path == '/v1/vos/astro', path
        return {'vo': VO}

    def list(self, path, collection, filters=None, limit=None,
             marker=None):
        assert (path, collection) == ('/v1/vos/v1/groups', 'groups')
        return iter(GROUPS)

    def post(self, path, json=None):
        self.posts.append((path, json))
        key = path.rsplit('/', 1)[1]
        return {{'groups': 'group', 'memberships': 'membership',
                 'invitations': 'invitation'}[key]: {'id': 'x'}}


def run(command_class, argv):
    client = RecordingClient()
    app = mock.Mock()
    app.client_manager.federation = client
    cmd = command_class(app, None)
    cmd.run(cmd.get_parser('openstack').parse_args(argv))
    return client.posts


class TestGroupPaths(testtools.TestCase):

    def test_member_add_with_a_path(self):
        self.assertEqual(
            [('/v1/vos/v1/memberships', {'user_id': 'bob', 'role': 'member',
                                         'group_id': 'g1'})],
            run(vo.AddMember, ['astro', 'bob', '--group', 'astro:radio',
                               '-f', 'value']))

    def test_the_vos_name_is_its_root_group(self):
        posts = run(vo.CreateInvitation, ['astro', 'c@example.org',
                                          '--group', 'astro', '-f',
                                          'value'])
        self.assertEqual('g0', posts[0][1]['group_id'])

    def test_parent_by_path(self):
        posts = run(group.CreateGroup, ['astro', 'lofar', '--parent',
                                        'astro:radio', '-f', 'value'])
        self.assertEqual('g1', posts[0][1]['parent_id'])

    def test_an_id_is_sent_as_it_is(self):
        posts = run(vo.AddMember, ['astro', 'bob', '--group', 'g1', '-f',
                                   'value'])
        self.assertEqual('g1', posts[0][1]['group_id'])

    def test_unknown_path_names_the_list_command(self):
        exc = self.assertRaises(exceptions.CommandError, run, vo.AddMember,
                                ['astro', 'bob', '--group', 'astro:nope'])
        self.assertEqual(
            'No group with the path astro:nope in VO astro ("openstack vo '
            'group list astro" shows its groups).', str(exc))
