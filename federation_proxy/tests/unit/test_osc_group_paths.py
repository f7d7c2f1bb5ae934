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


class ShowAndDeleteClient(RecordingClient):
    """Answers a group's GET and records DELETEs; the VO has the roles
    ``manager`` and ``observer``."""

    def __init__(self):
        super().__init__()
        self.gets = []
        self.deletes = []

    def get(self, path, **kwargs):
        self.gets.append(path)
        if path == '/v1/vos/astro':
            return {'vo': VO}
        return {'group': {'id': path.rsplit('/', 1)[1]}}

    def list(self, path, collection, filters=None, limit=None,
             marker=None):
        if collection == 'roles':
            return iter([{'id': 'r0', 'name': 'manager'},
                         {'id': 'r1', 'name': 'observer'}])
        return super().list(path, collection, filters, limit, marker)

    def delete(self, path):
        self.deletes.append(path)


class TestShowAndDeleteByPathOrName(testtools.TestCase):
    """"vo group show astro astro:radio" answered "No group
    astro:radio." while --group took the path; roles are deleted by
    name as they are created."""

    def run_with(self, command_class, argv):
        client = ShowAndDeleteClient()
        app = mock.Mock()
        app.client_manager.federation = client
        cmd = command_class(app, None)
        cmd.run(cmd.get_parser('openstack').parse_args(argv))
        return client

    def test_group_show_by_path(self):
        client = self.run_with(group.ShowGroup,
                               ['astro', 'astro:radio', '-f', 'value'])
        self.assertEqual('/v1/vos/v1/groups/g1', client.gets[-1])

    def test_group_delete_by_path_and_id(self):
        client = self.run_with(group.DeleteGroup,
                               ['astro', 'astro:radio', 'g0', 'astro:x'])
        # An unknown path is sent as it is: the service's 404 names it.
        self.assertEqual(['/v1/vos/v1/groups/g1', '/v1/vos/v1/groups/g0',
                          '/v1/vos/v1/groups/astro%3Ax'], client.deletes)

    def test_role_delete_by_name(self):
        client = self.run_with(group.DeleteRole, ['astro', 'observer', 'r0'])
        self.assertEqual(['/v1/vos/v1/roles/r1', '/v1/vos/v1/roles/r0'],
                         client.deletes)
