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

    def start(self, sub, link=False):
        """Start a login (a link with ``link``) whose ID token will
        name ``sub``; the query of the callback that finishes it."""
        query = {'idp': 'hostile'}
        if link:
            query['link'] = 'true'
        location = self.app.get('/v1/login', query).location
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
