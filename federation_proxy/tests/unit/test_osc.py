"""The federation commands' options and the requests they make, on a
recording client (no server)."""

import argparse
import collections
import io
from unittest import mock

from osc_lib import exceptions
import testtools

from federation_proxy.osc.v1 import audit
from federation_proxy.osc.v1 import client as client_cmd
from federation_proxy.osc.v1 import common
from federation_proxy.osc.v1 import group
from federation_proxy.osc.v1 import idp
from federation_proxy.osc.v1 import user
from federation_proxy.osc.v1 import vo
from svc_common.clients import rest


class FakeClient(object):
    """Answers GETs from ``answers`` (path -> body, or an ApiError to
    raise) and records every call."""

    def __init__(self, answers=None):
        self.answers = answers or {}
        self.calls = []
        #: The log_body of each POST and PATCH, in order.
        self.log_body = []

    def _answer(self, method, path, json=None):
        self.calls.append((method, path, json))
        answer = self.answers.get((method, path),
                                  collections.defaultdict(dict))
        if isinstance(answer, Exception):
            raise answer
        return answer

    def get(self, path, **kwargs):
        return self._answer('GET', path)

    def post(self, path, json=None, log_body=True):
        self.log_body.append(log_body)
        return self._answer('POST', path, json)

    def patch(self, path, json=None, log_body=True):
        self.log_body.append(log_body)
        return self._answer('PATCH', path, json)

    def delete(self, path):
        return self._answer('DELETE', path)

    def list(self, path, collection, filters=None, limit=None,
             marker=None):
        self.calls.append(('LIST', path, limit))
        return iter(self.answers.get(('LIST', path), []))


def _not_found():
    return rest.ApiError(404, 'federation.vo_not_found', detail='absent')


def run(command_class, client, argv):
    app = mock.Mock()
    app.client_manager.federation = client
    cmd = command_class(app, None)
    parsed = cmd.get_parser('openstack').parse_args(argv)
    return cmd.take_action(parsed)


def run_shown(command_class, client, argv):
    """Run the command as ``openstack`` does (output and errors
    included); ``(exit status, app)`` with the app's stdout and stderr."""
    app = mock.Mock()
    app.client_manager.federation = client
    app.stdout, app.stderr = io.StringIO(), io.StringIO()
    cmd = command_class(app, None)
    return cmd.run(cmd.get_parser('openstack').parse_args(argv)), app


VO = {'id': 'v1', 'name': 'astro', 'description': None,
      'created_at': 'now'}


class TestVO(testtools.TestCase):

    def test_create_sends_managers(self):
        client = FakeClient({('POST', '/v1/vos'): {'vo': VO}})
        names, values = run(vo.CreateVO, client, [
            'astro', '--manager', 'alice', '--manager', 'bob'])
        self.assertEqual(('POST', '/v1/vos', {
            'name': 'astro', 'managers': ['alice', 'bob']}),
            client.calls[0])
        self.assertEqual('astro', values[names.index('name')])

    def test_vo_found_by_name_when_not_an_id(self):
        client = FakeClient({('GET', '/v1/vos/astro'): _not_found(),
                             ('LIST', '/v1/vos'): [VO]})
        self.assertEqual('/v1/vos/v1/memberships',
                         common.vo_path(client, 'astro', 'memberships'))

    def test_unknown_vo(self):
        client = FakeClient({('GET', '/v1/vos/nope'): _not_found()})
        self.assertRaises(exceptions.CommandError, common.find_vo, client,
                          'nope')

    def test_member_add_defaults_and_options(self):
        client = FakeClient({('GET', '/v1/vos/v1'): {'vo': VO}})
        run(vo.AddMember, client, ['v1', 'bob', '--lifetime-days', '30',
                                   '--group', 'g1'])
        self.assertEqual(('POST', '/v1/vos/v1/memberships', {
            'user_id': 'bob', 'role': 'member', 'group_id': 'g1',
            'lifetime_days': 30}), client.calls[-1])

    def test_member_list_follows_pages_and_filters(self):
        client = FakeClient({('GET', '/v1/vos/v1'): {'vo': VO},
                             ('LIST', '/v1/vos/v1/memberships'): [
                                 {'id': 'm1', 'user_id': 'bob'}]})
        client.list = mock.Mock(wraps=client.list)
        _, rows = run(vo.ListMember, client, ['v1', '--user', 'bob'])
        self.assertEqual([('m1', 'bob')], [row[:2] for row in rows])
        client.list.assert_called_with('/v1/vos/v1/memberships',
                                       'memberships', {'user_id': 'bob'},
                                       None, None)

    def test_member_set(self):
        client = FakeClient({('GET', '/v1/vos/v1'): {'vo': VO}})
        run(vo.SetMember, client, ['v1', 'm1', '--renew-days', '365'])
        self.assertEqual(('PATCH', '/v1/vos/v1/memberships/m1',
                          {'renew_days': 365}), client.calls[-1])

    def test_member_set_without_a_change_shows_it_unchanged(self):
        # As OSC's own set commands: no message ("Nothing to change" was
        # written on standard error), nothing changed, the membership
        # shown as it is.
        client = FakeClient({
            ('GET', '/v1/vos/v1'): {'vo': VO},
            ('GET', '/v1/vos/v1/memberships/m1'): {'membership': {
                'id': 'm1', 'status': 'active'}}})
        result, app = run_shown(vo.SetMember, client,
                                ['v1', 'm1', '-f', 'value', '-c', 'status'])
        self.assertEqual((0, 'active\n', ''), (result, app.stdout.getvalue(),
                                               app.stderr.getvalue()))
        self.assertNotIn('PATCH', [c[0] for c in client.calls])

    def test_member_set_refuses_a_bad_status(self):
        parser = vo.SetMember(mock.Mock(), None).get_parser('openstack')
        self.assertRaises(SystemExit, parser.parse_args,
                          ['v1', 'm1', '--status', 'gone'])

    def test_approve_and_reject(self):
        for command_class, status in ((vo.ApproveRequest, 'approved'),
                                      (vo.RejectRequest, 'rejected')):
            client = FakeClient({('GET', '/v1/vos/v1'): {'vo': VO}})
            run(command_class, client, ['v1', 'r1'])
            self.assertEqual(('PATCH', '/v1/vos/v1/requests/r1',
                              {'status': status}), client.calls[-1])

    def test_request_list_filters_by_status(self):
        client = FakeClient({('GET', '/v1/vos/v1'): {'vo': VO}})
        client.list = mock.Mock(wraps=client.list)
        run(vo.ListRequest, client, ['v1', '--status', 'pending',
                                     '--limit', '5'])
        client.list.assert_called_with('/v1/vos/v1/requests', 'requests',
                                       {'status': 'pending'}, 5, None)

    def test_group_and_role_lists_are_paged(self):
        client = FakeClient({
            ('GET', '/v1/vos/v1'): {'vo': VO},
            ('LIST', '/v1/vos/v1/groups'): [{'id': 'g'}]})
        client.list = mock.Mock(wraps=client.list)
        _, rows = run(group.ListGroup, client, ['v1'])
        self.assertEqual(['g'], [row[0] for row in rows])
        client.list.assert_called_with('/v1/vos/v1/groups', 'groups', {},
                                       None, None)
        run(group.ListRole, client, ['v1', '--limit', '2', '--marker', 'r'])
        client.list.assert_called_with('/v1/vos/v1/roles', 'roles', {}, 2,
                                       'r')

    def test_invitation_create_shows_the_token(self):
        client = FakeClient({
            ('GET', '/v1/vos/v1'): {'vo': VO},
            ('POST', '/v1/vos/v1/invitations'): {'invitation': {
                'id': 'i1', 'token': 'secret-token'}}})
        names, values = run(vo.CreateInvitation, client,
                            ['v1', 'carol@example.org'])
        self.assertEqual('secret-token', values[names.index('token')])
        self.assertEqual({'email': 'carol@example.org'}, client.calls[-1][2])

    def test_invitation_list_shows_who_invited_and_who_accepted(self):
        client = FakeClient({
            ('GET', '/v1/vos/v1'): {'vo': VO},
            ('LIST', '/v1/vos/v1/invitations'): [{
                'id': 'i1', 'email': 'carol@example.org', 'group_id': 'g',
                'role': 'member', 'status': 'accepted', 'expires_at': 'x',
                'created_by': 'bob', 'inviting_manager': 'bob',
                'accepted_by': 'carol'}]})
        headings, rows = run(vo.ListInvitation, client, ['v1'])
        rows = list(rows)
        shown = dict(zip(headings, rows[0]))
        self.assertEqual(('bob', 'bob', 'carol'),
                         (shown['Created By'], shown['Inviting Manager'],
                          shown['Accepted By']))
        names, values = run(vo.CreateInvitation, FakeClient({
            ('GET', '/v1/vos/v1'): {'vo': VO},
            ('POST', '/v1/vos/v1/invitations'): {'invitation': {
                'id': 'i2', 'inviting_manager': 'bob', 'token': 't'}}}),
            ['v1', 'dave@example.org'])
        self.assertEqual('bob', values[names.index('inviting_manager')])

    def test_delete_tries_every_vo(self):
        client = FakeClient({('DELETE', '/v1/vos/a'): _not_found(),
                             ('GET', '/v1/vos/a'): _not_found(),
                             ('GET', '/v1/vos/b'): {'vo': {'id': 'b'}}})
        error = self.assertRaises(exceptions.CommandError, run, vo.DeleteVO,
                                  client, ['a', 'b'])
        self.assertIn('1 of 2', str(error))
        self.assertEqual(['/v1/vos/a', '/v1/vos/b'],
                         [c[1] for c in client.calls if c[0] == 'DELETE'])

    def test_delete_by_name(self):
        # "openstack vo delete astro" answered "No vo astro.", while
        # "vo show astro" found it.
        client = FakeClient({('GET', '/v1/vos/astro'): _not_found(),
                             ('LIST', '/v1/vos'): [VO]})
        run(vo.DeleteVO, client, ['astro'])
        self.assertEqual([('DELETE', '/v1/vos/v1', None)],
                         [c for c in client.calls if c[0] == 'DELETE'])


class TestIdP(testtools.TestCase):

    def test_claim_option(self):
        self.assertEqual(('email', 'mail'), idp.claim('email=mail'))
        for bad in ('email', 'colour=c', 'email='):
            self.assertRaises(argparse.ArgumentTypeError, idp.claim, bad)

    def test_create_body(self):
        client = FakeClient({('POST', '/v1/idps'): {'idp': {'id': 'i1'}}})
        run(idp.CreateIdP, client, [
            'home', '--issuer', 'https://idp.example.org', '--client-id',
            'proxy', '--client-secret', 's', '--discover', '--claim',
            'email=mail'])
        self.assertEqual({'name': 'home', 'issuer': 'https://idp.example.org',
                          'client_id': 'proxy', 'client_secret': 's',
                          'discover': True,
                          'claim_mapping': {'email': 'mail'}},
                         client.calls[-1][2])
        # The body holds the secret: not in the --debug output.
        self.assertEqual([False], client.log_body)

    def test_bodies_without_a_secret_are_logged(self):
        client = FakeClient({('POST', '/v1/idps'): {'idp': {'id': 'i1'}},
                             ('PATCH', '/v1/idps/i1'): {'idp': {
                                 'id': 'i1'}}})
        run(idp.CreateIdP, client, [
            'home', '--issuer', 'https://idp.example.org', '--client-id',
            'proxy'])
        run(idp.SetIdP, client, ['i1', '--name', 'x'])
        run(idp.SetIdP, client, ['i1', '--client-secret', 's'])
        self.assertEqual([True, True, False], client.log_body)
        self.assertEqual({'client_secret': 's'}, client.calls[-1][2])


class TestGroupAndRole(testtools.TestCase):

    def test_group_create_under_a_parent(self):
        client = FakeClient({('GET', '/v1/vos/v1'): {'vo': VO}})
        run(group.CreateGroup, client, ['v1', 'sub', '--parent', 'g1'])
        self.assertEqual(('POST', '/v1/vos/v1/groups',
                          {'name': 'sub', 'parent_id': 'g1'}),
                         client.calls[-1])

    def test_group_create_under_the_vo(self):
        client = FakeClient({('GET', '/v1/vos/v1'): {'vo': VO}})
        run(group.CreateGroup, client, ['v1', 'lab'])
        self.assertEqual({'name': 'lab'}, client.calls[-1][2])

    def test_role_create_and_delete(self):
        client = FakeClient({('GET', '/v1/vos/v1'): {'vo': VO}})
        run(group.CreateRole, client, ['v1', 'curator', '--description',
                                       'Keeps the data'])
        self.assertEqual(('POST', '/v1/vos/v1/roles', {
            'name': 'curator', 'description': 'Keeps the data'}),
            client.calls[-1])
        run(group.DeleteRole, client, ['v1', 'r1', 'r2'])
        self.assertEqual(['/v1/vos/v1/roles/r1', '/v1/vos/v1/roles/r2'],
                         [c[1] for c in client.calls if c[0] == 'DELETE'])


class TestClient(testtools.TestCase):

    def test_create_body(self):
        client = FakeClient({('POST', '/v1/clients'): {'client': {
            'id': 'c1', 'secret': 's'}}})
        names, values = run(client_cmd.CreateClient, client, [
            'cli', '--public', '--grant-type',
            'urn:ietf:params:oauth:grant-type:device_code', '--scope',
            'openid'])
        self.assertEqual({'name': 'cli', 'public': True, 'grant_types': [
            'urn:ietf:params:oauth:grant-type:device_code'],
            'scopes': ['openid']}, client.calls[-1][2])
        self.assertEqual('s', values[names.index('secret')])

    def test_unknown_grant_type_refused(self):
        parser = client_cmd.CreateClient(mock.Mock(), None).get_parser(
            'openstack')
        self.assertRaises(SystemExit, parser.parse_args,
                          ['cli', '--grant-type', 'password'])

    def test_secret_shown_only_when_answered(self):
        client = FakeClient({('GET', '/v1/clients/c1'): {'client': {
            'id': 'c1'}}})
        names, _ = run(client_cmd.ShowClient, client, ['c1'])
        self.assertNotIn('secret', names)

    def test_set_rotates(self):
        client = FakeClient({('PATCH', '/v1/clients/c1'): {'client': {
            'id': 'c1', 'secret': 'new'}}})
        run(client_cmd.SetClient, client, ['c1', '--rotate-secret'])
        self.assertEqual(('PATCH', '/v1/clients/c1',
                          {'rotate_secret': True}), client.calls[-1])

    def test_set_with_nothing_to_change(self):
        # As OSC's own set commands: the client is looked up and shown,
        # nothing changed (it was an error, "Nothing to change").
        client = FakeClient({('GET', '/v1/clients/c1'): {'client': {
            'id': 'c1', 'name': 'portal'}}})
        result, app = run_shown(client_cmd.SetClient, client,
                                ['c1', '-f', 'value', '-c', 'name'])
        self.assertEqual((0, 'portal\n', ''), (
            result, app.stdout.getvalue(), app.stderr.getvalue()))
        self.assertEqual([('GET', '/v1/clients/c1', None)], client.calls)
        client = FakeClient({('GET', '/v1/clients/gone'): rest.ApiError(
            404, 'federation.client_not_found', detail='No client "gone".',
            request_id='r-1')})
        error = self.assertRaises(exceptions.CommandError, run_shown,
                                  client_cmd.SetClient, client, ['gone'])
        self.assertEqual('No client "gone". (HTTP 404 '
                         'federation.client_not_found, request r-1)',
                         str(error))


class TestAudit(testtools.TestCase):

    def test_filtered_by_vo_name(self):
        client = FakeClient({('GET', '/v1/vos/astro'): _not_found(),
                             ('LIST', '/v1/vos'): [VO]})
        client.list = mock.Mock(wraps=client.list)
        run(audit.ListAudit, client, ['--vo', 'astro'])
        client.list.assert_called_with('/v1/audit', 'audit',
                                       {'vo_id': 'v1'}, None, None)


class TestSetIdP(testtools.TestCase):

    def test_body(self):
        client = FakeClient({('PATCH', '/v1/idps/i1'): {'idp': {'id': 'i1'}}})
        run(idp.SetIdP, client, ['i1', '--disable', '--scope', 'openid',
                                 '--claim', 'name=preferred_username'])
        self.assertEqual(('PATCH', '/v1/idps/i1', {
            'enabled': False, 'scopes': ['openid'],
            'claim_mapping': {'name': 'preferred_username'}}),
            client.calls[-1])
        run(idp.SetIdP, client, ['i1', '--enable', '--discover'])
        self.assertEqual({'enabled': True, 'discover': True},
                         client.calls[-1][2])

    def test_nothing_to_change(self):
        # As OSC's own set commands: the IdP is looked up and shown,
        # nothing changed (it was an error, "Nothing to change").
        client = FakeClient({('GET', '/v1/idps/i1'): {'idp': {
            'id': 'i1', 'name': 'EGI'}}})
        result, app = run_shown(idp.SetIdP, client,
                                ['i1', '-f', 'value', '-c', 'name'])
        self.assertEqual((0, 'EGI\n', ''), (result, app.stdout.getvalue(),
                                            app.stderr.getvalue()))
        self.assertEqual([('GET', '/v1/idps/i1', None)], client.calls)
        client = FakeClient({('GET', '/v1/idps/gone'): rest.ApiError(
            404, 'federation.idp_not_found', detail='No IdP gone.',
            request_id='r-1')})
        error = self.assertRaises(exceptions.CommandError, run_shown,
                                  idp.SetIdP, client, ['gone'])
        self.assertEqual('No IdP gone. (HTTP 404 federation.idp_not_found, '
                         'request r-1)', str(error))
        parser = idp.SetIdP(mock.Mock(), None).get_parser('openstack')
        self.assertRaises(SystemExit, parser.parse_args,
                          ['i1', '--enable', '--disable'])


class TestUser(testtools.TestCase):

    def test_create_body(self):
        client = FakeClient({('POST', '/v1/users'): {'user': {'id': 'u'}}})
        run(user.CreateUser, client, ['--issuer', 'https://i.example',
                                      '--subject', 's1', '--email',
                                      'u@example.org'])
        self.assertEqual({'issuer': 'https://i.example', 'subject': 's1',
                          'email': 'u@example.org'}, client.calls[-1][2])

    def test_show_adds_the_entitlements(self):
        client = FakeClient({
            ('GET', '/v1/users/u'): {'user': {'id': 'u', 'name': 'U'}},
            ('GET', '/v1/users/u/entitlements'): {'entitlements': {
                'groups': ['astro'], 'eduperson_entitlement': ['urn:x']}}})
        names, values = run(user.ShowUser, client, ['u'])
        shown = dict(zip(names, values))
        self.assertEqual((['astro'], ['urn:x'], 'U'),
                         (shown['groups'], shown['eduperson_entitlement'],
                          shown['name']))

    def test_identity_remove_tries_each(self):
        client = FakeClient({('DELETE', '/v1/users/u/identities/a'):
                             rest.ApiError(409, 'federation.last_identity',
                                           detail='last one')})
        error = self.assertRaises(exceptions.CommandError, run,
                                  user.RemoveIdentity, client,
                                  ['u', 'a', 'b'])
        self.assertIn('last one', str(error))
        self.assertEqual(['/v1/users/u/identities/a',
                          '/v1/users/u/identities/b'],
                         [c[1] for c in client.calls])

    def test_id_of_a_deleted_vo_passed_on(self):
        client = FakeClient({('GET', '/v1/vos/gone'): _not_found()})
        client.list = mock.Mock(wraps=client.list)
        run(audit.ListAudit, client, ['--vo', 'gone'])
        client.list.assert_called_with('/v1/audit', 'audit',
                                       {'vo_id': 'gone'}, None, None)


def table(command_class, client, argv):
    """What the command prints as a table."""
    app = mock.Mock()
    app.client_manager.federation = client
    app.stdout = io.StringIO()
    cmd = command_class(app, None)
    cmd.run(cmd.get_parser('openstack').parse_args(argv))
    return app.stdout.getvalue()


class TestTables(testtools.TestCase):
    """Lists and dicts of people, IdPs and clients read as osc-lib
    prints them in a table, not as Python's repr (``['astro']``)."""

    def test_client_list_grant_types(self):
        client = FakeClient({('LIST', '/v1/clients'): [
            {'id': 'c1', 'name': 'k', 'public': False,
             'grant_types': ['refresh_token', 'authorization_code']}]})
        output = table(client_cmd.ListClient, client, [])
        self.assertIn('| c1 | k    | False  | authorization_code, '
                      'refresh_token |', output)
        self.assertNotIn("['", output)

    def test_user_show_entitlements(self):
        client = FakeClient({
            ('GET', '/v1/users/u'): {'user': {'id': 'u'}},
            ('GET', '/v1/users/u/entitlements'): {'entitlements': {
                'groups': ['astro', 'astro:radio'],
                'eduperson_entitlement': ['urn:x']}}})
        output = table(user.ShowUser, client, ['u'])
        self.assertIn('| groups                | astro, astro:radio |',
                      output)
        self.assertIn('| eduperson_entitlement | urn:x ', output)
        self.assertNotIn("['", output)

    def test_idp_show_scopes_and_claims(self):
        client = FakeClient({('GET', '/v1/idps/i1'): {'idp': {
            'id': 'i1', 'scopes': ['openid', 'email'],
            'claim_mapping': {'name': 'preferred_username'}}}})
        output = table(idp.ShowIdP, client, ['i1'])
        self.assertIn('| scopes                 | email, openid ', output)
        self.assertIn("| claim_mapping          | "
                      "name='preferred_username' |", output)
        self.assertNotIn("{'", output)


class TestAuditRefusal(testtools.TestCase):

    def run_refused(self, argv):
        forbidden = rest.ApiError(403, 'federation.forbidden',
                                  detail='Policy does not allow '
                                         'audit:list.')
        client = FakeClient({('GET', '/v1/vos/astro'): {'vo': VO}})
        client.list = mock.Mock(side_effect=forbidden)
        app = mock.Mock()
        app.client_manager.federation = client
        cmd = audit.ListAudit(app, None)
        return str(self.assertRaises(
            exceptions.CommandError, cmd.run,
            cmd.get_parser('openstack').parse_args(argv)))

    def test_a_refused_list_without_vo_names_the_option(self):
        self.assertEqual('Policy does not allow audit:list. (HTTP 403 '
                         'federation.forbidden, request -) Every record is '
                         'for system readers; a VO\'s managers read their '
                         'VO\'s with --vo <vo>.', self.run_refused([]))

    def test_no_hint_when_vo_was_given(self):
        self.assertEqual('Policy does not allow audit:list. (HTTP 403 '
                         'federation.forbidden, request -)',
                         self.run_refused(['--vo', 'astro']))
