"""The real ``openstack`` command against the real federation API: a
person joins a VO by request and another by invitation, as the user
guide shows; a manager runs the VO (groups, custom roles, members,
requests, invitations, audit); an operator registers an IdP, a client
and a person, whose identities the person lists and unlinks.

The API (noauth, fresh SQLite) runs on a loopback port in a thread; each
``openstack`` run is a subprocess with the caller named by the plugin's
``ARBITER_NOAUTH_*`` variables.  The people are made over HTTP, since
every ``openstack`` run costs about two seconds.
"""

import json
import os
import shutil
import subprocess
import sys
import threading
import urllib.request

import fixtures
import testtools

from federation_proxy import service
from svc_common.cmd import api as api_cmd
from svc_common.tests.fixtures import api as api_fixture

ADMIN_ENV = {'ARBITER_NOAUTH_USER': 'admin',
             'ARBITER_NOAUTH_ROLES': 'admin,member,reader',
             'ARBITER_NOAUTH_SYSTEM_SCOPE': 'all'}


def person_env(user_id):
    return {'ARBITER_NOAUTH_USER': user_id,
            'ARBITER_NOAUTH_ROLES': 'member,reader',
            'ARBITER_NOAUTH_PROJECT': 'p1'}


def _openstack_command():
    script = os.path.join(os.path.dirname(sys.executable), 'openstack')
    if os.path.exists(script):
        return [script]
    return [shutil.which('openstack') or 'openstack']


class FederationServer(fixtures.Fixture):
    """The federation API on ``.url`` (configured by ``overrides``, as
    :class:`svc_common.tests.fixtures.api.ServiceApp` takes them)."""

    def __init__(self, overrides=None):
        super().__init__()
        self.overrides = overrides

    def _setUp(self):
        app = self.useFixture(api_fixture.ServiceApp(
            service.SPEC, overrides=self.overrides))
        server = api_cmd.make_server(app.wsgi, '127.0.0.1', 0)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 10)
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        self.url = 'http://127.0.0.1:%d' % server.server_port

    def admin_post(self, path, body):
        request = urllib.request.Request(
            self.url + path, data=json.dumps(body).encode(), method='POST',
            headers={'X-User-Id': 'admin', 'X-Roles': 'admin,member,reader',
                     'X-System-Scope': 'all',
                     'Content-Type': 'application/json'})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())


class TestOpenStackVO(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.server = self.useFixture(FederationServer())
        for person in ('alice', 'bob', 'carol', 'dave'):
            self.server.admin_post('/v1/users', {
                'id': person, 'issuer': 'https://idp.example.org',
                'subject': person})

    def _run(self, args, identity):
        env = {name: value for name, value in os.environ.items()
               if not name.startswith(('OS_', 'ARBITER_NOAUTH_'))}
        env.update(identity)
        argv = (_openstack_command() + ['--os-auth-type', 'none',
                                        '--os-endpoint', self.server.url] +
                list(args))
        return subprocess.run(argv, env=env, capture_output=True,
                              text=True, timeout=120)

    def openstack(self, *args, identity=ADMIN_ENV):
        result = self._run(args, identity)
        self.assertEqual(0, result.returncode, 'openstack %s\n%s\n%s' % (
            ' '.join(args), result.stdout, result.stderr))
        return result.stdout

    def openstack_fails(self, *args, identity=ADMIN_ENV):
        """The error output of an ``openstack`` run that must fail."""
        result = self._run(args, identity)
        self.assertNotEqual(0, result.returncode, result.stdout)
        return result.stderr

    def openstack_json(self, *args, **kwargs):
        return json.loads(self.openstack(*(args + ('-f', 'json')),
                                         **kwargs))

    def test_joining_by_request_and_by_invitation(self):
        vo = self.openstack_json('vo', 'create', 'astro', '--manager',
                                 'alice', '--description', 'Astronomy')
        self.assertEqual('astro', vo['name'])
        alice = person_env('alice')

        request = self.openstack_json(
            'vo', 'request', 'create', vo['id'], '--reason',
            'I study stars.', identity=person_env('bob'))
        self.assertEqual('pending', request['status'])
        approved = self.openstack_json('vo', 'request', 'approve', 'astro',
                                       request['id'], identity=alice)
        self.assertEqual(('approved', 'alice'),
                         (approved['status'], approved['decided_by']))

        invitation = self.openstack_json(
            'vo', 'invitation', 'create', 'astro', 'carol@example.org',
            identity=alice)
        accepted = self.openstack_json(
            'vo', 'invitation', 'accept', invitation['token'],
            identity=person_env('carol'))
        self.assertEqual(('carol', 'active'),
                         (accepted['user_id'], accepted['status']))

        members = self.openstack_json('vo', 'member', 'list', 'astro',
                                      identity=alice)
        self.assertEqual([('alice', 'manager', 'active'),
                          ('bob', 'member', 'active'),
                          ('carol', 'member', 'active')],
                         sorted((m['User ID'], m['Role'], m['Status'])
                                for m in members))
        bob = [m for m in members if m['User ID'] == 'bob'][0]
        suspended = self.openstack_json('vo', 'member', 'set', 'astro',
                                        bob['ID'], '--status', 'suspended',
                                        identity=alice)
        self.assertEqual('suspended', suspended['status'])

    def test_withdrawing_a_request(self):
        vo = self.openstack_json('vo', 'create', 'astro', '--manager',
                                 'alice')
        bob = person_env('bob')
        request = self.openstack_json('vo', 'request', 'create', vo['id'],
                                      identity=bob)
        # Not someone else's.
        error = self.openstack_fails('vo', 'request', 'withdraw', vo['id'],
                                     request['id'],
                                     identity=person_env('carol'))
        self.assertIn('Failed to withdraw 1 of 1 requests', error)
        self.assertIn('No request "%s".' % request['id'], error)
        self.openstack('vo', 'request', 'withdraw', vo['id'], request['id'],
                       identity=bob)
        # Again: nothing changes, and the command succeeds.
        self.openstack('vo', 'request', 'withdraw', vo['id'], request['id'],
                       identity=bob)
        listed = self.openstack_json('vo', 'request', 'list', 'astro',
                                     '--status', 'withdrawn',
                                     identity=person_env('alice'))
        self.assertEqual([(request['id'], 'bob', 'bob')],
                         [(r['ID'], r['User ID'], r['Decided By'])
                          for r in listed])
        error = self.openstack_fails('vo', 'request', 'approve', 'astro',
                                     request['id'],
                                     identity=person_env('alice'))
        self.assertIn('withdrawn', error)

    def test_listing_and_showing_ones_own_requests(self):
        astro = self.openstack_json('vo', 'create', 'astro', '--manager',
                                    'alice')
        bio = self.openstack_json('vo', 'create', 'bio', '--manager',
                                  'alice')
        bob = person_env('bob')
        first = self.openstack_json('vo', 'request', 'create', astro['id'],
                                    identity=bob)
        second = self.openstack_json('vo', 'request', 'create', bio['id'],
                                     identity=bob)
        self.openstack_json('vo', 'request', 'create', bio['id'],
                            identity=person_env('carol'))
        self.openstack('vo', 'request', 'reject', 'astro', first['id'],
                       identity=person_env('alice'))
        # Every VO's, only Bob's; one page, and the page after it.
        mine = self.openstack_json('vo', 'request', 'list', '--mine',
                                   identity=bob)
        self.assertEqual(
            sorted([(astro['id'], first['id'], 'rejected'),
                    (bio['id'], second['id'], 'pending')]),
            sorted((r['VO ID'], r['ID'], r['Status']) for r in mine))
        page = self.openstack_json('vo', 'request', 'list', '--mine',
                                   '--limit', '1', identity=bob)
        after = self.openstack_json('vo', 'request', 'list', '--mine',
                                    '--marker', page[0]['ID'],
                                    identity=bob)
        self.assertEqual(mine, page + after)
        pending = self.openstack_json('vo', 'request', 'list', '--mine',
                                      '--status', 'pending', identity=bob)
        self.assertEqual([second['id']], [r['ID'] for r in pending])
        of_bio = self.openstack_json('vo', 'request', 'list', bio['id'],
                                     '--mine', identity=bob)
        self.assertEqual([second['id']], [r['ID'] for r in of_bio])
        shown = self.openstack_json('vo', 'request', 'show', first['id'],
                                    identity=bob)
        # When it was decided, not by whom (the VO's managers see that).
        self.assertEqual(('rejected', astro['id']),
                         (shown['status'], shown['vo_id']))
        self.assertIsNotNone(shown['decided_at'])
        self.assertNotIn('decided_by', shown)
        self.assertNotIn('Decided By', mine[0])
        self.assertEqual(shown['decided_at'], [
            r for r in mine if r['ID'] == first['id']][0]['Decided At'])
        self.assertEqual('alice', self.openstack_json(
            'vo', 'request', 'show', first['id'], '--vo', 'astro',
            identity=person_env('alice'))['decided_by'])
        # Not someone else's; the VO's manager shows it with --vo.
        error = self.openstack_fails('vo', 'request', 'show', first['id'],
                                     identity=person_env('carol'))
        self.assertIn('No request "%s".' % first['id'], error)
        self.assertEqual(first['id'], self.openstack_json(
            'vo', 'request', 'show', first['id'], '--vo', 'astro',
            identity=person_env('alice'))['id'])
        # Without --mine a VO must be named.
        error = self.openstack_fails('vo', 'request', 'list',
                                     identity=bob)
        self.assertIn('--mine', error)
        # --user is for --mine: a VO's list is not filtered by person.
        error = self.openstack_fails('vo', 'request', 'list', 'bio',
                                     '--user', 'bob')
        self.assertIn('--user is only for --mine', error)
        # A VO's name with --mine: bob cannot see bio (his request is
        # pending), so its name cannot be looked up: an error, not an
        # empty list.
        error = self.openstack_fails('vo', 'request', 'list', 'bio',
                                     '--mine', identity=bob)
        self.assertIn('No request of bob to a VO with ID bio', error)
        # Once he is a member he can: the name finds its ID.
        self.openstack('vo', 'request', 'approve', 'bio', second['id'],
                       identity=person_env('alice'))
        of_bio = self.openstack_json('vo', 'request', 'list', 'bio',
                                     '--mine', identity=bob)
        self.assertEqual([(bio['id'], second['id'], 'approved')],
                         [(r['VO ID'], r['ID'], r['Status'])
                          for r in of_bio])
        # A system reader finds any VO by name, for any person.
        self.assertEqual([first['id']], [r['ID'] for r in self.openstack_json(
            'vo', 'request', 'list', 'astro', '--mine', '--user', 'bob')])

    def test_idp_registry(self):
        idp = self.openstack_json(
            'federation', 'idp', 'create', 'home', '--issuer',
            'https://idp.example.org', '--client-id', 'proxy', '--scope',
            'openid', '--scope', 'email', '--claim',
            'affiliation=voperson_affiliation', '--token-endpoint',
            'https://idp.example.org/token')
        self.assertEqual((['openid', 'email'], 'voperson_affiliation',
                          'https://idp.example.org/token', False),
                         (idp['scopes'],
                          idp['claim_mapping']['affiliation'],
                          idp['token_endpoint'], idp['has_client_secret']))
        listed = self.openstack_json('federation', 'idp', 'list')
        self.assertEqual([('home', 'https://idp.example.org')],
                         [(i['Name'], i['Issuer']) for i in listed])
        shown = self.openstack_json('federation', 'idp', 'show', idp['id'])
        self.assertEqual(('home', ['openid', 'email'], True),
                         (shown['name'], shown['scopes'], shown['enabled']))
        changed = self.openstack_json('federation', 'idp', 'set', idp['id'],
                                      '--disable', '--scope', 'openid')
        self.assertEqual((['openid'], False),
                         (changed['scopes'], changed['enabled']))
        self.openstack('federation', 'idp', 'delete', idp['id'])
        self.assertEqual([], self.openstack_json('federation', 'idp',
                                                 'list'))

    def test_client_secret_is_not_in_debug_output(self):
        """``--client-secret`` with ``--debug``: the command line osc-lib
        logs, the parsed arguments and the request keystoneauth1 logs
        all show it masked, and it still reaches the service."""
        server = self.useFixture(FederationServer(overrides={
            ('federation', 'secret_key'): 'test key of the proxy'}))
        secret = 'S3cret-of-the-IdP'
        changed = 'N3w-secret-of-the-IdP'

        def debug_run(*args):
            env = {name: value for name, value in os.environ.items()
                   if not name.startswith(('OS_', 'ARBITER_NOAUTH_'))}
            env.update(ADMIN_ENV)
            result = subprocess.run(
                _openstack_command() + [
                    '--os-auth-type', 'none', '--os-endpoint', server.url,
                    '--debug'] + list(args) + ['-f', 'json'],
                env=env, capture_output=True, text=True, timeout=120)
            self.assertEqual(0, result.returncode, result.stderr)
            return result

        created = debug_run(
            'federation', 'idp', 'create', 'home', '--issuer',
            'https://idp.example.org', '--client-id', 'proxy',
            '--client-secret', secret, '--token-endpoint',
            'https://idp.example.org/token')
        idp = json.loads(created.stdout)
        # (An abbreviation of the option, as argparse takes it.)
        updated = debug_run('federation', 'idp', 'set', idp['id'],
                            '--client-sec=' + changed, '--name', 'home2')
        for result in (created, updated):
            for value in (secret, changed):
                self.assertNotIn(value, result.stdout)
                self.assertNotIn(value, result.stderr)
            # --debug is on: the lines that showed the secret are there.
            self.assertIn('START with options', result.stderr)
            self.assertIn('run(Namespace(', result.stderr)
            self.assertIn('the request body is not logged', result.stderr)
        self.assertTrue(idp['has_client_secret'])
        self.assertTrue(json.loads(updated.stdout)['has_client_secret'])
        self.assertEqual('home2', json.loads(updated.stdout)['name'])
        # The parsed arguments name the option, masked.
        self.assertIn("client_secret='***'", updated.stderr)

    def test_vo_managed_by_its_manager(self):
        vo = self.openstack_json('vo', 'create', 'bio', '--manager', 'alice')
        alice = person_env('alice')
        self.assertEqual([('bio', vo['id'])],
                         [(v['Name'], v['ID']) for v in self.openstack_json(
                             'vo', 'list', identity=alice)])
        self.assertEqual(vo['id'], self.openstack_json(
            'vo', 'show', 'bio', identity=alice)['id'])

        # Nested groups and a custom role.
        lab = self.openstack_json('vo', 'group', 'create', 'bio', 'lab',
                                  identity=alice)
        bench = self.openstack_json('vo', 'group', 'create', 'bio', 'bench',
                                    '--parent', lab['id'], identity=alice)
        self.assertEqual('bio:lab:bench', bench['path'])
        self.assertEqual(['bio', 'bio:lab', 'bio:lab:bench'],
                         [g['Path'] for g in self.openstack_json(
                             'vo', 'group', 'list', 'bio', identity=alice)])
        self.assertEqual(lab['id'], self.openstack_json(
            'vo', 'group', 'show', 'bio', bench['id'],
            identity=alice)['parent_id'])
        role = self.openstack_json('vo', 'role', 'create', 'bio', 'curator',
                                   identity=alice)
        self.assertEqual([('curator', False), ('manager', True),
                          ('member', True)],
                         [(r['Name'], r['Built In']) for r in
                          self.openstack_json('vo', 'role', 'list', 'bio',
                                              identity=alice)])

        added = self.openstack_json(
            'vo', 'member', 'add', 'bio', 'bob', '--role', 'curator',
            '--group', bench['id'], identity=alice)
        self.assertEqual(('curator', bench['id'], 'active'),
                         (added['role'], added['group_id'],
                          added['status']))
        self.openstack('vo', 'member', 'remove', 'bio', added['id'],
                       identity=alice)
        self.assertEqual(['alice'], [m['User ID'] for m in
                                     self.openstack_json(
                                         'vo', 'member', 'list', 'bio',
                                         identity=alice)])
        self.openstack('vo', 'role', 'delete', 'bio', role['id'],
                       identity=alice)
        self.openstack('vo', 'group', 'delete', 'bio', bench['id'],
                       identity=alice)

        # A request rejected; an invitation withdrawn.
        request = self.openstack_json('vo', 'request', 'create', vo['id'],
                                      '--reason', 'Curious.',
                                      identity=person_env('carol'))
        self.assertEqual([(request['id'], 'Curious.')],
                         [(r['ID'], r['Reason']) for r in
                          self.openstack_json('vo', 'request', 'list', 'bio',
                                              '--status', 'pending',
                                              identity=alice)])
        rejected = self.openstack_json('vo', 'request', 'reject', 'bio',
                                       request['id'], identity=alice)
        self.assertEqual(('rejected', 'alice'),
                         (rejected['status'], rejected['decided_by']))
        invitation = self.openstack_json(
            'vo', 'invitation', 'create', 'bio', 'dave@example.org',
            identity=alice)
        self.assertEqual('alice', invitation['inviting_manager'])
        self.assertEqual([('dave@example.org', 'pending', 'alice')],
                         [(i['Email'], i['Status'], i['Inviting Manager'])
                          for i in self.openstack_json(
                              'vo', 'invitation', 'list', 'bio',
                              identity=alice)])
        self.openstack('vo', 'invitation', 'delete', 'bio', invitation['id'],
                       identity=alice)
        self.assertEqual([], self.openstack_json(
            'vo', 'invitation', 'list', 'bio', identity=alice))

        trail = self.openstack_json('federation', 'audit', 'list', '--vo',
                                    'bio', identity=alice)
        self.assertIn(('alice', 'rejected', 'request', request['id']),
                      [(r['Actor'], r['Action'], r['Object Type'],
                        r['Object ID']) for r in trail])
        self.openstack('vo', 'delete', vo['id'])
        self.assertEqual([], self.openstack_json('vo', 'list'))

    def test_client_registry(self):
        client = self.openstack_json(
            'federation', 'client', 'create', 'portal', '--grant-type',
            'authorization_code', '--grant-type', 'refresh_token',
            '--redirect-uri', 'https://portal.example.org/cb')
        self.assertEqual(64, len(client['secret']))
        shown = self.openstack_json('federation', 'client', 'show',
                                    client['id'])
        self.assertEqual((['https://portal.example.org/cb'], False),
                         (shown['redirect_uris'], 'secret' in shown))
        rotated = self.openstack_json('federation', 'client', 'set',
                                      client['id'], '--rotate-secret')
        self.assertNotEqual(client['secret'], rotated['secret'])
        self.assertEqual([('portal', False)],
                         [(c['Name'], c['Public']) for c in
                          self.openstack_json('federation', 'client',
                                              'list')])
        self.openstack('federation', 'client', 'delete', client['id'])
        self.assertEqual([], self.openstack_json('federation', 'client',
                                                 'list'))

    def test_people_and_their_identities(self):
        erin = self.openstack_json(
            'federation', 'user', 'create', '--id', 'erin', '--issuer',
            'https://social.example.org', '--subject', 'e-1', '--name',
            'Erin')
        self.assertEqual(('erin', 'Erin'), (erin['id'], erin['name']))
        self.openstack_json('federation', 'user', 'identity', 'add', 'erin',
                            '--issuer', 'https://campus.example.org',
                            '--subject', 'e.smith')
        mine = person_env('erin')
        identities = self.openstack_json('federation', 'user', 'identity',
                                         'list', 'erin', identity=mine)
        self.assertEqual(['https://campus.example.org',
                          'https://social.example.org'],
                         sorted(i['Issuer'] for i in identities))
        by_issuer = {i['Issuer']: i['ID'] for i in identities}
        self.openstack('federation', 'user', 'identity', 'remove', 'erin',
                       by_issuer['https://campus.example.org'],
                       identity=mine)
        error = self.openstack_fails(
            'federation', 'user', 'identity', 'remove', 'erin',
            by_issuer['https://social.example.org'], identity=mine)
        self.assertIn('last', error)
        shown = self.openstack_json('federation', 'user', 'show', 'erin',
                                    identity=mine)
        self.assertEqual(('Erin', [], []),
                         (shown['name'], shown['groups'],
                          shown['eduperson_entitlement']))
        self.assertIn('erin', [u['ID'] for u in self.openstack_json(
            'federation', 'user', 'list')])

    def test_vos_named_with_the_characters_of_a_url(self):
        """A VO's name may hold ``#``, ``?``, ``/`` and be ``.``: each
        names its VO on the command line (``#ops`` was a GET of
        ``/v1/vos/``, the list, and every command failed with 'vo')."""
        for name in ('#ops', '?q', 'a/b', '.'):
            vo = self.server.admin_post('/v1/vos', {
                'name': name, 'managers': ['alice']})['vo']
            shown = self.openstack_json('vo', 'show', name)
            self.assertEqual((vo['id'], name), (shown['id'], shown['name']))
        groups = self.openstack_json('vo', 'group', 'list', '#ops',
                                     identity=person_env('alice'))
        self.assertEqual(['#ops'], [g['Path'] for g in groups])
        error = self.openstack_fails('federation', 'user', 'show', '?')
        self.assertIn('No user "?".', error)
