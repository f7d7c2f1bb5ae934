"""A login with ``link=true`` links the new identity only while the
session that asked for it is live.

A person logs out to end every copy of their session cookie, a stolen
one included (``POST /v1/logout``).  A link login started with such a
copy before the logout, and finished after it, must link nothing: the
identity it would add (the thief's own, at any IdP) would log its
holder in as the person for good, whatever the person does with their
sessions.  The IdP is :class:`test_login_hostile_idp.HostileIdP`, which
signs the ID token the test sets.
"""

import urllib.parse

import sqlalchemy as sa

from federation_proxy.db import models
from federation_proxy import login
from federation_proxy.tests.functional import base
from federation_proxy.tests.functional import test_login_hostile_idp as h
from svc_common.tests.fixtures import races

CSRF = {login.CSRF_HEADER: 'XMLHttpRequest'}


class LinkSessionTest(h.HostileIdPTestCase):

    def start(self, sub, link=False, headers=None, **params):
        """Start a login (a link with ``link``) whose ID token will
        name ``sub``; the query of the callback that finishes it.  By
        default the person opens the URL themselves (``Sec-Fetch-Site:
        none``)."""
        query = dict({'idp': 'hostile'}, **params)
        if link:
            query['link'] = 'true'
        location = self.app.get('/v1/login', query, headers=(
            {'Sec-Fetch-Site': 'none'} if headers is None else
            headers)).location
        sent = dict(urllib.parse.parse_qsl(
            urllib.parse.urlsplit(location).query))
        self.idp.answer(sent['nonce'], sub=sub)
        return {'state': sent['state'], 'code': 'c'}

    def finish(self, callback, status=200):
        resp = self.app.get('/v1/login/callback', callback,
                            expect_errors=True)
        self.assertEqual(status, resp.status_int, resp.body)
        return resp

    def subjects(self, user_id):
        return sorted(i['subject'] for i in self.app.get(
            '/v1/users/%s/identities' % user_id,
            headers=base.ADMIN).json['identities'])

    def test_link_while_the_session_is_live(self):
        alice = self.finish(self.start('alice')).json['user_id']
        linked = self.finish(self.start('alice-at-work', link=True)).json
        self.assertEqual((alice, True), (linked['user_id'],
                                         linked['linked']))
        self.assertEqual(['alice', 'alice-at-work'], self.subjects(alice))

    def test_a_copy_of_a_logged_out_session_links_nothing(self):
        alice = self.finish(self.start('alice')).json['user_id']
        stolen = self.app.cookies[login.SESSION_COOKIE]
        # The thief starts linking their own identity with the copy.
        callback = self.start('mallory', link=True)
        # Alice logs out: every copy of her session cookie must stop
        # working.
        self.app.post('/v1/logout', headers=CSRF, status=204)
        self.app.set_cookie(login.SESSION_COOKIE, stolen)
        resp = self.finish(callback, status=401)
        self.assertEqual('federation.no_session',
                         resp.json['errors'][0]['code'])
        self.assertEqual(['alice'], self.subjects(alice))
        # No new session for the thief either, and mallory is nobody.
        self.assertEqual(stolen, self.app.cookies[
            login.SESSION_COOKIE].strip('"'))
        self.assertEqual(1, len(self.app.get(
            '/v1/users', headers=base.ADMIN).json['users']))

    def test_a_link_needs_the_session_of_the_person_who_asked(self):
        self.finish(self.start('alice'))
        callback = self.start('mallory', link=True)
        # The browser dropped its session cookie meanwhile.
        self.app.set_cookie(login.SESSION_COOKIE, '')
        resp = self.finish(callback, status=401)
        self.assertEqual('federation.no_session',
                         resp.json['errors'][0]['code'])

    def test_a_link_started_by_another_site_is_refused(self):
        # A page of another site sends the person's browser, which has
        # a proxy session, to link an identity at an IdP that logs it
        # in as the attacker without asking (a hostile IdP of the
        # federation, or one the attacker logged the browser in to):
        # the attacker's identity would become the person's, and the
        # attacker would log in as them from then on.
        alice = self.finish(self.start('alice')).json['user_id']
        for headers in ({'Sec-Fetch-Site': 'cross-site'},
                        {'Sec-Fetch-Site': 'same-site'},
                        # An older browser, without Fetch Metadata.
                        {}):
            resp = self.app.get('/v1/login', {
                'idp': 'hostile', 'link': 'true'}, headers=headers,
                status=403)
            self.assertEqual('federation.csrf_refused',
                             resp.json['errors'][0]['code'])
            self.assertNotIn(login.LOGIN_COOKIE, self.app.cookies)
        # Nor with the token of another session (the chooser's URL of
        # a session the browser no longer has).
        url = self.app.get('/v1/login/idps', {'link': 'true'}).json[
            'idps'][0]['login']
        self.assertIn('csrf_token=', url)
        bob = self.finish(self.start('bob')).json['user_id']
        split = urllib.parse.urlsplit(url)
        resp = self.app.get('%s?%s' % (split.path, split.query),
                            status=403)
        self.assertEqual('federation.csrf_refused',
                         resp.json['errors'][0]['code'])
        self.assertEqual(['alice'], self.subjects(alice))
        self.assertEqual(['bob'], self.subjects(bob))
        # The API's document says the login may answer so.
        start = self.app.get('/v1/openapi.json').json['paths'][
            '/v1/login']['get']
        self.assertIn('403', start['responses'])

    def test_a_link_from_the_proxy_itself(self):
        # Opened by the person (a typed or bookmarked URL), from a page
        # of the proxy, or from the chooser's login URL in a browser
        # without Fetch Metadata.
        alice = self.finish(self.start('alice')).json['user_id']
        for sub, site in (('alice-typed', 'none'),
                          ('alice-page', 'same-origin')):
            self.finish(self.start(sub, link=True, headers={
                'Sec-Fetch-Site': site}))
        chooser = self.app.get('/v1/login/idps', {'link': 'true'}).json
        url = urllib.parse.urlsplit(chooser['idps'][0]['login'])
        query = dict(urllib.parse.parse_qsl(url.query))
        self.assertEqual('true', query.pop('link'))
        self.finish(self.start('alice-chosen', link=True, headers={},
                               **query))
        self.assertEqual(['alice', 'alice-chosen', 'alice-page',
                          'alice-typed'], self.subjects(alice))
        # A plain login (a relying party sends people to log in from
        # its own site) is not a link: any site may start it.
        self.finish(self.start('bob', headers={
            'Sec-Fetch-Site': 'cross-site'}))


class LinkSessionRaceTest(races.OnPostgreSQL, LinkSessionTest):
    """On PostgreSQL, a logout that ends the session while the link is
    being written: the link waits for the logout, then links nothing."""

    def test_link_while_its_session_logs_out(self):
        alice = self.finish(self.start('alice')).json['user_id']
        callback = self.start('mallory', link=True)
        table = models.Session.__table__

        def logout(conn):
            # What POST /v1/logout does to the session row.
            conn.execute(sa.delete(table).where(table.c.user_id == alice))

        resp = races.during(self.engine, logout,
                            lambda: self.finish(callback, status=401))
        self.assertEqual('federation.no_session',
                         resp.json['errors'][0]['code'])
        self.assertEqual(['alice'], self.subjects(alice))
