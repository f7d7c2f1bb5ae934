"""Unlinking an identity ends what its logins obtained.

An identity linked to a person logs its holder in as that person; the
person unlinks one that is no longer theirs (a lost account at an IdP,
an identity they linked by mistake) to end that.  The proxy sessions
that logins through it made end as at a logout, with the grants they
authorized (refresh tokens, the access tokens issued with them): the
holder's browser and the relying parties it authorized no longer act
as the person.  The person's sessions through their other identities go
on.  The IdPs are two :class:`test_login_hostile_idp.HostileIdP`.
"""

import datetime
import threading

import fixtures
from oslo_context import context
from oslo_db import exception as db_exc
import sqlalchemy as sa
import webtest

from federation_proxy.db import communities
from federation_proxy.db import logins as logins_db
from federation_proxy.db import models
from federation_proxy.db import oidc as oidc_db
from federation_proxy.db import users as users_db
from federation_proxy import login
from federation_proxy.oidc import tokens as oidc_tokens
from federation_proxy.tests.functional import base
from federation_proxy.tests.functional import oidc_setup as s
from federation_proxy.tests.functional import test_login_hostile_idp as h
from svc_common.tests.fixtures import races

CSRF = {login.CSRF_HEADER: 'XMLHttpRequest'}


class UnlinkTest(base.FederationTestCase):

    OVERRIDES = {('federation', 'secret_key'): 'test key of the proxy',
                 ('federation', 'issuer'): h.PROXY}

    def setUp(self):
        super().setUp()
        self.idps = {}
        for name in ('home', 'work'):
            idp = self.idps[name] = h.HostileIdP(self)
            self.app.post_json('/v1/idps', {
                'name': name, 'issuer': idp.issuer,
                'client_id': h.CLIENT_ID, 'client_secret': 'secret',
                'discover': False,
                'authorization_endpoint': idp.issuer + '/auth',
                'token_endpoint': idp.issuer + '/token',
                'jwks_uri': idp.issuer + '/jwks'}, headers=base.ADMIN)
        self.client = s.make_client(self.app, 'leaf')

    def log_in(self, browser, idp, sub, link=False):
        query = {'idp': idp}
        if link:
            query['link'] = 'true'
        location = browser.get('/v1/login', query, headers={
            'Sec-Fetch-Site': 'none'}).location
        sent = s.query_of(location)
        self.idps[idp].answer(sent['nonce'], sub=sub)
        return browser.get('/v1/login/callback', {
            'state': sent['state'], 'code': 'c'}, status=200).json

    def grant(self, browser):
        """A relying party authorized by the browser's session: its
        token answer."""
        verifier, challenge = s.pkce_pair()
        resp = browser.get('/oidc/authorize', {
            'response_type': 'code', 'client_id': 'leaf',
            'redirect_uri': s.REDIRECT, 'scope': 'openid',
            'code_challenge': challenge, 'code_challenge_method': 'S256'},
            status=302)
        return self.app.post('/oidc/token', {
            'grant_type': 'authorization_code',
            'code': s.query_of(resp.location)['code'],
            'redirect_uri': s.REDIRECT, 'code_verifier': verifier},
            headers=s.basic(*self.client)).json

    def session_works(self, browser):
        resp = browser.get('/oidc/authorize', {
            'response_type': 'code', 'client_id': 'leaf',
            'redirect_uri': s.REDIRECT, 'code_challenge': 'c' * 43,
            'code_challenge_method': 'S256', 'prompt': 'none'}, status=302)
        return 'code' in s.query_of(resp.location)

    def refresh(self, tokens, status):
        return self.app.post('/oidc/token', {
            'grant_type': 'refresh_token',
            'refresh_token': tokens['refresh_token']},
            headers=s.basic(*self.client), status=status).json

    def test_unlinking_an_identity_ends_the_sessions_of_its_logins(self):
        alice = webtest.TestApp(self.app.app)
        person = self.log_in(alice, 'home', 'alice')['user_id']
        self.log_in(alice, 'work', 'alice-at-work', link=True)
        # That login (the link) was one through the work identity: her
        # browser logs in again at home.
        self.log_in(alice, 'home', 'alice')
        # Whoever holds the work identity logs in with it, in a browser
        # of their own, and authorizes a relying party.
        holder = webtest.TestApp(self.app.app)
        self.assertEqual(person, self.log_in(
            holder, 'work', 'alice-at-work')['user_id'])
        held = self.grant(holder)
        # Alice's own grant, through her home identity.
        own = self.grant(alice)
        identity = [i['id'] for i in alice.get(
            '/v1/users/%s/identities' % person).json['identities']
            if i['subject'] == 'alice-at-work'][0]
        alice.delete('/v1/users/%s/identities/%s' % (person, identity),
                     headers=CSRF, status=204)
        # The holder's session and its grant are over.
        self.assertFalse(self.session_works(holder))
        holder.get('/v1/users/%s/identities' % person, status=401)
        self.assertEqual('invalid_grant',
                         self.refresh(held, 400)['error'])
        self.assertEqual({'active': False}, self.app.post(
            '/oidc/introspect', {'token': held['access_token']},
            headers=s.basic(*self.client)).json)
        # Alice's session through her home identity and its grant go on.
        self.assertTrue(self.session_works(alice))
        self.assertIn('access_token', self.refresh(own, 200))
        audit = [r for r in self.app.get(
            '/v1/audit', headers=base.READER).json['audit']
            if r['action'] == 'logout']
        self.assertEqual(1, len(audit), audit)

    def idp_id(self, name):
        return [i['id'] for i in self.app.get(
            '/v1/idps', headers=base.ADMIN).json['idps']
            if i['name'] == name][0]

    def forget_sessions(self, idp):
        """Two days pass for the sessions of logins at ``idp``: they
        expired and the purge forgot them; their grants live on (a
        relying party refreshes them)."""
        idp_id = self.idp_id(idp)
        now = datetime.datetime.utcnow()
        with self.writer() as session:
            session.execute(sa.update(models.Session).where(
                models.Session.idp_id == idp_id).values(
                    expires_at=now - datetime.timedelta(days=2)))
        oidc_db.purge_expired(self.fixture.db, context.RequestContext(),
                              now)
        return idp_id

    def held_grant(self):
        """Alice, her work identity linked, and its holder's grant:
        ``(person, the work identity's id, token answer)``."""
        alice = webtest.TestApp(self.app.app)
        person = self.log_in(alice, 'home', 'alice')['user_id']
        self.log_in(alice, 'work', 'alice-at-work', link=True)
        holder = webtest.TestApp(self.app.app)
        self.log_in(holder, 'work', 'alice-at-work')
        held = self.grant(holder)
        identity = [i['id'] for i in self.app.get(
            '/v1/users/%s/identities' % person,
            headers=base.ADMIN).json['identities']
            if i['subject'] == 'alice-at-work'][0]
        return person, identity, held

    def test_unlinking_ends_the_grants_of_forgotten_sessions(self):
        person, identity, held = self.held_grant()
        self.forget_sessions('work')
        # The relying party refreshed the grant since.
        held = self.refresh(held, 200)
        self.app.delete('/v1/users/%s/identities/%s' % (person, identity),
                        headers=base.ADMIN, status=204)
        self.assertEqual('invalid_grant',
                         self.refresh(held, 400)['error'])
        self.assertEqual({'active': False}, self.app.post(
            '/oidc/introspect', {'token': held['access_token']},
            headers=s.basic(*self.client)).json)

    def test_disabling_the_idp_ends_the_grants_of_forgotten_sessions(self):
        _person, _identity, held = self.held_grant()
        idp_id = self.forget_sessions('work')
        held = self.refresh(held, 200)
        self.app.patch_json('/v1/idps/%s' % idp_id, {'enabled': False},
                            headers=base.ADMIN)
        self.assertEqual('invalid_grant',
                         self.refresh(held, 400)['error'])
        self.assertEqual({'active': False}, self.app.post(
            '/oidc/introspect', {'token': held['access_token']},
            headers=s.basic(*self.client)).json)

    def test_a_login_through_an_identity_unlinked_meanwhile_is_refused(
            self):
        # Alice has two identities at work; the one she unlinks is not
        # hers any more.  Its holder's login read her as its person
        # (person_of) before she unlinked it and keeps its session after:
        # her other identity at work must not pass for the one the login
        # went through.
        alice = webtest.TestApp(self.app.app)
        person = self.log_in(alice, 'home', 'alice')['user_id']
        self.log_in(alice, 'work', 'alice-at-work', link=True)
        self.log_in(alice, 'home', 'alice')
        self.log_in(alice, 'work', 'alice-new-at-work', link=True)
        identity = [i['id'] for i in self.app.get(
            '/v1/users/%s/identities' % person,
            headers=base.ADMIN).json['identities']
            if i['subject'] == 'alice-at-work'][0]
        found = logins_db.person_of

        def unlinked_meanwhile(*args, **kwargs):
            login = found(*args, **kwargs)
            users_db.unlink_identity(
                self.fixture.db, context.RequestContext(), person,
                identity, datetime.datetime.utcnow(),
                datetime.timedelta(minutes=5))
            return login

        holder = webtest.TestApp(self.app.app)
        location = holder.get('/v1/login', {'idp': 'work'}).location
        sent = s.query_of(location)
        self.idps['work'].answer(sent['nonce'], sub='alice-at-work')
        with fixtures.MockPatchObject(logins_db, 'person_of',
                                      unlinked_meanwhile):
            resp = holder.get('/v1/login/callback', {
                'state': sent['state'], 'code': 'c'}, expect_errors=True)
        self.assertEqual(409, resp.status_int, resp.body)
        self.assertEqual('federation.identity_unlinked',
                         resp.json['errors'][0]['code'])
        holder.get('/v1/users/%s/identities' % person, status=401)
        # Her login through the identity she kept still works.
        self.assertEqual(person, self.log_in(
            alice, 'work', 'alice-new-at-work')['user_id'])

    def two_at_work(self):
        """Alice with two identities at work: her browser logged in
        through the newer, whose grant she holds, and the holder of the
        older one, logged in through it, with its grant:
        ``(person, the older identity's id, Alice's browser, her grant,
        the holder's browser, its grant)``."""
        alice = webtest.TestApp(self.app.app)
        person = self.log_in(alice, 'home', 'alice')['user_id']
        self.log_in(alice, 'work', 'alice-at-work', link=True)
        self.log_in(alice, 'work', 'alice-new-at-work', link=True)
        own = self.grant(alice)
        holder = webtest.TestApp(self.app.app)
        self.assertEqual(person, self.log_in(
            holder, 'work', 'alice-at-work')['user_id'])
        held = self.grant(holder)
        identity = [i['id'] for i in self.app.get(
            '/v1/users/%s/identities' % person,
            headers=base.ADMIN).json['identities']
            if i['subject'] == 'alice-at-work'][0]
        return person, identity, alice, own, holder, held

    def test_unlinking_one_of_two_identities_at_an_idp(self):
        # What the logins through the unlinked identity obtained ends;
        # what those through her other identity at the same IdP
        # obtained goes on.
        person, identity, alice, own, holder, held = self.two_at_work()
        alice.delete('/v1/users/%s/identities/%s' % (person, identity),
                     headers=CSRF, status=204)
        self.assertFalse(self.session_works(holder))
        self.assertEqual('invalid_grant',
                         self.refresh(held, 400)['error'])
        self.assertTrue(self.session_works(alice))
        self.assertIn('access_token', self.refresh(own, 200))

    def test_unlinking_one_of_two_identities_at_an_idp_once_forgotten(
            self):
        # The same once the sessions are forgotten: the grants record
        # their login's identity.
        person, identity, _alice, own, _holder, held = self.two_at_work()
        self.forget_sessions('work')
        own, held = self.refresh(own, 200), self.refresh(held, 200)
        self.app.delete('/v1/users/%s/identities/%s' % (person, identity),
                        headers=base.ADMIN, status=204)
        self.assertEqual('invalid_grant',
                         self.refresh(held, 400)['error'])
        self.assertIn('access_token', self.refresh(own, 200))

    def code(self, browser):
        """An authorization code the browser's session issues to the
        relying party, not exchanged yet: ``(code, verifier)``."""
        verifier, challenge = s.pkce_pair()
        resp = browser.get('/oidc/authorize', {
            'response_type': 'code', 'client_id': 'leaf',
            'redirect_uri': s.REDIRECT, 'scope': 'openid',
            'code_challenge': challenge, 'code_challenge_method': 'S256'},
            status=302)
        return s.query_of(resp.location)['code'], verifier

    def exchange(self, code, status):
        return self.app.post('/oidc/token', {
            'grant_type': 'authorization_code', 'code': code[0],
            'redirect_uri': s.REDIRECT, 'code_verifier': code[1]},
            headers=s.basic(*self.client), status=status).json

    def test_codes_taken_over_by_a_login_again_end_with_their_identity(
            self):
        # Codes issued in the session of a login through Alice's older
        # work identity; her browser then logs in again through her
        # newer one there, whose session takes the codes over (its
        # logout revokes them).  The grants made with them are still
        # that login's: unlinking the older identity ends them.
        person, identity, alice, own, _holder, _held = self.two_at_work()
        tv = s.make_client(self.app, 'tv', grants=[
            'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'])
        self.log_in(alice, 'work', 'alice-at-work')
        exchanged, kept = self.code(alice), self.code(alice)
        # A device code she approves in that session too.
        asked = self.app.post('/oidc/device_authorization', {
            'client_id': tv[0], 'client_secret': tv[1],
            'scope': 'openid'}).json
        alice.post('/oidc/device/decision', {
            'user_code': asked['user_code'], 'action': 'approve',
            'csrf_token': alice.get('/oidc/device').json['csrf_token']})
        self.log_in(alice, 'work', 'alice-new-at-work')
        granted = self.exchange(exchanged, 200)
        on_tv = self.app.post('/oidc/token', {
            'grant_type': 'urn:ietf:params:oauth:grant-type:device_code',
            'device_code': asked['device_code']},
            headers=s.basic(*tv)).json
        alice.delete('/v1/users/%s/identities/%s' % (person, identity),
                     headers=CSRF, status=204)
        self.assertEqual('invalid_grant',
                         self.refresh(granted, 400)['error'])
        self.assertEqual('invalid_grant', self.app.post('/oidc/token', {
            'grant_type': 'refresh_token',
            'refresh_token': on_tv['refresh_token']},
            headers=s.basic(*tv), status=400).json['error'])
        self.assertEqual({'active': False}, self.app.post(
            '/oidc/introspect', {'token': granted['access_token']},
            headers=s.basic(*self.client)).json)
        self.assertEqual('invalid_grant', self.exchange(kept, 400)['error'])
        # The session of her login through her newer identity and the
        # grant made through it go on.
        self.assertTrue(self.session_works(alice))
        self.assertIn('access_token', self.refresh(own, 200))

    def test_a_code_exchanged_while_its_identity_is_unlinked(self):
        # The code is used up (its own transaction), then the unlink
        # commits before the grant is stored: the grant is refused, not
        # stored for the unlinked identity after the unlink ended its
        # grants.
        person, identity, alice, _own, _holder, _held = self.two_at_work()
        self.log_in(alice, 'work', 'alice-at-work')
        code = self.code(alice)
        self.log_in(alice, 'work', 'alice-new-at-work')
        real = oidc_db.redeem_code

        def unlinked_meanwhile(*args, **kwargs):
            redeemed = real(*args, **kwargs)
            users_db.unlink_identity(
                self.fixture.db, context.RequestContext(), person, identity,
                datetime.datetime.utcnow(), datetime.timedelta(hours=1))
            return redeemed

        self.useFixture(fixtures.MockPatchObject(
            oidc_db, 'redeem_code', unlinked_meanwhile))
        refused = self.exchange(code, 400)
        self.assertEqual('invalid_grant', refused['error'])
        # Said as it is: she did not log out (her session goes on).
        self.assertEqual('The identity the person logged in through to '
                         'authorize this grant was unlinked from them.',
                         refused['error_description'])
        self.assertTrue(self.session_works(alice))

    def codes_taken_over_from_work(self):
        """Alice's browser, logged in through her work identity (a link
        login), issues two authorization codes and approves a device
        code, then logs in again at home: the session of that login
        takes them over.  ``(browser, a code exchanged since with its
        grant, a code not exchanged, the device's grant)``."""
        alice = webtest.TestApp(self.app.app)
        self.log_in(alice, 'home', 'alice')
        self.log_in(alice, 'work', 'alice-at-work', link=True)
        tv = s.make_client(self.app, 'tv', grants=[
            'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'])
        exchanged, kept = self.code(alice), self.code(alice)
        asked = self.app.post('/oidc/device_authorization', {
            'client_id': tv[0], 'client_secret': tv[1],
            'scope': 'openid'}).json
        alice.post('/oidc/device/decision', {
            'user_code': asked['user_code'], 'action': 'approve',
            'csrf_token': alice.get('/oidc/device').json['csrf_token']})
        self.log_in(alice, 'home', 'alice')
        granted = self.exchange(exchanged, 200)
        on_tv = self.app.post('/oidc/token', {
            'grant_type': 'urn:ietf:params:oauth:grant-type:device_code',
            'device_code': asked['device_code']},
            headers=s.basic(*tv)).json
        return alice, granted, kept, (tv, on_tv)

    def test_codes_taken_over_end_with_the_idp_of_their_login(self):
        # The operator disables work: what the logins through it
        # obtained ends, the codes another login's session took over
        # and the grants made with them too.
        alice, granted, kept, (tv, on_tv) = self.codes_taken_over_from_work()
        self.app.patch_json('/v1/idps/%s' % self.idp_id('work'),
                            {'enabled': False}, headers=base.ADMIN)
        self.assertEqual('invalid_grant',
                         self.refresh(granted, 400)['error'])
        self.assertEqual({'active': False}, self.app.post(
            '/oidc/introspect', {'token': granted['access_token']},
            headers=s.basic(*self.client)).json)
        self.assertEqual('invalid_grant', self.app.post('/oidc/token', {
            'grant_type': 'refresh_token',
            'refresh_token': on_tv['refresh_token']},
            headers=s.basic(*tv), status=400).json['error'])
        self.assertEqual('invalid_grant', self.exchange(kept, 400)['error'])
        # Her session of the login at home goes on.
        self.assertTrue(self.session_works(alice))

    def test_codes_taken_over_end_with_the_deletion_of_their_idp(self):
        alice, granted, kept, _device = self.codes_taken_over_from_work()
        self.app.delete('/v1/idps/%s' % self.idp_id('work'),
                        headers=base.ADMIN, status=204)
        self.assertEqual('invalid_grant',
                         self.refresh(granted, 400)['error'])
        self.assertEqual('invalid_grant', self.exchange(kept, 400)['error'])
        self.assertTrue(self.session_works(alice))

    def test_a_device_code_taken_over_is_denied_with_the_idp_of_its_login(
            self):
        # Approved through work, not collected yet by the device when
        # her browser logs in again at home and work is disabled: the
        # device is told it was denied.
        alice = webtest.TestApp(self.app.app)
        self.log_in(alice, 'home', 'alice')
        self.log_in(alice, 'work', 'alice-at-work', link=True)
        tv = s.make_client(self.app, 'tv', grants=[
            'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'])
        asked = self.app.post('/oidc/device_authorization', {
            'client_id': tv[0], 'client_secret': tv[1],
            'scope': 'openid'}).json
        alice.post('/oidc/device/decision', {
            'user_code': asked['user_code'], 'action': 'approve',
            'csrf_token': alice.get('/oidc/device').json['csrf_token']})
        self.log_in(alice, 'home', 'alice')
        self.app.patch_json('/v1/idps/%s' % self.idp_id('work'),
                            {'enabled': False}, headers=base.ADMIN)
        self.assertEqual('access_denied', self.app.post('/oidc/token', {
            'grant_type': 'urn:ietf:params:oauth:grant-type:device_code',
            'device_code': asked['device_code']},
            headers=s.basic(*tv), status=400).json['error'])
        self.assertTrue(self.session_works(alice))

    def test_a_code_exchanged_while_the_idp_of_its_login_is_disabled(self):
        # The code is used up, then the disabling commits before the
        # grant is stored: the grant is refused.
        alice = webtest.TestApp(self.app.app)
        self.log_in(alice, 'home', 'alice')
        self.log_in(alice, 'work', 'alice-at-work', link=True)
        code = self.code(alice)
        self.log_in(alice, 'home', 'alice')
        work = self.idp_id('work')
        real = oidc_db.redeem_code

        def disabled_meanwhile(*args, **kwargs):
            redeemed = real(*args, **kwargs)
            with self.writer() as session:
                session.get(models.IdentityProvider, work).enabled = False
                oidc_db.end_idp_sessions(
                    session, context.RequestContext(), work,
                    self.idps['work'].issuer, datetime.datetime.utcnow(),
                    datetime.timedelta(hours=1))
            return redeemed

        self.useFixture(fixtures.MockPatchObject(
            oidc_db, 'redeem_code', disabled_meanwhile))
        refused = self.exchange(code, 400)
        self.assertEqual('invalid_grant', refused['error'])
        self.assertEqual('The IdP the person logged in through to '
                         'authorize this grant was disabled or deleted.',
                         refused['error_description'])
        self.assertTrue(self.session_works(alice))

    def test_a_grant_rotated_by_the_earlier_release_ends_with_the_unlink(
            self):
        # During the upgrade, an API process of the earlier release still
        # running after the migration stores (or rotates) a refresh token
        # without its login's IdP; a refresh by this release while the
        # session is kept gives the grant its IdP back.
        person, identity, held = self.held_grant()
        with self.writer() as session:
            session.execute(sa.update(models.RefreshToken).values(
                idp_id=None))
        held = self.refresh(held, 200)
        self.forget_sessions('work')
        held = self.refresh(held, 200)
        self.app.delete('/v1/users/%s/identities/%s' % (person, identity),
                        headers=base.ADMIN, status=204)
        self.assertEqual('invalid_grant',
                         self.refresh(held, 400)['error'])

    def test_another_persons_login_leaves_a_grant_to_its_idp(self):
        # Alice's browser authorizes a relying party through work; the
        # refresh token is one an API process of the earlier release
        # stored (no IdP recorded: it would take its session's at its
        # next refresh).  Bob then logs in in the same browser (a
        # shared computer, or a login forced on it from another site):
        # Alice's grant goes on (another person's login does not end
        # it), and still ends with the IdP of her login.
        alice = webtest.TestApp(self.app.app)
        self.log_in(alice, 'work', 'alice-at-work')
        held = self.grant(alice)
        with self.writer() as session:
            session.execute(sa.update(models.RefreshToken).values(
                idp_id=None, identity_id=None))
        self.log_in(alice, 'home', 'bob')
        held = self.refresh(held, 200)
        self.app.patch_json('/v1/idps/%s' % self.idp_id('work'),
                            {'enabled': False}, headers=base.ADMIN)
        self.assertEqual('invalid_grant',
                         self.refresh(held, 400)['error'])
        # Bob's session, of a login at home, goes on.
        self.assertTrue(self.session_works(alice))

    def test_a_code_refused_once_another_person_logged_in_is_no_replay(
            self):
        # Alice's browser issues a code; before the relying party
        # exchanges it, Bob logs in in the same browser (a shared
        # computer, or a login forced on it from another site): the
        # exchange is refused, her session having ended.  She reloads
        # the relying party's page, which exchanges the code again: it
        # is refused again, and is no replay, which would end her grant
        # with the client on her laptop too.
        alice = webtest.TestApp(self.app.app)
        self.log_in(alice, 'home', 'alice')
        code = self.code(alice)
        laptop = webtest.TestApp(self.app.app)
        self.log_in(laptop, 'home', 'alice')
        own = self.grant(laptop)
        self.log_in(alice, 'work', 'bob')
        # Said as it is: she did not log out.
        self.assertEqual('The session that authorized this grant ended: '
                         'the person logged out, or another person logged '
                         'in in the same browser.',
                         self.exchange(code, 400)['error_description'])
        self.assertEqual('invalid_grant', self.exchange(code, 400)['error'])
        self.assertIn('access_token', self.refresh(own, 200))

    def test_a_device_code_refused_once_another_person_logged_in(self):
        # The same of a device code Alice approved in the shared browser:
        # the device's next poll after the refusal is no replay, and her
        # grant to the same client on another device goes on.
        tv = s.make_client(self.app, 'tv', grants=[
            'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'])

        def approved_in(browser):
            asked = self.app.post('/oidc/device_authorization', {
                'client_id': tv[0], 'client_secret': tv[1],
                'scope': 'openid'}).json
            browser.post('/oidc/device/decision', {
                'user_code': asked['user_code'], 'action': 'approve',
                'csrf_token': browser.get('/oidc/device').json[
                    'csrf_token']})
            return asked['device_code']

        def poll(device_code, status):
            return self.app.post('/oidc/token', {
                'grant_type': 'urn:ietf:params:oauth:grant-type:'
                              'device_code',
                'device_code': device_code},
                headers=s.basic(*tv), status=status).json

        laptop = webtest.TestApp(self.app.app)
        self.log_in(laptop, 'home', 'alice')
        other_tv = poll(approved_in(laptop), 200)
        shared = webtest.TestApp(self.app.app)
        self.log_in(shared, 'home', 'alice')
        device_code = approved_in(shared)
        self.log_in(shared, 'work', 'bob')
        for _attempt in range(2):
            self.assertEqual('invalid_grant',
                             poll(device_code, 400)['error'])
        self.assertIn('access_token', self.app.post('/oidc/token', {
            'grant_type': 'refresh_token',
            'refresh_token': other_tv['refresh_token']},
            headers=s.basic(*tv), status=200).json)

    def deadlocked_once(self, name):
        """Patch ``oidc_db.<name>`` so that its first call, once its work
        is done, is aborted as PostgreSQL aborts a transaction to break a
        deadlock."""
        real = getattr(oidc_db, name)
        calls = []

        def deadlocked(*args, **kwargs):
            ended = real(*args, **kwargs)
            calls.append(ended)
            if len(calls) == 1:
                raise db_exc.DBDeadlock()
            return ended

        self.useFixture(fixtures.MockPatchObject(oidc_db, name, deadlocked))
        return calls

    def test_an_unlink_aborted_by_a_deadlock_is_done_again(self):
        person, identity, held = self.held_grant()
        calls = self.deadlocked_once('end_identity_sessions')
        self.app.delete('/v1/users/%s/identities/%s' % (person, identity),
                        headers=base.ADMIN, status=204)
        self.assertEqual([2, 2], calls)
        self.assertEqual('invalid_grant',
                         self.refresh(held, 400)['error'])
        self.assertEqual(['alice'], [i['subject'] for i in self.app.get(
            '/v1/users/%s/identities' % person,
            headers=base.ADMIN).json['identities']])

    def test_an_idp_disabled_despite_a_deadlock(self):
        _person, _identity, held = self.held_grant()
        calls = self.deadlocked_once('end_idp_sessions')
        idp = self.app.patch_json('/v1/idps/%s' % self.idp_id('work'),
                                  {'enabled': False}, headers=base.ADMIN)
        self.assertFalse(idp.json['idp']['enabled'])
        self.assertEqual([2, 2], calls)
        self.assertEqual('invalid_grant',
                         self.refresh(held, 400)['error'])

    def test_an_idp_deleted_despite_a_deadlock(self):
        _person, _identity, held = self.held_grant()
        idp_id = self.idp_id('work')
        calls = self.deadlocked_once('end_idp_sessions')
        self.app.delete('/v1/idps/%s' % idp_id, headers=base.ADMIN,
                        status=204)
        self.assertEqual([2, 2], calls)
        self.app.get('/v1/idps/%s' % idp_id, headers=base.ADMIN,
                     status=404)
        self.assertEqual('invalid_grant',
                         self.refresh(held, 400)['error'])


class UnlinkRaceTest(races.OnPostgreSQL, UnlinkTest):
    """The same on PostgreSQL; and a login through the identity that
    finishes while the identity is being unlinked: it read the identity
    before the unlink committed, and its session must not outlive the
    unlink."""

    def test_a_login_during_the_unlink_keeps_no_session(self):
        person, identity, _held = self.held_grant()
        holder = webtest.TestApp(self.app.app)
        location = holder.get('/v1/login', {'idp': 'work'}).location
        sent = s.query_of(location)
        self.idps['work'].answer(sent['nonce'], sub='alice-at-work')
        table = models.Session.__table__

        def unlink(conn):
            # What the unlink does: the person, the identity, then the
            # sessions of logins through it, ended.
            conn.execute(sa.select(models.User.__table__).where(
                models.User.__table__.c.id == person).with_for_update(
                    key_share=True))
            conn.execute(sa.delete(models.Identity.__table__).where(
                models.Identity.__table__.c.id == identity))
            conn.execute(sa.delete(table).where(
                table.c.identity_id == identity))

        resp = races.during(self.engine, unlink, lambda: holder.get(
            '/v1/login/callback', {'state': sent['state'], 'code': 'c'},
            expect_errors=True))
        self.assertEqual(409, resp.status_int, resp.body)
        self.assertEqual('federation.identity_unlinked',
                         resp.json['errors'][0]['code'])
        self.assertFalse(self.session_works(holder))

    def test_a_grant_waits_for_the_disabling_of_the_idp_of_its_login(
            self):
        # The disabling holds the IdP's row (update_idp) when the grant
        # is about to be stored: the grant waits for it, then is
        # refused, not stored after the disabling ended the IdP's
        # grants.
        alice = webtest.TestApp(self.app.app)
        self.log_in(alice, 'home', 'alice')
        self.log_in(alice, 'work', 'alice-at-work', link=True)
        code = self.code(alice)
        self.log_in(alice, 'home', 'alice')
        idps = models.IdentityProvider.__table__

        def disable(conn):
            conn.execute(idps.update().where(
                idps.c.id == self.idp_id('work')).values(enabled=False))

        resp = races.during(self.engine, disable, lambda: self.app.post(
            '/oidc/token', {
                'grant_type': 'authorization_code', 'code': code[0],
                'redirect_uri': s.REDIRECT, 'code_verifier': code[1]},
            headers=s.basic(*self.client), expect_errors=True))
        self.assertEqual(400, resp.status_int, resp.body)
        self.assertEqual('The IdP the person logged in through to '
                         'authorize this grant was disabled or deleted.',
                         resp.json['error_description'])

    def test_an_unlink_while_its_session_links_an_identity(self):
        # Alice's browser, logged in at work, links a third identity
        # (the link holds that session, then adds the identity, which
        # refers to her) while her work identity is unlinked (which
        # locks her, then ends her work sessions): neither waits for
        # the other in a circle, and the unlink ends the session after.
        alice = webtest.TestApp(self.app.app)
        person = self.log_in(alice, 'home', 'alice')['user_id']
        self.log_in(alice, 'work', 'alice-at-work', link=True)
        self.log_in(alice, 'work', 'alice-at-work')
        identity = [i['id'] for i in self.app.get(
            '/v1/users/%s/identities' % person,
            headers=base.ADMIN).json['identities']
            if i['subject'] == 'alice-at-work'][0]
        table = models.Session.__table__
        with self.engine.connect() as conn:
            work_session = conn.execute(sa.select(table.c.id).where(
                table.c.user_id == person)).scalar_one()
        answers = []

        def unlink():
            answers.append(self.app.delete(
                '/v1/users/%s/identities/%s' % (person, identity),
                headers=base.ADMIN, expect_errors=True))

        with self.engine.connect() as link:
            with link.begin():
                # What the link does (users.link_identity): the session
                # that asked for it held, then the identity added.
                link.execute(sa.select(table.c.id).where(
                    table.c.id == work_session).with_for_update(
                        read=True))
                request = threading.Thread(target=unlink)
                request.start()
                self.assertTrue(races.waiting_for_a_lock(self.engine,
                                                         request))
                link.execute(models.Identity.__table__.insert().values(
                    id='social-identity', user_id=person,
                    issuer='https://social.example', subject='alice'))
        request.join(60)
        self.assertEqual(204, answers[0].status_int, answers[0].body)
        self.assertFalse(self.session_works(alice))
        self.assertEqual(
            ['alice', 'alice'],
            [i['subject'] for i in self.app.get(
                '/v1/users/%s/identities' % person,
                headers=base.ADMIN).json['identities']])

    def refreshed_during_login(self, held, browser, idp, sub):
        """Refresh the grant ``held`` as the token endpoint does, and,
        once the refresh has read its token, log ``sub`` in at ``idp`` in
        ``browser`` (the login commits before the refresh goes on): the
        successor's token answer."""
        now = datetime.datetime.utcnow()

        def narrow(granted):
            self.log_in(browser, idp, sub)
            return granted, granted

        status, _values = oidc_db.use_refresh(
            self.fixture.db, context.RequestContext(),
            held['refresh_token'], 'leaf', now, narrow, 'the successor',
            now + datetime.timedelta(days=1))
        self.assertEqual(oidc_db.OK, status)
        return {'refresh_token': 'the successor'}

    def test_a_refresh_while_another_persons_login_replaces_its_session(
            self):
        # Alice's grant (stored by the earlier release: no IdP recorded)
        # is refreshed while Bob logs in in her browser, which gives her
        # tokens her session's IdP and identity before the session goes
        # (logins._hand_over).  The refresh had read its token before:
        # the successor recorded neither, and outlived the disabling of
        # the IdP of her login.
        alice = webtest.TestApp(self.app.app)
        self.log_in(alice, 'work', 'alice-at-work')
        held = self.grant(alice)
        with self.writer() as session:
            session.execute(sa.update(models.RefreshToken).values(
                idp_id=None, identity_id=None))
        held = self.refreshed_during_login(held, alice, 'home', 'bob')
        self.app.patch_json('/v1/idps/%s' % self.idp_id('work'),
                            {'enabled': False}, headers=base.ADMIN)
        self.assertEqual('invalid_grant', self.refresh(held, 400)['error'])
        self.assertTrue(self.session_works(alice))

    def test_a_refresh_while_the_person_logs_in_again(self):
        # Alice's grant is refreshed while she logs in again in the same
        # browser, which moves her grants to the new session: the
        # refresh had read its token before, and its successor stayed
        # with the session that was gone, which the browser's logout
        # did not end.
        alice = webtest.TestApp(self.app.app)
        self.log_in(alice, 'work', 'alice-at-work')
        held = self.grant(alice)
        held = self.refreshed_during_login(held, alice, 'work',
                                           'alice-at-work')
        alice.post('/v1/logout', headers=CSRF, status=204)
        self.assertEqual('invalid_grant', self.refresh(held, 400)['error'])

    def test_a_logout_while_the_relying_party_revokes_the_grant(self):
        # The relying party revokes Alice's refresh token (RFC 7009: the
        # grant's tokens locked and deleted, then the access tokens
        # issued with them revoked) while she logs out in her browser.
        # The logout revoked those access tokens first and then locked
        # the tokens: each waited for the other, and PostgreSQL aborted
        # the logout.  Every path now revokes access tokens after it
        # locked the codes and tokens.
        alice = webtest.TestApp(self.app.app)
        self.log_in(alice, 'home', 'alice')
        digest = communities.token_hash(self.grant(alice)['refresh_token'])
        table = models.RefreshToken.__table__
        revoked = models.RevokedToken.__table__
        answers = []

        def logout():
            answers.append(alice.post('/v1/logout', headers=CSRF,
                                      expect_errors=True))

        with self.engine.connect() as conn:
            with conn.begin():
                # This side never breaks the deadlock: the logout does.
                conn.exec_driver_sql("SET LOCAL deadlock_timeout = '60s'")
                conn.execute(table.delete().where(
                    table.c.token_hash == digest))
                request = threading.Thread(target=logout)
                request.start()
                self.assertTrue(races.waiting_for_a_lock(self.engine,
                                                         request))
                conn.execute(revoked.insert().values(
                    jti=oidc_tokens.linked_jti(digest),
                    expires_at=datetime.datetime.utcnow() +
                    datetime.timedelta(hours=1)))
        request.join(60)
        self.assertEqual(204, answers[0].status_int, answers[0].body)
        self.assertFalse(self.session_works(alice))

    def test_a_login_again_while_the_identity_of_its_grants_is_unlinked(
            self):
        # Alice's browser, logged in at home, holds two grants of a login
        # through her work identity (their codes taken over from its
        # session, as in codes_taken_over_from_work), and logs in at
        # home again (its login moves them to the new session) while
        # the work identity is unlinked elsewhere (which locks them, by
        # hash, to end them).  The login locked them in the order of its
        # plan, the one inserted first first: PostgreSQL aborted it as a
        # deadlock (a 500).  Both now lock them by hash.
        alice = webtest.TestApp(self.app.app)
        person = self.log_in(alice, 'home', 'alice')['user_id']
        self.log_in(alice, 'work', 'alice-at-work', link=True)
        table = models.RefreshToken.__table__
        with self.engine.connect() as conn:
            work_session = conn.execute(sa.select(
                models.Session.__table__.c.id)).scalar_one()
        # Stored in the order opposite to that of their hashes.
        tokens = sorted(('grant-one', 'grant-two'),
                        key=lambda t: communities.token_hash(t),
                        reverse=True)
        for token in tokens:
            oidc_db.store_refresh(
                self.fixture.db, context.RequestContext(), token, 'leaf',
                person, 'openid',
                datetime.datetime.utcnow() + datetime.timedelta(days=1),
                session_id=work_session)
        self.log_in(alice, 'home', 'alice')
        location = alice.get('/v1/login', {'idp': 'home'}).location
        sent = s.query_of(location)
        self.idps['home'].answer(sent['nonce'], sub='alice')
        answers = []

        def callback():
            answers.append(alice.get('/v1/login/callback', {
                'state': sent['state'], 'code': 'c'}, expect_errors=True))

        def lock(token):
            conn.execute(sa.select(table.c.token_hash).where(
                table.c.token_hash == communities.token_hash(
                    token)).with_for_update())

        with self.engine.connect() as conn:
            with conn.begin():
                # This side never breaks the deadlock: the login does.
                conn.exec_driver_sql("SET LOCAL deadlock_timeout = '60s'")
                lock(tokens[1])
                request = threading.Thread(target=callback)
                request.start()
                self.assertTrue(races.waiting_for_a_lock(self.engine,
                                                         request))
                lock(tokens[0])
                conn.execute(table.delete().where(
                    table.c.identity_id.is_not(None)))
        request.join(60)
        self.assertEqual(200, answers[0].status_int, answers[0].body)
        self.assertTrue(self.session_works(alice))
        for token in tokens:
            self.assertEqual('invalid_grant', self.refresh(
                {'refresh_token': token}, 400)['error'])
