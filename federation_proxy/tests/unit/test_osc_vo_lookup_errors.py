"""What a person reads when they name a VO by its name where only its ID
can work, or a member by their user ID where a membership's ID is needed.

``openstack vo request create astro`` answered "No vo astro.", and
``openstack vo show astro`` "Policy does not allow vo:list.": neither
said that such a person must give the VO's ID.  ``openstack vo member
set astro bob`` and ``vo member remove astro bob`` answered "No membership
bob." and "Failed to delete ...".
"""

from unittest import mock

from osc_lib import exceptions
import testtools

from federation_proxy.osc.v1 import vo
from svc_common.clients import rest


class RefusingClient(object):
    """A VO lookup by ID finds nothing; listing VOs is forbidden; a
    request to join an unknown VO is a 404."""

    adapter = None

    def get(self, path, **kwargs):
        raise rest.NotFound(404, code='federation.vo_not_found',
                            detail='No vo "astro".', request_id='req-1')

    def list(self, path, collection, filters=None, limit=None,
             marker=None):
        raise rest.ApiError(403, code='federation.forbidden',
                            detail='Policy does not allow vo:list.',
                            request_id='req-2')

    def post(self, path, json=None):
        raise rest.NotFound(404, code='federation.vo_not_found',
                            detail='No vo "astro".', request_id='req-3')


def run(command_class, argv):
    app = mock.Mock()
    app.client_manager.federation = RefusingClient()
    cmd = command_class(app, None)
    parsed = cmd.get_parser('openstack').parse_args(argv)
    return cmd.run(parsed)


class TestNamesOfUnseenVOs(testtools.TestCase):

    def test_request_by_name_says_the_id_is_needed(self):
        exc = self.assertRaises(exceptions.CommandError, run,
                                vo.CreateRequest, ['astro'])
        self.assertEqual(
            "No vo \"astro\". (HTTP 404 federation.vo_not_found, request "
            "req-3) This command takes the VO's ID, not its name (until "
            "you are a member you cannot see the VO): ask its managers "
            "for the ID.", str(exc))

    def test_show_by_name_without_list_right_says_give_the_id(self):
        exc = self.assertRaises(exceptions.CommandError, run,
                                vo.ShowVO, ['astro'])
        self.assertEqual(
            "No VO with ID astro that you can see, and you may not list "
            "VOs to find one by that name: give the VO's ID (its managers "
            "know it). (HTTP 403 federation.forbidden, request req-2)",
            str(exc))


class MembershipClient(object):
    """Knows the VO astro; no membership is called bob."""

    adapter = None

    def get(self, path, **kwargs):
        return {'vo': {'id': 'v1', 'name': 'astro'}}

    def _absent(self, path, json=None):
        raise rest.NotFound(404, code='federation.membership_not_found',
                            detail='No membership "bob".', request_id='req-5')

    patch = delete = _absent


HINT = (' These commands take a membership\'s ID, not a person\'s: '
        '"openstack vo member list <vo> --user <user-id>" shows the '
        'memberships of a person.')


class TestMembershipIds(testtools.TestCase):

    def run_member(self, command_class, argv):
        app = mock.Mock()
        app.client_manager.federation = MembershipClient()
        cmd = command_class(app, None)
        return str(self.assertRaises(
            exceptions.CommandError, cmd.run,
            cmd.get_parser('openstack').parse_args(argv)))

    def test_set_with_a_user_id(self):
        self.assertEqual(
            'No membership "bob". (HTTP 404 federation.membership_not_found, '
            'request req-5)' + HINT,
            self.run_member(vo.SetMember, ['astro', 'bob', '--status',
                                           'suspended']))

    def test_remove_with_a_user_id(self):
        self.assertEqual(
            'Failed to remove 1 of 1 memberships:\nbob: No membership "bob". '
            '(HTTP 404 federation.membership_not_found, request req-5)'
            + HINT,
            self.run_member(vo.RemoveMember, ['astro', 'bob']))
