"""Two changes of the same object at once, on PostgreSQL.

Each test plays one side of the race itself, on a connection of its
own, as another API process would: it writes the competing change and
keeps its transaction open, starts the API request, waits until
PostgreSQL shows that request waiting for a lock, then commits.  The
request must then answer what it would have answered had it come
second (a 409 or a 404, never a 500), and leave the database as the
first change left it.
"""

import threading
import time

import jwt as pyjwt
from oslo_context import context
import sqlalchemy as sa

from federation_proxy.db import communities
from federation_proxy.db import logins
from federation_proxy.db import models
from federation_proxy.oidc import tokens
from federation_proxy.tests.functional import base
from federation_proxy.tests.functional import oidc_setup
from svc_common.tests.fixtures import api as af
from svc_common.tests.fixtures import races

_VOS = models.VirtualOrganisation.__table__
_MEMBERSHIPS = models.Membership.__table__
_REQUESTS = models.MembershipRequest.__table__
_USERS = models.User.__table__
_IDENTITIES = models.Identity.__table__
_GROUPS = models.Group.__table__
_ROLES = models.Role.__table__
_CLIENTS = models.Client.__table__
_IDPS = models.IdentityProvider.__table__
_SESSIONS = models.Session.__table__
_REFRESH = models.RefreshToken.__table__
_CODES = models.AuthorizationCode.__table__


class TestRacesOnPostgreSQL(races.OnPostgreSQL, base.FederationTestCase):

    def _race(self, first, second):
        """Run ``first(connection)`` in an open transaction, start
        ``second()``, commit ``first`` once ``second`` waits for it (or
        has finished); returns what ``second`` returned."""
        return races.during(self.engine, first, second)

    def _request(self, method, path, body=None, headers=base.ADMIN):
        return lambda: self.app.request(
            path, method=method, headers=dict(headers, **{
                'Content-Type': 'application/json'}),
            body=b'' if body is None else self.app.JSONEncoder().encode(
                body).encode('utf-8'), expect_errors=True)

    def assertError(self, status, code, resp):
        self.assertEqual(status, resp.status_int, resp.body)
        self.assertEqual('federation.' + code,
                         resp.json['errors'][0]['code'])

    def _rows(self, table, **where):
        with self.engine.connect() as conn:
            return conn.execute(sa.select(table).where(*[
                table.c[name] == value
                for name, value in where.items()])).all()

    def test_creating_a_vo_another_transaction_is_creating(self):
        def other_creates(conn):
            conn.execute(_VOS.insert(), {'id': 'other', 'name': 'astro'})

        resp = self._race(other_creates, self._request(
            'POST', '/v1/vos', {'name': 'astro', 'managers': []}))
        self.assertError(409, 'vo_exists', resp)
        self.assertEqual(['other'],
                         [r.id for r in self._rows(_VOS, name='astro')])

    def test_adding_a_membership_another_transaction_is_adding(self):
        self.add_person('bob')
        vo = self.make_vo('astro')
        group = self.app.get('/v1/vos/%s/groups' % vo['id'],
                             headers=base.ADMIN).json['groups'][0]

        def other_adds(conn):
            conn.execute(_MEMBERSHIPS.insert(), {
                'id': 'other', 'vo_id': vo['id'], 'group_id': group['id'],
                'user_id': 'bob', 'role': 'member', 'status': 'active'})

        resp = self._race(other_adds, self._request(
            'POST', '/v1/vos/%s/memberships' % vo['id'],
            {'user_id': 'bob', 'role': 'member'}))
        self.assertError(409, 'membership_exists', resp)
        self.assertEqual(['other'], [
            r.id for r in self._rows(_MEMBERSHIPS, user_id='bob')])
        self.assertEqual([], self.notifier.events())

    def test_adding_a_membership_to_a_vo_another_request_is_deleting(self):
        self.add_person('bob')
        vo = self.make_vo('astro')

        def other_deletes_the_vo(conn):
            # What a deletion of the VO does: the VO locked first, then
            # everything in it, the VO last.
            conn.execute(sa.select(_VOS).where(
                _VOS.c.id == vo['id']).with_for_update())
            for model in (models.Membership, models.MembershipRequest,
                          models.Invitation, models.Role, models.Group):
                table = model.__table__
                conn.execute(table.delete().where(
                    table.c.vo_id == vo['id']))
            conn.execute(_VOS.delete().where(_VOS.c.id == vo['id']))

        resp = self._race(other_deletes_the_vo, self._request(
            'POST', '/v1/vos/%s/memberships' % vo['id'],
            {'user_id': 'bob', 'role': 'member'}))
        self.assertError(404, 'vo_not_found', resp)
        self.assertEqual([], self._rows(_MEMBERSHIPS))
        self.assertEqual([], self.notifier.events())

    def test_deleting_a_vo_another_request_is_adding_to(self):
        self.add_person('bob')
        vo = self.make_vo('astro')
        group = self.app.get('/v1/vos/%s/groups' % vo['id'],
                             headers=base.ADMIN).json['groups'][0]

        def other_adds(conn):
            conn.execute(_MEMBERSHIPS.insert(), {
                'id': 'other', 'vo_id': vo['id'], 'group_id': group['id'],
                'user_id': 'bob', 'role': 'member', 'status': 'active'})

        resp = self._race(other_adds, self._request(
            'DELETE', '/v1/vos/%s' % vo['id']))
        self.assertEqual(204, resp.status_int, resp.body)
        self.assertEqual([], self._rows(_VOS))
        self.assertEqual([], self._rows(_MEMBERSHIPS))
        # The member added meanwhile is announced as removed, as every
        # member of a deleted VO is.
        self.assertEqual([('federation.membership.delete', 'other')], [
            (event, payload['membership_id'])
            for event, payload in self.notifier.events()])

    def test_approving_a_request_another_manager_is_rejecting(self):
        self.add_person('carol')
        vo = self.make_vo('astro')
        request = self.app.post_json(
            '/v1/vos/%s/requests' % vo['id'], {'reason': 'r'},
            headers=base.person('carol')).json['request']

        def other_rejects(conn):
            conn.execute(_REQUESTS.update().where(
                _REQUESTS.c.id == request['id']).values(
                    status='rejected', decided_by='other-manager'))

        resp = self._race(other_rejects, self._request(
            'PATCH', '/v1/vos/%s/requests/%s' % (vo['id'], request['id']),
            {'status': 'approved'}))
        self.assertError(409, 'request_decided', resp)
        stored = self._rows(_REQUESTS, id=request['id'])[0]
        self.assertEqual(('rejected', 'other-manager'),
                         (stored.status, stored.decided_by))
        # Nobody approved carol: she holds nothing.
        self.assertEqual([], self._rows(_MEMBERSHIPS, user_id='carol'))
        self.assertEqual([], self.entitlements('carol')['groups'])
        self.assertEqual([], self.notifier.events())

    def _removed_manager_race(self, also_lock=None):
        """A VO whose manager bob decides or grants while the operator
        removes him: ``(vo, race)`` where ``race(request, lock)`` runs
        bob's ``request`` while another transaction deletes his manager
        membership and locks ``lock`` (``(table, id)``), a row bob's
        request locks too: the request waits there, after its policy
        check read bob as a manager, until the removal commits.  Had the
        request finished first, its grant would have been bob's before
        his removal, which is fine; made after, it is nobody's."""
        self.add_person('bob')
        self.add_person('carol')
        vo = self.make_vo('astro', ['bob'])

        def race(request, lock=None):
            def remove_bob(conn):
                if lock is not None:
                    table, row_id = lock
                    conn.execute(sa.select(table).where(
                        table.c.id == row_id).with_for_update())
                conn.execute(_MEMBERSHIPS.delete().where(
                    _MEMBERSHIPS.c.user_id == 'bob'))
            return self._race(remove_bob, request)
        return vo, race

    def test_a_manager_removed_during_an_approval_grants_nothing(self):
        vo, race = self._removed_manager_race()
        request = self.app.post_json(
            '/v1/vos/%s/requests' % vo['id'], {'role': 'manager'},
            headers=base.person('carol')).json['request']
        resp = race(self._request(
            'PATCH', '/v1/vos/%s/requests/%s' % (vo['id'], request['id']),
            {'status': 'approved'}, headers=base.person('bob')),
            lock=(_REQUESTS, request['id']))
        self.assertError(403, 'no_longer_manager', resp)
        self.assertEqual('pending', self._rows(
            _REQUESTS, id=request['id'])[0].status)
        self.assertEqual([], self._rows(_MEMBERSHIPS, user_id='carol'))

    def test_a_manager_with_a_system_reader_token_removed_meanwhile(self):
        # Bob manages the VO and also audits the cloud: his token is
        # system scoped, with the reader role only.  He decides as the
        # VO's manager, and is held so: his removal meanwhile is seen.
        vo, race = self._removed_manager_race()
        request = self.app.post_json(
            '/v1/vos/%s/requests' % vo['id'], {'role': 'manager'},
            headers=base.person('carol')).json['request']
        resp = race(self._request(
            'PATCH', '/v1/vos/%s/requests/%s' % (vo['id'], request['id']),
            {'status': 'approved'}, headers=af.identity(
                ['reader'], system=True, user_id='bob')),
            lock=(_REQUESTS, request['id']))
        self.assertError(403, 'no_longer_manager', resp)
        self.assertEqual('pending', self._rows(
            _REQUESTS, id=request['id'])[0].status)
        self.assertEqual([], self._rows(_MEMBERSHIPS, user_id='carol'))

    def _manager_role(self, vo):
        """What a grant of the role ``manager`` locks (FOR SHARE)."""
        role = self._rows(_ROLES, vo_id=vo['id'], name='manager')[0]
        return _ROLES, role.id

    def test_a_manager_removed_during_an_addition_grants_nothing(self):
        vo, race = self._removed_manager_race()
        resp = race(self._request(
            'POST', '/v1/vos/%s/memberships' % vo['id'],
            {'user_id': 'carol', 'role': 'manager'},
            headers=base.person('bob')), lock=self._manager_role(vo))
        self.assertError(403, 'no_longer_manager', resp)
        self.assertEqual([], self._rows(_MEMBERSHIPS, user_id='carol'))

    def test_a_manager_removed_during_an_invitation_offers_nothing(self):
        vo, race = self._removed_manager_race()
        resp = race(self._request(
            'POST', '/v1/vos/%s/invitations' % vo['id'],
            {'email': 'carol@example.org', 'role': 'manager'},
            headers=base.person('bob')), lock=self._manager_role(vo))
        self.assertError(403, 'no_longer_manager', resp)
        self.assertEqual([], self._rows(models.Invitation.__table__))

    def test_a_manager_removed_during_an_acceptance_grants_nothing(self):
        # bob's invitation is his approval: accepted after his removal
        # committed, it is nobody's (the acceptance waits on the
        # invitation's lock, then finds bob gone).
        vo, race = self._removed_manager_race()
        invitation = self.app.post_json(
            '/v1/vos/%s/invitations' % vo['id'],
            {'email': 'carol@example.org', 'role': 'manager'},
            headers=base.person('bob')).json['invitation']
        resp = race(self._request(
            'POST', '/v1/invitation_acceptances',
            {'token': invitation['token']}, headers=base.person('carol')),
            lock=(models.Invitation.__table__, invitation['id']))
        self.assertError(409, 'inviter_no_longer_manager', resp)
        self.assertEqual('pending', self._rows(
            models.Invitation.__table__, id=invitation['id'])[0].status)
        self.assertEqual([], self._rows(_MEMBERSHIPS, user_id='carol'))

    def _renumber(self, membership_id, new_id):
        """Give a membership the id ``new_id``: what a change locks
        first depends on the order of the ids."""
        with self.engine.begin() as conn:
            conn.execute(_MEMBERSHIPS.update().where(
                _MEMBERSHIPS.c.id == membership_id).values(id=new_id))
        return new_id

    def _a_manager_removed_during_a_change(self, method, body=None):
        """bob, a manager, changes carol's membership while the operator
        removes him, carol's membership's id above and below his: his
        request waits (on carol's row or his own) until the removal
        commits, then changes nothing (403).  The answers."""
        vo, race = self._removed_manager_race()
        path = '/v1/vos/%s/memberships' % vo['id']
        answers = []
        for new_id in ('0' * 32, 'f' * 32):
            if answers:
                # bob manages the VO again for the second round.
                self.app.post_json(path, {'user_id': 'bob',
                                          'role': 'manager'},
                                   headers=base.ADMIN)
            carol = self._renumber(self.app.post_json(path, {
                'user_id': 'carol', 'role': 'member'},
                headers=base.ADMIN).json['membership']['id'], new_id)
            del self.notifier.sent[:]
            answers.append(race(self._request(
                method, '%s/%s' % (path, carol), body,
                headers=base.person('bob')), lock=(_MEMBERSHIPS, carol)))
            self.assertEqual([('active',)], [
                (r.status,) for r in self._rows(_MEMBERSHIPS, id=carol)])
            self.assertEqual([], self.notifier.events())
            self.app.delete('%s/%s' % (path, carol), headers=base.ADMIN)
        return answers

    def test_a_manager_removed_during_a_membership_update_changes_nothing(
            self):
        for resp in self._a_manager_removed_during_a_change(
                'PATCH', {'status': 'suspended'}):
            self.assertError(403, 'no_longer_manager', resp)

    def test_a_manager_removed_during_a_membership_removal_removes_nothing(
            self):
        for resp in self._a_manager_removed_during_a_change('DELETE'):
            self.assertError(403, 'no_longer_manager', resp)

    def test_two_managers_removing_each_other_at_once(self):
        # bob suspends dave's manager membership while dave removes
        # bob's: both requests pass their policy check, then wait on the
        # rows another transaction holds; once it commits they run at
        # once.  One of them acts, the other is refused (it no longer
        # manages the VO), whichever id is the lower: never both, and
        # never a deadlock (a 500).
        self.add_person('bob')
        self.add_person('dave')
        for first in ('bob', 'dave'):
            vo = self.make_vo('astro-' + first, ['bob', 'dave'])
            path = '/v1/vos/%s/memberships' % vo['id']
            ids = {}
            for user_id in ('bob', 'dave'):
                row = self._rows(_MEMBERSHIPS, vo_id=vo['id'],
                                 user_id=user_id)[0]
                ids[user_id] = self._renumber(row.id, (
                    '1' if user_id == first else '2') + row.id[1:])
            requests = {
                'bob': self._request('PATCH', '%s/%s' % (path, ids['dave']),
                                     {'status': 'suspended'},
                                     headers=base.person('bob')),
                'dave': self._request('DELETE', '%s/%s' % (path, ids['bob']),
                                      headers=base.person('dave'))}
            answers = self._both_at_once(requests, ids.values())
            acted = [n for n, a in answers.items() if a.status_int < 300]
            self.assertEqual(1, len(acted), answers)
            refused = [a for a in answers.values() if a.status_int >= 300]
            self.assertError(403, 'no_longer_manager', refused[0])
            left = {r.user_id: r.status for r in self._rows(
                _MEMBERSHIPS, vo_id=vo['id'])}
            self.assertEqual(
                {'bob': {'bob': 'active', 'dave': 'suspended'},
                 'dave': {'dave': 'active'}}[acted[0]], left)

    def _both_at_once(self, requests, lock_ids):
        """The answers of ``requests`` (name: call) started while another
        transaction holds ``lock_ids`` (memberships) FOR UPDATE, which
        commits once each request waits for a lock."""
        answers = {}
        threads = [threading.Thread(
            target=lambda n=name, c=call: answers.__setitem__(n, c()))
            for name, call in requests.items()]
        with self.engine.connect() as other:
            with other.begin():
                other.execute(sa.select(_MEMBERSHIPS).where(
                    _MEMBERSHIPS.c.id.in_(list(lock_ids))).with_for_update())
                for thread in threads:
                    thread.start()
                self._until_waiting(len(threads))
        for thread in threads:
            thread.join(60)
        return answers

    def _until_waiting(self, sessions, timeout=20):
        """Wait (at most ``timeout`` seconds) until ``sessions`` sessions
        wait for a lock."""
        with self.engine.connect() as look:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if look.exec_driver_sql(
                        'SELECT count(DISTINCT pid) FROM pg_locks '
                        'WHERE NOT granted').scalar() >= sessions:
                    return
                time.sleep(0.05)

    def test_approving_a_request_another_manager_is_approving(self):
        self.add_person('carol')
        vo = self.make_vo('astro')
        request = self.app.post_json(
            '/v1/vos/%s/requests' % vo['id'], {'reason': 'r'},
            headers=base.person('carol')).json['request']
        group = self.app.get('/v1/vos/%s/groups' % vo['id'],
                             headers=base.ADMIN).json['groups'][0]

        def other_approves(conn):
            conn.execute(_REQUESTS.update().where(
                _REQUESTS.c.id == request['id']).values(
                    status='approved', decided_by='other-manager'))
            conn.execute(_MEMBERSHIPS.insert(), {
                'id': 'other', 'vo_id': vo['id'], 'group_id': group['id'],
                'user_id': 'carol', 'role': 'member', 'status': 'active'})

        resp = self._race(other_approves, self._request(
            'PATCH', '/v1/vos/%s/requests/%s' % (vo['id'], request['id']),
            {'status': 'approved'}))
        self.assertError(409, 'request_decided', resp)
        self.assertEqual('other-manager', self._rows(
            _REQUESTS, id=request['id'])[0].decided_by)
        self.assertEqual(['other'], [
            r.id for r in self._rows(_MEMBERSHIPS, user_id='carol')])
        self.assertEqual([], self.notifier.events())

    def _carols_request(self):
        self.add_person('carol')
        vo = self.make_vo('astro')
        request = self.app.post_json(
            '/v1/vos/%s/requests' % vo['id'], {'reason': 'r'},
            headers=base.person('carol')).json['request']
        group = self.app.get('/v1/vos/%s/groups' % vo['id'],
                             headers=base.ADMIN).json['groups'][0]
        return vo, group, request

    def test_withdrawing_a_request_a_manager_is_approving(self):
        vo, group, request = self._carols_request()

        def manager_approves(conn):
            conn.execute(sa.select(_REQUESTS).where(
                _REQUESTS.c.id == request['id']).with_for_update())
            conn.execute(_REQUESTS.update().where(
                _REQUESTS.c.id == request['id']).values(
                    status='approved', decided_by='manager'))
            conn.execute(_MEMBERSHIPS.insert(), {
                'id': 'approved', 'vo_id': vo['id'],
                'group_id': group['id'], 'user_id': 'carol',
                'role': 'member', 'status': 'active'})

        resp = self._race(manager_approves, self._request(
            'DELETE', '/v1/vos/%s/requests/%s' % (vo['id'], request['id']),
            headers=base.person('carol')))
        # The approval came first: it stands, the withdrawal is refused.
        self.assertError(409, 'request_decided', resp)
        stored = self._rows(_REQUESTS, id=request['id'])[0]
        self.assertEqual(('approved', 'manager'),
                         (stored.status, stored.decided_by))
        self.assertEqual(['approved'], [
            r.id for r in self._rows(_MEMBERSHIPS, user_id='carol')])

    def test_approving_a_request_its_requester_is_withdrawing(self):
        vo, group, request = self._carols_request()

        def carol_withdraws(conn):
            conn.execute(sa.select(_REQUESTS).where(
                _REQUESTS.c.id == request['id']).with_for_update())
            conn.execute(_REQUESTS.update().where(
                _REQUESTS.c.id == request['id']).values(
                    status='withdrawn', decided_by='carol'))

        resp = self._race(carol_withdraws, self._request(
            'PATCH', '/v1/vos/%s/requests/%s' % (vo['id'], request['id']),
            {'status': 'approved'}))
        # The withdrawal came first: the approval grants nothing.
        self.assertError(409, 'request_decided', resp)
        stored = self._rows(_REQUESTS, id=request['id'])[0]
        self.assertEqual(('withdrawn', 'carol'),
                         (stored.status, stored.decided_by))
        self.assertEqual([], self._rows(_MEMBERSHIPS, user_id='carol'))
        self.assertEqual([], self.entitlements('carol')['groups'])
        self.assertEqual([], self.notifier.events())

    def test_a_withdrawal_and_an_approval_at_once_end_in_one_of_them(self):
        """Both through the API, in threads, many times: each request
        ends approved (with its membership, and the withdrawal refused)
        or withdrawn (with no membership, and the approval refused),
        never both, never a membership of a withdrawn request."""
        vo, group, first = self._carols_request()
        self.app.patch_json('/v1/vos/%s/requests/%s' % (vo['id'],
                                                        first['id']),
                            {'status': 'rejected'}, headers=base.ADMIN)
        path = '/v1/vos/%s/requests' % vo['id']
        for attempt in range(10):
            request = self.app.post_json(
                path, {}, headers=base.person('carol')).json['request']
            item = '%s/%s' % (path, request['id'])
            calls = {'withdraw': self._request(
                'DELETE', item, headers=base.person('carol')),
                'approve': self._request('PATCH', item,
                                         {'status': 'approved'})}
            answers = {}

            def run(name):
                answers[name] = calls[name]().status_int

            threads = [threading.Thread(target=run, args=(name,))
                       for name in sorted(calls)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            status = self._rows(_REQUESTS, id=request['id'])[0].status
            held = self._rows(_MEMBERSHIPS, user_id='carol')
            if status == 'approved':
                self.assertEqual({'approve': 200, 'withdraw': 409}, answers)
                self.assertEqual(1, len(held))
                # Back to no membership for the next round.
                self.app.delete('/v1/vos/%s/memberships/%s' % (
                    vo['id'], held[0].id), headers=base.ADMIN)
            else:
                self.assertEqual('withdrawn', status)
                self.assertEqual({'approve': 409, 'withdraw': 204}, answers)
                self.assertEqual([], held)

    def test_asking_to_join_while_another_request_is_asking(self):
        self.add_person('carol')
        vo = self.make_vo('astro')
        group = self.app.get('/v1/vos/%s/groups' % vo['id'],
                             headers=base.ADMIN).json['groups'][0]

        def other_asks(conn):
            conn.execute(_REQUESTS.insert(), {
                'id': 'other', 'vo_id': vo['id'], 'group_id': group['id'],
                'user_id': 'carol', 'role': 'member', 'status': 'pending'})

        resp = self._race(other_asks, self._request(
            'POST', '/v1/vos/%s/requests' % vo['id'], {'reason': 'r'},
            headers=base.person('carol')))
        self.assertError(409, 'request_pending', resp)
        self.assertEqual(['other'], [
            r.id for r in self._rows(_REQUESTS, user_id='carol')])

    def test_changing_a_membership_another_transaction_is_deleting(self):
        self.add_person('bob')
        vo = self.make_vo('astro')
        membership = self.app.post_json(
            '/v1/vos/%s/memberships' % vo['id'],
            {'user_id': 'bob', 'role': 'member'},
            headers=base.ADMIN).json['membership']
        del self.notifier.sent[:]

        def other_deletes(conn):
            conn.execute(_MEMBERSHIPS.delete().where(
                _MEMBERSHIPS.c.id == membership['id']))

        resp = self._race(other_deletes, self._request(
            'PATCH', '/v1/vos/%s/memberships/%s' % (vo['id'],
                                                    membership['id']),
            {'status': 'suspended'}))
        self.assertError(404, 'membership_not_found', resp)
        self.assertEqual([], self.notifier.events())

    def test_deleting_a_membership_another_transaction_is_deleting(self):
        self.add_person('bob')
        vo = self.make_vo('astro')
        membership = self.app.post_json(
            '/v1/vos/%s/memberships' % vo['id'],
            {'user_id': 'bob', 'role': 'member'},
            headers=base.ADMIN).json['membership']
        del self.notifier.sent[:]

        def other_deletes(conn):
            conn.execute(_MEMBERSHIPS.delete().where(
                _MEMBERSHIPS.c.id == membership['id']))

        resp = self._race(other_deletes, self._request(
            'DELETE', '/v1/vos/%s/memberships/%s' % (vo['id'],
                                                     membership['id'])))
        # The removal was the other transaction's: announced (and
        # audited) there, not a second time here.
        self.assertError(404, 'membership_not_found', resp)
        self.assertEqual([], self.notifier.events())

    def test_first_login_of_an_identity_another_login_is_making(self):
        issuer, subject = 'https://idp.example.org', 'new-person'

        def other_login_creates(conn):
            conn.execute(_USERS.insert(), {'id': 'first'})
            conn.execute(_IDENTITIES.insert(), {
                'id': 'first-identity', 'user_id': 'first',
                'issuer': issuer, 'subject': subject})

        login = self._race(other_login_creates, lambda: logins.person_of(
            self.fixture.db, context.RequestContext(), issuer, subject))
        self.assertEqual(logins.Login('first', False, False), login)
        self.assertEqual(['first'], [
            r.user_id for r in self._rows(_IDENTITIES, subject=subject)])
        self.assertEqual(1, len(self._rows(_USERS)))

    def test_unlinking_the_identity_another_unlink_leaves_last(self):
        self.add_person('bob')
        second = self.app.post_json('/v1/users/bob/identities', {
            'issuer': 'https://other.example.org', 'subject': 'b2'},
            headers=base.ADMIN).json['identity']
        first = [i for i in self._rows(_IDENTITIES, user_id='bob')
                 if i.id != second['id']][0]

        def other_unlinks(conn):
            # What an unlink does: the person, then the identity.
            conn.execute(sa.select(_USERS).where(
                _USERS.c.id == 'bob').with_for_update(key_share=True))
            conn.execute(_IDENTITIES.delete().where(
                _IDENTITIES.c.id == first.id))

        resp = self._race(other_unlinks, self._request(
            'DELETE', '/v1/users/bob/identities/%s' % second['id']))
        self.assertError(409, 'last_identity', resp)
        self.assertEqual([second['id']], [
            r.id for r in self._rows(_IDENTITIES, user_id='bob')])

    def test_adding_a_member_to_a_group_another_request_is_deleting(self):
        self.add_person('bob')
        vo = self.make_vo('astro')
        group = self.app.post_json('/v1/vos/%s/groups' % vo['id'],
                                   {'name': 'optics'},
                                   headers=base.ADMIN).json['group']

        def other_deletes_the_group(conn):
            # What a deletion of the group does: the group locked, then
            # checked unused, then deleted.
            conn.execute(sa.select(_GROUPS).where(
                _GROUPS.c.id == group['id']).with_for_update())
            conn.execute(_GROUPS.delete().where(_GROUPS.c.id == group['id']))

        resp = self._race(other_deletes_the_group, self._request(
            'POST', '/v1/vos/%s/memberships' % vo['id'],
            {'user_id': 'bob', 'role': 'member', 'group_id': group['id']}))
        self.assertError(404, 'group_not_found', resp)
        self.assertEqual([], self._rows(_MEMBERSHIPS))

    def test_accepting_an_invitation_its_group_deletion_found_expired(
            self):
        # The deletion of a group whose invitation expires in that
        # second: its clock a second after the acceptance's, it finds
        # the invitation expired (no use of the group), and deletes it
        # with the group.  It locks the group, then deletes the
        # invitations; an acceptance that locked the invitation first
        # waited for the group (its membership refers to it) while the
        # deletion waited for the invitation: PostgreSQL aborted one of
        # them, and the person saw a 500.
        self.add_person('carol')
        vo = self.make_vo('astro')
        group = self.app.post_json('/v1/vos/%s/groups' % vo['id'],
                                   {'name': 'optics'},
                                   headers=base.ADMIN).json['group']
        invitation = self.app.post_json(
            '/v1/vos/%s/invitations' % vo['id'],
            {'email': 'carol@example.org', 'group_id': group['id']},
            headers=base.ADMIN).json['invitation']
        invitations = models.Invitation.__table__
        accept = self._request('POST', '/v1/invitation_acceptances',
                               {'token': invitation['token']},
                               headers=base.person('carol'))
        answers = []
        request = threading.Thread(target=lambda: answers.append(accept()))
        with self.engine.connect() as other:
            with other.begin():
                other.execute(sa.select(_GROUPS).where(
                    _GROUPS.c.id == group['id']).with_for_update())
                request.start()
                self.assertTrue(races.waiting_for_a_lock(self.engine,
                                                         request))
                other.execute(invitations.delete().where(
                    invitations.c.group_id == group['id']))
                other.execute(_GROUPS.delete().where(
                    _GROUPS.c.id == group['id']))
        request.join(60)
        # The deletion came first: the invitation went with the group.
        self.assertError(404, 'invitation_not_found', answers[0])
        self.assertEqual([], self._rows(_MEMBERSHIPS, user_id='carol'))
        self.assertEqual([], self._rows(invitations, id=invitation['id']))

    def test_giving_a_role_another_request_is_deleting(self):
        self.add_person('bob')
        vo = self.make_vo('astro')
        role = self.app.post_json('/v1/vos/%s/roles' % vo['id'],
                                  {'name': 'observer'},
                                  headers=base.ADMIN).json['role']

        def other_deletes_the_role(conn):
            conn.execute(sa.select(_ROLES).where(
                _ROLES.c.id == role['id']).with_for_update())
            conn.execute(_ROLES.delete().where(_ROLES.c.id == role['id']))

        resp = self._race(other_deletes_the_role, self._request(
            'POST', '/v1/vos/%s/memberships' % vo['id'],
            {'user_id': 'bob', 'role': 'observer'}))
        # Nobody holds a role the VO no longer gives.
        self.assertError(400, 'no_such_role', resp)
        self.assertEqual([], self._rows(_MEMBERSHIPS, role='observer'))

    def test_changing_a_client_and_an_idp_others_are_deleting(self):
        client = self.app.post_json('/v1/clients', {
            'name': 'leaf', 'grant_types': ['client_credentials']},
            headers=base.ADMIN).json['client']
        idp = self.app.post_json('/v1/idps', {
            'name': 'home', 'issuer': 'https://idp.example.org',
            'client_id': 'proxy'}, headers=base.ADMIN).json['idp']
        for table, path, row_id, body, code in (
                (_CLIENTS, '/v1/clients/%s', client['id'],
                 {'name': 'renamed'}, 'client_not_found'),
                (_IDPS, '/v1/idps/%s', idp['id'], {'name': 'renamed'},
                 'idp_not_found')):

            def other_deletes(conn):
                conn.execute(table.delete().where(table.c.id == row_id))

            resp = self._race(other_deletes, self._request(
                'PATCH', path % row_id, body))
            self.assertError(404, code, resp)


class TestLogoutRaceOnPostgreSQL(races.OnPostgreSQL,
                                 base.FederationTestCase):

    OVERRIDES = {('federation', 'secret_key'): 'test key of the proxy',
                 ('federation', 'issuer'): 'http://127.0.0.1:9873'}

    def _tokens(self, headers):
        verifier, challenge = oidc_setup.pkce_pair()
        resp = self.app.get('/oidc/authorize', {
            'response_type': 'code', 'client_id': 'leaf',
            'redirect_uri': oidc_setup.REDIRECT, 'scope': 'openid',
            'code_challenge': challenge, 'code_challenge_method': 'S256'},
            headers=headers, status=302)
        return self.app.post('/oidc/token', {
            'grant_type': 'authorization_code',
            'code': oidc_setup.query_of(resp.location)['code'],
            'redirect_uri': oidc_setup.REDIRECT, 'code_verifier': verifier},
            headers=oidc_setup.basic(*self.client)).json

    def _session(self):
        """``(cookie headers, session id)`` of a new session of alice."""
        cookie = oidc_setup.session_token(
            self.fixture.db, 'test key of the proxy',
            'http://127.0.0.1:9873', 'alice')
        return ({'Cookie': 'federation_session=' + cookie},
                pyjwt.decode(cookie, options={
                    'verify_signature': False})['sid'])

    def _code(self, headers):
        verifier, challenge = oidc_setup.pkce_pair()
        resp = self.app.get('/oidc/authorize', {
            'response_type': 'code', 'client_id': 'leaf',
            'redirect_uri': oidc_setup.REDIRECT, 'scope': 'openid',
            'code_challenge': challenge, 'code_challenge_method': 'S256'},
            headers=headers, status=302)
        code = oidc_setup.query_of(resp.location)['code']
        return lambda: self.app.post('/oidc/token', {
            'grant_type': 'authorization_code', 'code': code,
            'redirect_uri': oidc_setup.REDIRECT, 'code_verifier': verifier},
            headers=oidc_setup.basic(*self.client), expect_errors=True)

    def test_exchanging_a_code_while_its_session_logs_out(self):
        oidc_setup.make_person(self.app, 'alice')
        self.client = oidc_setup.make_client(self.app, 'leaf')
        other = self._tokens(oidc_setup.person_headers('alice'))
        headers, session_id = self._session()
        exchange = self._code(headers)

        def logout(conn):
            conn.execute(_SESSIONS.delete().where(
                _SESSIONS.c.id == session_id))
            conn.execute(_CODES.delete().where(
                _CODES.c.session_id == session_id))

        resp = races.during(self.engine, logout, exchange)
        self.assertEqual(400, resp.status_int, resp.body)
        self.assertEqual('invalid_grant', resp.json['error'])
        self.assertEqual(200, self._refresh(
            other['refresh_token']).status_int)

    def test_a_grant_is_not_made_for_a_session_logged_out(self):
        # The logout commits after the code is redeemed and before the
        # grant's refresh token is kept: no refresh token outlives it.
        oidc_setup.make_person(self.app, 'alice')
        self.client = oidc_setup.make_client(self.app, 'leaf')
        headers, session_id = self._session()
        exchange = self._code(headers)

        def logout(conn):
            conn.execute(_SESSIONS.delete().where(
                _SESSIONS.c.id == session_id))

        resp = races.during(self.engine, logout, exchange)
        self.assertEqual(400, resp.status_int, resp.body)
        self.assertEqual('invalid_grant', resp.json['error'])
        self.assertEqual([], self._rows_of(_REFRESH))

    def _rows_of(self, table):
        with self.engine.connect() as conn:
            return conn.execute(sa.select(table)).all()

    def _refresh(self, token):
        return self.app.post('/oidc/token', {
            'grant_type': 'refresh_token', 'refresh_token': token},
            headers=oidc_setup.basic(*self.client), expect_errors=True)

    def test_refreshing_while_the_session_logs_out(self):
        oidc_setup.make_person(self.app, 'alice')
        self.client = oidc_setup.make_client(self.app, 'leaf')
        cookie = oidc_setup.session_token(
            self.fixture.db, 'test key of the proxy',
            'http://127.0.0.1:9873', 'alice')
        session_id = pyjwt.decode(cookie, options={
            'verify_signature': False})['sid']
        grant = self._tokens({'Cookie': 'federation_session=' + cookie})
        # Alice's grant made elsewhere (another session, another day).
        other = self._tokens(oidc_setup.person_headers('alice'))

        def logout(conn):
            # What the logout of the session writes.
            conn.execute(_SESSIONS.delete().where(
                _SESSIONS.c.id == session_id))
            conn.execute(_REFRESH.delete().where(
                _REFRESH.c.session_id == session_id))

        resp = races.during(self.engine, logout, lambda: self._refresh(
            grant['refresh_token']))
        self.assertEqual(400, resp.status_int, resp.body)
        self.assertEqual('invalid_grant', resp.json['error'])
        # The logged-out token was not taken for a stolen one: the
        # person's other grant with the client goes on.
        self.assertEqual(200, self._refresh(
            other['refresh_token']).status_int)

    def _waiting(self, sessions, timeout=20):
        """Whether, within ``timeout`` seconds, ``sessions`` sessions
        wait for a lock."""
        with self.engine.connect() as look:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if look.exec_driver_sql(
                        'SELECT count(DISTINCT pid) FROM pg_locks '
                        'WHERE NOT granted').scalar() >= sessions:
                    return True
                time.sleep(0.05)
        return False

    def test_a_reuse_while_the_grant_is_refreshed(self):
        # A used refresh token is shown again (whoever stole it) while
        # the grant's latest token is being refreshed: the reuse ends
        # the grant, and the access token the refresh answered with too.
        # It read the hashes of the grant's tokens before it waited for
        # the refresh: the successor's access token was not revoked.
        oidc_setup.make_person(self.app, 'alice')
        self.client = oidc_setup.make_client(self.app, 'leaf')
        used = self._tokens(oidc_setup.person_headers('alice'))
        latest = self._refresh(used['refresh_token']).json
        answers = {}

        def show(name, token):
            answers[name] = self._refresh(token)

        threads = [threading.Thread(target=show, args=(name, token))
                   for name, token in (
                       ('refresh', latest['refresh_token']),
                       ('reuse', used['refresh_token']))]
        with self.engine.connect() as conn:
            with conn.begin():
                # The latest token held a moment: the refresh waits for
                # it, then the reuse, behind the refresh.
                conn.execute(sa.select(_REFRESH.c.token_hash).where(
                    _REFRESH.c.token_hash == communities.token_hash(
                        latest['refresh_token'])).with_for_update(
                            read=True))
                for count, thread in enumerate(threads, 1):
                    thread.start()
                    self.assertTrue(self._waiting(count))
        for thread in threads:
            thread.join(60)
        self.assertEqual(200, answers['refresh'].status_int,
                         answers['refresh'].body)
        self.assertEqual('invalid_grant', answers['reuse'].json['error'])
        self.assertEqual({'active': False}, self.app.post(
            '/oidc/introspect',
            {'token': answers['refresh'].json['access_token']},
            headers=oidc_setup.basic(*self.client)).json)

    def test_deleting_the_client_while_its_grant_is_refreshed(self):
        # The operator deletes the client while one of its grants is
        # being refreshed: the deletion waits for the refresh, and the
        # access token the refresh answered with is revoked with the
        # rest (it read which to revoke before it waited, and that one
        # stayed valid until it expired).
        oidc_setup.make_person(self.app, 'alice')
        self.client = oidc_setup.make_client(self.app, 'leaf')
        grant = self._tokens(oidc_setup.person_headers('alice'))
        answers = {}
        threads = [
            threading.Thread(target=lambda: answers.setdefault(
                'refresh', self._refresh(grant['refresh_token']))),
            threading.Thread(target=lambda: answers.setdefault(
                'delete', self.app.delete('/v1/clients/leaf',
                                          headers=base.ADMIN,
                                          expect_errors=True)))]
        with self.engine.connect() as conn:
            with conn.begin():
                # The token held a moment: the refresh waits for it,
                # then the deletion, behind the refresh.
                conn.execute(sa.select(_REFRESH.c.token_hash).where(
                    _REFRESH.c.token_hash == communities.token_hash(
                        grant['refresh_token'])).with_for_update(
                            read=True))
                for count, thread in enumerate(threads, 1):
                    thread.start()
                    self.assertTrue(self._waiting(count))
        for thread in threads:
            thread.join(60)
        self.assertEqual(200, answers['refresh'].status_int,
                         answers['refresh'].body)
        self.assertEqual(204, answers['delete'].status_int,
                         answers['delete'].body)
        self.app.get('/oidc/userinfo', headers={
            'Authorization': 'Bearer %s'
            % answers['refresh'].json['access_token']}, status=401)

    def test_revoking_a_refresh_token_a_refresh_is_using(self):
        # The client revokes its refresh token (RFC 7009) while a
        # refresh of it is under way: the refresh wins, and the token
        # stays as the used one whose reuse ends the grant (deleted, it
        # would be unknown, and its copy no longer recognised).
        oidc_setup.make_person(self.app, 'alice')
        self.client = oidc_setup.make_client(self.app, 'leaf')
        grant = self._tokens(oidc_setup.person_headers('alice'))
        digest = communities.token_hash(grant['refresh_token'])

        [used] = self._rows_of(_REFRESH)

        def refresh(conn):
            # What the refresh grant writes: the token it uses, and its
            # successor, of the same grant.
            conn.execute(_REFRESH.update().where(
                _REFRESH.c.token_hash == digest).values(revoked=True))
            conn.execute(_REFRESH.insert(), dict(
                used._asdict(), token_hash='successor', revoked=False))

        resp = races.during(self.engine, refresh, lambda: self.app.post(
            '/oidc/revoke', {'token': grant['refresh_token']},
            headers=oidc_setup.basic(*self.client), expect_errors=True))
        self.assertEqual(200, resp.status_int, resp.body)
        # The successor the refresh made belongs to the revoked grant:
        # it is gone too, and its access token revoked (RFC 7009 2.1).
        self.assertEqual([(digest, True)], [
            (row.token_hash, row.revoked) for row in self._rows_of(
                _REFRESH)])
        self.assertIn(tokens.linked_jti('successor'), [
            row.jti for row in self._rows_of(
                models.RevokedToken.__table__)])
