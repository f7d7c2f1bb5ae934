"""A person joins a VO both ways, through the real API in-process: by
request (approve, reject) and by invitation (single use, expiring); the
entitlements follow the membership's status and expiry; every change is
audited and announced as ``federation.membership.*``."""

import datetime

import sqlalchemy as sa

from federation_proxy.db import models
from federation_proxy.tests.functional import base
from svc_common.tests.fixtures import postgresql

ADMIN = base.ADMIN

URN = 'urn:geant:example.org:group:%s#127.0.0.1'
ROLE_URN = 'urn:geant:example.org:group:%s:role=%s#127.0.0.1'


def _past(days=1):
    return datetime.datetime.utcnow() - datetime.timedelta(days=days)


class TestRequestFlow(base.FederationTestCase):

    def setUp(self):
        super().setUp()
        self.manager = self.add_person('alice')
        self.joiner = self.add_person('bob')
        self.vo = self.make_vo('astro', [self.manager])
        self.path = '/v1/vos/%s' % self.vo['id']
        del self.notifier.sent[:]

    def _ask(self):
        return self.app.post_json(self.path + '/requests',
                                  {'reason': 'I study stars.'},
                                  headers=base.person(self.joiner)).json[
                                      'request']

    def test_approved_request_gives_entitlement_until_suspended(self):
        self.assertEqual({'eduperson_entitlement': [], 'groups': []},
                         self.entitlements(self.joiner))
        request = self._ask()
        self.assertEqual('pending', request['status'])
        self.assertEqual([], self.notifier.events())

        decided = self.app.patch_json(
            '%s/requests/%s' % (self.path, request['id']),
            {'status': 'approved'}, headers=base.person(self.manager))
        self.assertEqual('approved', decided.json['request']['status'])
        self.assertEqual('alice', decided.json['request']['decided_by'])
        [(event, payload)] = self.notifier.events()
        self.assertEqual('federation.membership.create', event)
        self.assertEqual({'vo_id': self.vo['id'], 'user_id': 'bob',
                          'role': 'member', 'status': 'active'},
                         {k: payload[k] for k in ('vo_id', 'user_id',
                                                  'role', 'status')})
        self.assertIsNotNone(payload['expires_at'])

        [membership] = [m for m in self.app.get(
            self.path + '/memberships', headers=base.person(
                self.manager)).json['memberships'] if m['user_id'] == 'bob']
        self.assertEqual('active', membership['status'])
        self.assertEqual(payload['membership_id'], membership['id'])
        self.assertEqual({'eduperson_entitlement': [
            URN % 'astro', ROLE_URN % ('astro', 'member')],
            'groups': ['astro']}, self.entitlements(
                self.joiner, base.person(self.joiner)))

        self.app.patch_json('%s/memberships/%s' % (self.path,
                                                   membership['id']),
                            {'status': 'suspended'},
                            headers=base.person(self.manager))
        self.assertEqual({'eduperson_entitlement': [], 'groups': []},
                         self.entitlements(self.joiner))
        event, payload = self.notifier.events()[-1]
        self.assertEqual(('federation.membership.update', 'suspended',
                          membership['id']),
                         (event, payload['status'],
                          payload['membership_id']))

        trail = [(r['actor'], r['action'], r['object_type'])
                 for r in self.audit(self.vo['id'])]
        for expected in [('bob', 'create', 'request'),
                         ('alice', 'approved', 'request'),
                         ('alice', 'create', 'membership'),
                         ('alice', 'update', 'membership')]:
            self.assertIn(expected, trail)

    def test_rejected_request_gives_nothing(self):
        request = self._ask()
        self.app.patch_json('%s/requests/%s' % (self.path, request['id']),
                            {'status': 'rejected'},
                            headers=base.person(self.manager))
        self.assertEqual([], self.notifier.events())
        self.assertEqual([], self.entitlements(self.joiner)['groups'])
        again = self.app.patch_json(
            '%s/requests/%s' % (self.path, request['id']),
            {'status': 'approved'}, headers=base.person(self.manager),
            expect_errors=True)
        self.assertEqual((409, 'federation.request_decided'),
                         (again.status_int,
                          again.json['errors'][0]['code']))

    def test_second_pending_request_refused(self):
        first = self._ask()
        again = self.app.post_json(
            self.path + '/requests', {'reason': 'Did you see the first?'},
            headers=base.person(self.joiner), expect_errors=True)
        self.assertEqual((409, 'federation.request_pending'),
                         (again.status_int,
                          again.json['errors'][0]['code']))
        self.assertIn(first['id'], again.json['errors'][0]['detail'])
        self.assertEqual([first['id']], [
            r['id'] for r in self.app.get(
                self.path + '/requests', headers=base.person(
                    self.manager)).json['requests']])
        # Another VO, or another person, is not held back.
        other = self.make_vo('bio')
        self.app.post_json('/v1/vos/%s/requests' % other['id'], {},
                           headers=base.person(self.joiner), status=201)
        self.add_person('carol')
        self.app.post_json(self.path + '/requests', {},
                           headers=base.person('carol'), status=201)
        # Once the first is decided, the person may ask again.
        self.app.patch_json('%s/requests/%s' % (self.path, first['id']),
                            {'status': 'rejected'},
                            headers=base.person(self.manager))
        self.assertEqual('pending', self._ask()['status'])

    def _withdraw(self, request_id, who=None, status=204):
        return self.app.delete(
            '%s/requests/%s' % (self.path, request_id),
            headers=base.person(who or self.joiner), status=status)

    def _request(self, request_id):
        return self.app.get('%s/requests/%s' % (self.path, request_id),
                            headers=ADMIN).json['request']

    def assertError(self, status, code, resp):
        self.assertEqual((status, 'federation.' + code),
                         (resp.status_int, resp.json['errors'][0]['code']))

    def test_the_requester_withdraws_a_pending_request(self):
        request = self._ask()
        self._withdraw(request['id'])
        shown = self._request(request['id'])
        self.assertEqual(('withdrawn', 'bob'),
                         (shown['status'], shown['decided_by']))
        self.assertIsNotNone(shown['decided_at'])
        # Kept in the VO's history, listed under its status.
        self.assertEqual([request['id']], [
            r['id'] for r in self.app.get(
                self.path + '/requests', {'status': 'withdrawn'},
                headers=base.person(self.manager)).json['requests']])
        self.assertEqual([], self.app.get(
            self.path + '/requests', {'status': 'pending'},
            headers=base.person(self.manager)).json['requests'])
        self.assertIn(('bob', 'withdrawn', 'request', request['id']), [
            (r['actor'], r['action'], r['object_type'], r['object_id'])
            for r in self.audit(self.vo['id'])])
        self.assertEqual([], self.notifier.events())
        # A manager can no longer approve it: it grants nothing.
        resp = self.app.patch_json(
            '%s/requests/%s' % (self.path, request['id']),
            {'status': 'approved'}, headers=base.person(self.manager),
            expect_errors=True)
        self.assertError(409, 'request_decided', resp)
        self.assertIn('withdrawn', resp.json['errors'][0]['detail'])
        self.assertEqual([], self.entitlements(self.joiner)['groups'])
        # And the person may ask again.
        self.assertEqual('pending', self._ask()['status'])

    def test_withdrawing_again_changes_nothing(self):
        request = self._ask()
        self._withdraw(request['id'])
        first = self._request(request['id'])
        trail = self.audit(self.vo['id'])
        self._withdraw(request['id'])
        self.assertEqual(first, self._request(request['id']))
        self.assertEqual(trail, self.audit(self.vo['id']))

    def test_a_decided_request_cannot_be_withdrawn(self):
        for decision in ('approved', 'rejected'):
            if decision == 'approved':
                request = self._ask()
            else:
                self.add_person('carol')
                request = self.app.post_json(
                    self.path + '/requests', {},
                    headers=base.person('carol')).json['request']
            self.app.patch_json('%s/requests/%s' % (self.path,
                                                    request['id']),
                                {'status': decision},
                                headers=base.person(self.manager))
            resp = self._withdraw(request['id'], who=request['user_id'],
                                  status=409)
            self.assertError(409, 'request_decided', resp)
            self.assertIn(decision, resp.json['errors'][0]['detail'])
            self.assertEqual(decision, self._request(request['id'])[
                'status'])
        # bob's approval stands.
        self.assertEqual(['astro'], self.entitlements(self.joiner)['groups'])

    def test_only_the_requester_withdraws(self):
        request = self._ask()
        self.add_person('carol')
        # Another person, a stranger to the VO, learns nothing of it.
        resp = self._withdraw(request['id'], who='carol', status=404)
        self.assertError(404, 'request_not_found', resp)
        # The VO's manager sees it but rejects instead; an operator too.
        resp = self._withdraw(request['id'], who=self.manager, status=403)
        self.assertError(403, 'forbidden', resp)
        resp = self.app.delete('%s/requests/%s' % (self.path,
                                                   request['id']),
                               headers=ADMIN, status=403)
        self.assertError(403, 'forbidden', resp)
        self.assertEqual('pending', self._request(request['id'])['status'])
        # An unknown request, even in a VO the person asked to join.
        resp = self._withdraw('f' * 32, status=404)
        self.assertError(404, 'request_not_found', resp)
        # Another VO's path does not reach it.
        other = self.make_vo('bio')
        resp = self.app.delete('/v1/vos/%s/requests/%s' % (
            other['id'], request['id']), headers=base.person(self.joiner),
            status=404)
        self.assertError(404, 'request_not_found', resp)
        self.assertEqual('pending', self._request(request['id'])['status'])

    def test_manager_of_another_vo_cannot_approve(self):
        self.add_person('carol')
        self.make_vo('bio', ['carol'])
        request = self._ask()
        del self.notifier.sent[:]
        resp = self.app.patch_json(
            '%s/requests/%s' % (self.path, request['id']),
            {'status': 'approved'}, headers=base.person('carol'),
            expect_errors=True)
        self.assertEqual(404, resp.status_int)
        self.assertEqual([], self.notifier.events())

    def test_expired_membership_gives_no_entitlement(self):
        membership = self.app.post_json(self.path + '/memberships', {
            'user_id': self.joiner, 'role': 'member'},
            headers=base.person(self.manager)).json['membership']
        self.assertEqual(['astro'], self.entitlements(self.joiner)['groups'])
        with self.writer() as session:
            session.execute(sa.update(models.Membership).where(
                models.Membership.id == membership['id']).values(
                    expires_at=_past()))
        self.assertEqual({'eduperson_entitlement': [], 'groups': []},
                         self.entitlements(self.joiner))
        # The manager sees it as it counts: expired, not active.
        shown = self.app.get('%s/memberships/%s' % (
            self.path, membership['id']),
            headers=base.person(self.manager)).json['membership']
        self.assertEqual('expired', shown['status'])
        self.assertEqual(
            {self.manager: 'active', self.joiner: 'expired'},
            {m['user_id']: m['status'] for m in self.app.get(
                self.path + '/memberships',
                headers=base.person(self.manager)).json['memberships']})

    def test_renewal_extends_expiry_and_reactivates(self):
        membership = self.app.post_json(self.path + '/memberships', {
            'user_id': self.joiner, 'role': 'member', 'lifetime_days': 10},
            headers=base.person(self.manager)).json['membership']
        with self.writer() as session:
            session.execute(sa.update(models.Membership).where(
                models.Membership.id == membership['id']).values(
                    expires_at=_past(), status='expired'))
        self.assertEqual([], self.entitlements(self.joiner)['groups'])
        renewed = self.app.patch_json(
            '%s/memberships/%s' % (self.path, membership['id']),
            {'renew_days': 400}, headers=base.person(self.manager)).json[
                'membership']
        self.assertEqual('active', renewed['status'])
        expires = datetime.datetime.strptime(renewed['expires_at'][:19],
                                             '%Y-%m-%dT%H:%M:%S')
        self.assertGreater(expires, datetime.datetime.utcnow() +
                           datetime.timedelta(days=399))
        self.assertGreater(renewed['expires_at'], membership['expires_at'])
        self.assertEqual(['astro'], self.entitlements(self.joiner)['groups'])
        event, payload = self.notifier.events()[-1]
        self.assertEqual(('federation.membership.update', 'active'),
                         (event, payload['status']))
        self.assertEqual(renewed['expires_at'][:19],
                         payload['expires_at'][:19])

    def test_removal_is_announced_and_audited(self):
        membership = self.app.post_json(self.path + '/memberships', {
            'user_id': self.joiner, 'role': 'member'},
            headers=base.person(self.manager)).json['membership']
        self.app.delete('%s/memberships/%s' % (self.path, membership['id']),
                        headers=base.person(self.manager))
        event, payload = self.notifier.events()[-1]
        self.assertEqual(('federation.membership.delete', membership['id']),
                         (event, payload['membership_id']))
        self.assertEqual([], self.entitlements(self.joiner)['groups'])
        self.assertIn(('alice', 'delete', 'membership', membership['id']),
                      [(r['actor'], r['action'], r['object_type'],
                        r['object_id']) for r in self.audit(self.vo['id'])])

    def test_audit_pages_start_after_a_record_id_and_nothing_else(self):
        first = self.app.get('/v1/audit', {'limit': 1},
                             headers=base.READER).json['audit'][0]
        after = self.app.get('/v1/audit', {'marker': str(first['id'])},
                             headers=base.READER).json['audit']
        self.assertTrue(after)
        self.assertTrue(all(r['id'] > first['id'] for r in after))
        # A number no database integer holds was a 500 on SQLite; Unicode
        # digits (str.isdigit) were a 500 too, other text was ignored.
        for marker in (str(10 ** 30), '\u00b2', '-1', 'abc', '1.5'):
            resp = self.app.get('/v1/audit', {'marker': marker},
                                headers=base.READER, status=400)
            error = resp.json['errors'][0]
            self.assertEqual(('federation.invalid_marker', 'marker'),
                             (error['code'], error.get('field')), marker)
        # Quoted as a path's ID: a marker's U+202E (right-to-left
        # override) reached the detail as it was.
        resp = self.app.get('/v1/audit', {'marker': 'abc\u202e'},
                            headers=base.READER, status=400)
        self.assertEqual('No audit record "abc\\u202e" to start after: a '
                         'marker is the id of an audit record.',
                         resp.json['errors'][0]['detail'])

    def test_memberships_come_in_pages_and_filter_by_person(self):
        for person in ('carol', 'dan'):
            self.add_person(person)
        for person in (self.joiner, 'carol', 'dan'):
            self.app.post_json(self.path + '/memberships', {
                'user_id': person, 'role': 'member'},
                headers=base.person(self.manager))
        url = self.path + '/memberships'
        headers = base.person(self.manager)
        first = self.app.get(url, {'limit': 3}, headers=headers).json
        self.assertEqual(3, len(first['memberships']))
        self.assertEqual(['next'], [link['rel'] for link in first['links']])
        rest = self.app.get(first['links'][0]['href'],
                            headers=headers).json
        self.assertEqual([], rest['links'])
        ids = [m['id'] for m in first['memberships'] + rest['memberships']]
        self.assertEqual(4, len(set(ids)))
        self.assertEqual(ids, sorted(ids))
        mine = self.app.get(url, {'user_id': 'carol'},
                            headers=headers).json['memberships']
        self.assertEqual(['carol'], [m['user_id'] for m in mine])
        resp = self.app.get(url, {'limit': 0}, headers=headers, status=400)
        self.assertEqual('federation.invalid_input',
                         resp.json['errors'][0]['code'])

    def _all_pages(self, url, query, key):
        """Every item of a list read ``query['limit']`` at a time, and
        the number of pages."""
        headers = base.person(self.manager)
        body = self.app.get(url, query, headers=headers).json
        items, pages = list(body[key]), 1
        while body['links']:
            body = self.app.get(body['links'][0]['href'],
                                headers=headers).json
            items += body[key]
            pages += 1
        return items, pages

    def test_requests_and_invitations_come_in_pages_oldest_first(self):
        asked = []
        for person in ('carol', 'dan', 'erin'):
            self.add_person(person)
            asked.append(self.app.post_json(
                self.path + '/requests', {},
                headers=base.person(person)).json['request']['id'])
        self.app.patch_json('%s/requests/%s' % (self.path, asked[1]),
                            {'status': 'rejected'},
                            headers=base.person(self.manager))
        invited = [self.app.post_json(
            self.path + '/invitations', {'email': '%d@example.org' % n},
            headers=base.person(self.manager)).json['invitation']['id']
            for n in range(3)]
        items, pages = self._all_pages(self.path + '/requests',
                                       {'limit': 2}, 'requests')
        self.assertEqual((sorted(asked), 2),
                         (sorted(r['id'] for r in items), pages))
        self.assertEqual(items, self._all_pages(
            self.path + '/requests', {'limit': 1}, 'requests')[0])
        pending, _ = self._all_pages(self.path + '/requests',
                                     {'limit': 1, 'status': 'pending'},
                                     'requests')
        self.assertEqual(sorted([asked[0], asked[2]]),
                         sorted(r['id'] for r in pending))
        items, pages = self._all_pages(self.path + '/invitations',
                                       {'limit': 2}, 'invitations')
        self.assertEqual((sorted(invited), 2),
                         (sorted(i['id'] for i in items), pages))
        for collection, marker in (('requests', invited[0]),
                                   ('invitations', 'nope')):
            resp = self.app.get('%s/%s' % (self.path, collection),
                                {'marker': marker},
                                headers=base.person(self.manager),
                                status=400)
            self.assertEqual('federation.invalid_marker',
                             resp.json['errors'][0]['code'])
        self.assertEqual('No invitation "nope" to start after.',
                         resp.json['errors'][0]['detail'])
        resp = self.app.get('/v1/users/%s/requests' % self.joiner,
                            {'marker': 'nope\u2028'},
                            headers=base.person(self.joiner), status=400)
        self.assertEqual('No request "nope\\u2028" to start after.',
                         resp.json['errors'][0]['detail'])
        resp = self.app.get('/v1/users/%s/identities' % self.joiner,
                            {'marker': 'nope'},
                            headers=base.person(self.joiner), status=400)
        self.assertEqual('No identity "nope" to start after.',
                         resp.json['errors'][0]['detail'])

    def test_asking_for_a_membership_held_already_is_refused(self):
        self.app.post_json(self.path + '/memberships', {
            'user_id': self.joiner, 'role': 'member'},
            headers=base.person(self.manager))
        resp = self.app.post_json(self.path + '/requests', {},
                                  headers=base.person(self.joiner),
                                  expect_errors=True)
        self.assertEqual((409, 'federation.membership_exists'),
                         (resp.status_int, resp.json['errors'][0]['code']))
        # Another role in the same group is a request like any other.
        self.app.post_json(self.path + '/requests', {'role': 'manager'},
                           headers=base.person(self.joiner), status=201)

    def test_a_role_asked_for_or_offered_is_not_deleted(self):
        manager = base.person(self.manager)
        role = self.app.post_json(self.path + '/roles', {
            'name': 'observer'}, headers=manager).json['role']
        item = '%s/roles/%s' % (self.path, role['id'])
        request = self.app.post_json(self.path + '/requests', {
            'role': 'observer'}, headers=base.person(self.joiner)).json[
                'request']
        invitation = self.app.post_json(self.path + '/invitations', {
            'email': 'c@example.org', 'role': 'observer'},
            headers=manager).json['invitation']
        for _ in range(2):
            resp = self.app.delete(item, headers=manager,
                                   expect_errors=True)
            self.assertEqual((409, 'federation.role_in_use'), (
                resp.status_int, resp.json['errors'][0]['code']))
            # Without the role, neither could be approved or accepted.
            self.app.patch_json('%s/requests/%s' % (self.path,
                                                    request['id']),
                                {'status': 'rejected'}, headers=manager,
                                expect_errors=True)
        # Decided request, deleted invitation: the role may go.
        self.app.delete('%s/invitations/%s' % (self.path, invitation['id']),
                        headers=manager)
        self.app.delete(item, headers=manager, status=204)

    def test_a_filter_a_list_does_not_have_is_refused(self):
        # Silently ignored, a filter answered the whole list: a manager
        # asking for the suspended memberships got every one of them.
        vo = '/v1/vos/%s' % self.vo['id']
        for path, name in (
                (vo + '/memberships', 'status'),
                (vo + '/requests', 'user_id'), (vo + '/invitations', 'email'),
                (vo + '/groups', 'parent_id'), (vo + '/roles', 'name'),
                ('/v1/vos', 'name'), ('/v1/users', 'email'),
                ('/v1/idps', 'enabled'), ('/v1/clients', 'name'),
                ('/v1/audit', 'actor')):
            resp = self.app.get(path, {name: 'x'}, headers=ADMIN,
                                expect_errors=True)
            self.assertEqual(400, resp.status_int, (path, resp.body))
            self.assertIn(name, resp.json['errors'][0]['detail'], path)
            # The filters they have still work.
            self.app.get(path, {'limit': 1}, headers=ADMIN, status=200)

    def test_a_group_path_longer_than_255_characters_is_refused(self):
        # A VO name and three names of 64 characters, the deepest group
        # a fourth name could not fit under: a 400 naming the name (it
        # was a 500 on PostgreSQL), and nothing made.
        vo = self.make_vo('v' * 64, [self.manager])
        path = '/v1/vos/%s/groups' % vo['id']
        headers = base.person(self.manager)
        parent = None
        for letter in 'ab':
            parent = self.app.post_json(path, {
                'name': letter * 64, 'parent_id': parent},
                headers=headers).json['group']['id']
        longest = self.app.post_json(path, {
            'name': 'c' * 60, 'parent_id': parent},
            headers=headers).json['group']
        self.assertEqual(255, len(longest['path']))
        for name, under in (('d', longest['id']), ('c' * 61, parent)):
            resp = self.app.post_json(path, {
                'name': name, 'parent_id': under}, headers=headers,
                expect_errors=True)
            self.assertEqual(400, resp.status_int, resp.body)
            error = resp.json['errors'][0]
            self.assertEqual(('federation.group_path_too_long', 'name'),
                             (error['code'], error.get('field')))
        self.assertEqual(4, len(self.app.get(
            path, headers=headers).json['groups']))

    def test_groups_and_roles_come_in_pages(self):
        """A VO's groups (by path, its root group first) and roles (by
        name) are paged like every other list; they came all at once."""
        headers = base.person(self.manager)
        for name in ('c', 'a', 'b'):
            self.app.post_json(self.path + '/groups', {'name': name},
                               headers=headers)
            self.app.post_json(self.path + '/roles', {'name': 'r' + name},
                               headers=headers)
        groups, pages = self._all_pages(self.path + '/groups',
                                        {'limit': 2}, 'groups')
        root = groups[0]['path']
        self.assertEqual(([root] + ['%s:%s' % (root, n) for n in 'abc'], 3),
                         ([g['path'] for g in groups], pages))
        roles, pages = self._all_pages(self.path + '/roles', {'limit': 2},
                                       'roles')
        self.assertEqual((['manager', 'member', 'ra', 'rb', 'rc'], 3),
                         ([r['name'] for r in roles], pages))
        one = self.app.get(self.path + '/groups', {'limit': 1},
                           headers=headers).json
        self.assertEqual([root], [g['path'] for g in one['groups']])
        for collection, marker in (('groups', roles[0]['id']),
                                   ('roles', groups[0]['id'])):
            resp = self.app.get('%s/%s' % (self.path, collection),
                                {'marker': marker}, headers=headers,
                                status=400)
            self.assertEqual('federation.invalid_marker',
                             resp.json['errors'][0]['code'])
        resp = self.app.get(self.path + '/groups', {'limit': 'many'},
                            headers=headers, status=400)
        self.assertEqual('limit', resp.json['errors'][0]['field'])

    def test_vo_deletion_announces_every_removed_membership(self):
        joined = self.app.post_json(self.path + '/memberships', {
            'user_id': self.joiner, 'role': 'member'},
            headers=base.person(self.manager)).json['membership']
        managed = self.app.get(self.path + '/memberships',
                               headers=base.person(self.manager)).json[
                                   'memberships']
        del self.notifier.sent[:]
        self.app.delete(self.path, headers=ADMIN)
        self.assertEqual(
            sorted(('federation.membership.delete', m['id'], m['user_id'],
                    self.vo['id']) for m in managed),
            sorted((event, p['membership_id'], p['user_id'], p['vo_id'])
                   for event, p in self.notifier.events()))
        self.assertIn(joined['id'], [m['id'] for m in managed])
        self.assertEqual([], self.entitlements(self.joiner)['groups'])
        # The VO is gone; system readers still read its trail, its
        # manager no longer can.
        trail = self.audit(self.vo['id'])
        self.assertEqual({self.vo['id']}, {r['vo_id'] for r in trail})
        deleted = [(r['actor'], r['object_type'], r['object_id'])
                   for r in trail if r['action'] == 'delete']
        self.app.get('/v1/audit', {'vo_id': self.vo['id']},
                     headers=base.person(self.manager), status=404)
        for m in managed:
            self.assertIn((ADMIN['X-User-Id'], 'membership', m['id']),
                          deleted)


class TestRequestFlowOnPostgreSQL(TestRequestFlow):
    """The request flow and the pages again on PostgreSQL (timestamps
    made by the server's default, compared for the pages' order)."""

    def setUp(self):
        url = self.useFixture(postgresql.Database()).url
        self.OVERRIDES = {('database', 'connection'): url}
        super().setUp()


class TestInvitationFlow(base.FederationTestCase):

    def setUp(self):
        super().setUp()
        self.manager = self.add_person('alice')
        self.invitee = self.add_person('dora', 'dora@example.org')
        self.vo = self.make_vo('astro', [self.manager])
        self.path = '/v1/vos/%s' % self.vo['id']
        self.group = self.app.post_json(self.path + '/groups', {
            'name': 'optics'}, headers=base.person(self.manager)).json[
                'group']
        del self.notifier.sent[:]

    def _invite(self):
        return self.app.post_json(self.path + '/invitations', {
            'email': 'dora@example.org', 'group_id': self.group['id']},
            headers=base.person(self.manager)).json['invitation']

    def _accept(self, token, user_id=None):
        return self.app.post_json('/v1/invitation_acceptances',
                                  {'token': token},
                                  headers=base.person(user_id or
                                                      self.invitee),
                                  expect_errors=True)

    def test_a_group_outlives_only_its_pending_requests_and_invitations(
            self):
        # A request decided and an invitation used or expired are
        # history: the group can be deleted after them (they kept it for
        # good: nobody can delete a request).  Pending ones, a member or
        # a subgroup keep it.
        manager = base.person(self.manager)
        group_path = '%s/groups/%s' % (self.path, self.group['id'])

        def refused():
            resp = self.app.delete(group_path, headers=manager,
                                   expect_errors=True)
            self.assertEqual(409, resp.status_int, resp.body)
            self.assertEqual('federation.group_in_use',
                             resp.json['errors'][0]['code'])

        used = self._invite()
        self.assertEqual(201, self._accept(used['token']).status_int)
        refused()       # dora is a member
        [membership] = self.app.get(self.path + '/memberships', {
            'user_id': self.invitee}, headers=ADMIN).json['memberships']
        self.app.delete('%s/memberships/%s' % (self.path, membership['id']),
                        headers=manager)
        pending = self._invite()
        refused()       # a pending invitation
        with self.writer() as session:
            session.execute(sa.update(models.Invitation).where(
                models.Invitation.id == pending['id']).values(
                    expires_at=_past()))
        self.add_person('erin')
        request = self.app.post_json(self.path + '/requests', {
            'group_id': self.group['id']},
            headers=base.person('erin')).json['request']
        refused()       # a pending request
        self.app.patch_json('%s/requests/%s' % (self.path, request['id']),
                            {'status': 'rejected'}, headers=manager)
        self.app.delete(group_path, headers=manager, status=204)
        self.app.get(group_path, headers=ADMIN, status=404)
        for what, row in (('invitations', used), ('invitations', pending),
                          ('requests', request)):
            self.app.get('%s/%s/%s' % (self.path, what, row['id']),
                         headers=ADMIN, status=404)
        self.assertIn(('delete', 'group', self.group['id']), [
            (r['action'], r['object_type'], r['object_id'])
            for r in self.audit(self.vo['id'])])

    def test_accepted_once_then_refused(self):
        invitation = self._invite()
        # 256 bits as hexadecimal: never taken for a command-line option.
        self.assertRegex(invitation['token'], '^[0-9a-f]{64}$')
        self.assertNotIn('token', self.app.get(
            '%s/invitations/%s' % (self.path, invitation['id']),
            headers=base.person(self.manager)).json['invitation'])
        first = self._accept(invitation['token'])
        self.assertEqual(201, first.status_int)
        self.assertEqual(('dora', self.group['id'], 'active'),
                         (first.json['membership']['user_id'],
                          first.json['membership']['group_id'],
                          first.json['membership']['status']))
        self.assertEqual(['astro:optics'],
                         self.entitlements(self.invitee)['groups'])
        [(event, payload)] = self.notifier.events()
        self.assertEqual(('federation.membership.create', 'dora'),
                         (event, payload['user_id']))

        self.add_person('eve')
        second = self._accept(invitation['token'], 'eve')
        self.assertEqual((404, 'federation.invitation_not_found'),
                         (second.status_int,
                          second.json['errors'][0]['code']))
        self.assertEqual([], self.entitlements('eve')['groups'])
        shown = self.app.get('%s/invitations/%s' % (
            self.path, invitation['id']), headers=base.person(
                self.manager)).json['invitation']
        self.assertEqual(('accepted', 'dora'),
                         (shown['status'], shown['accepted_by']))
        self.assertIn(('dora', 'accept', 'invitation'),
                      [(r['actor'], r['action'], r['object_type'])
                       for r in self.audit(self.vo['id'])])

    def test_invitation_of_another_vo_is_absent_here(self):
        invitation = self._invite()
        other = self.make_vo('bio', [self.manager])['id']
        resp = self.app.get('/v1/vos/%s/invitations/%s' % (
            other, invitation['id']), headers=base.person(self.manager),
            status=404)
        self.assertEqual('federation.invitation_not_found',
                         resp.json['errors'][0]['code'])

    def test_expired_token_refused(self):
        invitation = self._invite()
        with self.writer() as session:
            session.execute(sa.update(models.Invitation).where(
                models.Invitation.id == invitation['id']).values(
                    expires_at=_past(0.001)))
        resp = self._accept(invitation['token'])
        self.assertEqual(404, resp.status_int)
        self.assertEqual([], self.notifier.events())
        self.assertEqual([], self.entitlements(self.invitee)['groups'])
        # Its manager sees it as it is: expired, no longer pending.
        self.assertEqual('expired', self.app.get(
            '%s/invitations/%s' % (self.path, invitation['id']),
            headers=base.person(self.manager)).json['invitation']['status'])
        self.assertEqual(['expired'], [i['status'] for i in self.app.get(
            self.path + '/invitations', headers=ADMIN).json['invitations']])

    def test_deleted_invitation_refused(self):
        invitation = self._invite()
        self.app.delete('%s/invitations/%s' % (self.path, invitation['id']),
                        headers=base.person(self.manager))
        self.assertEqual(404, self._accept(invitation['token']).status_int)

    def test_unknown_person_cannot_accept(self):
        invitation = self._invite()
        self.assertEqual(403, self._accept(invitation['token'],
                                           'nobody').status_int)


class TestInvitationFlowOnPostgreSQL(TestInvitationFlow):
    """The invitation flow on PostgreSQL, which enforces the references
    to a group its deletion must clear."""

    def setUp(self):
        url = self.useFixture(postgresql.Database()).url
        self.OVERRIDES = {('database', 'connection'): url}
        super().setUp()


class TestIdentities(base.FederationTestCase):

    def test_last_identity_cannot_be_unlinked(self):
        self.add_person('bob')
        path = '/v1/users/bob/identities'
        [only] = self.app.get(path, headers=base.person('bob')).json[
            'identities']
        resp = self.app.delete('%s/%s' % (path, only['id']),
                               headers=base.person('bob'),
                               expect_errors=True)
        self.assertEqual((409, 'federation.last_identity'),
                         (resp.status_int, resp.json['errors'][0]['code']))
        second = self.app.post_json(path, {
            'issuer': 'https://social.example.com', 'subject': 'b0b'},
            headers=base.ADMIN).json['identity']
        self.app.delete('%s/%s' % (path, only['id']),
                        headers=base.person('bob'))
        self.assertEqual([second['id']], [i['id'] for i in self.app.get(
            path, headers=base.person('bob')).json['identities']])
        resp = self.app.delete('%s/%s' % (path, second['id']),
                               headers=base.person('bob'),
                               expect_errors=True)
        self.assertEqual(409, resp.status_int)


class TestDefaultLifetime(base.FederationTestCase):
    """``[federation] membership_lifetime_days`` is the expiry of every
    membership whose manager gives no lifetime, however it is made."""

    OVERRIDES = {('federation', 'membership_lifetime_days'): 30}

    def setUp(self):
        super().setUp()
        self.manager = self.add_person('alice')
        for person in ('bob', 'carol', 'dora'):
            self.add_person(person)
        self.vo = self.make_vo('astro', [self.manager])
        self.path = '/v1/vos/%s' % self.vo['id']
        self.as_manager = base.person(self.manager)

    def _days_left(self, membership):
        expires = datetime.datetime.strptime(membership['expires_at'][:19],
                                             '%Y-%m-%dT%H:%M:%S')
        return (expires - datetime.datetime.utcnow()).total_seconds() / 86400

    def test_every_way_in_expires_after_the_default(self):
        added = self.app.post_json(self.path + '/memberships', {
            'user_id': 'bob', 'role': 'member'},
            headers=self.as_manager).json['membership']
        request = self.app.post_json(self.path + '/requests', {},
                                     headers=base.person('carol')).json[
                                         'request']
        self.app.patch_json('%s/requests/%s' % (self.path, request['id']),
                            {'status': 'approved'}, headers=self.as_manager)
        token = self.app.post_json(self.path + '/invitations', {
            'email': 'dora@example.org'}, headers=self.as_manager).json[
                'invitation']['token']
        self.app.post_json('/v1/invitation_acceptances', {'token': token},
                           headers=base.person('dora'))
        found = {m['user_id']: m for m in self.app.get(
            self.path + '/memberships', headers=self.as_manager).json[
                'memberships']}
        self.assertEqual(added['id'], found['bob']['id'])
        for person in ('alice', 'bob', 'carol', 'dora'):
            with self.subTest(person=person):
                self.assertTrue(29.9 < self._days_left(found[person]) <= 30,
                                found[person]['expires_at'])

    def test_manager_gives_another_lifetime(self):
        added = self.app.post_json(self.path + '/memberships', {
            'user_id': 'bob', 'role': 'member', 'lifetime_days': 400},
            headers=self.as_manager).json['membership']
        self.assertTrue(399.9 < self._days_left(added) <= 400)
