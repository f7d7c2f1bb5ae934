"""Property-based tests of delegated management and entitlements, through
the API in-process:

* no sequence of calls by a VO's manager changes anything outside that
  VO (every row of the other VO, the people, their identities, the IdPs
  and the clients are compared before and after);
* no entitlement is issued for a membership that is not active and
  unexpired, whatever sequence of changes the memberships went through.
"""

import datetime

import hypothesis
from hypothesis import strategies as st
import sqlalchemy as sa

from federation_proxy.db import models
from federation_proxy.tests.functional import base
from federation_proxy.tests.functional import test_enrolment

SETTINGS = hypothesis.settings(
    max_examples=30, deadline=None, derandomize=True,
    suppress_health_check=list(hypothesis.HealthCheck))

VO_TABLES = (models.VirtualOrganisation, models.Group, models.Role,
             models.Membership, models.MembershipRequest, models.Invitation)
GLOBAL_TABLES = (models.User, models.Identity, models.IdentityProvider,
                 models.Client)

# (method, collection under the VO or None for the VO itself, item?, body)
OPERATIONS = [
    ('POST', 'memberships', False, 'membership'),
    ('PATCH', 'memberships', True, 'status'),
    ('DELETE', 'memberships', True, None),
    ('POST', 'groups', False, 'group'),
    ('DELETE', 'groups', True, None),
    ('POST', 'roles', False, 'role'),
    ('DELETE', 'roles', True, None),
    ('PATCH', 'requests', True, 'decision'),
    ('POST', 'invitations', False, 'invitation'),
    ('DELETE', 'invitations', True, None),
    ('DELETE', None, False, None),
    ('GLOBAL', None, False, None),
]


class TestManagerConfinement(base.FederationTestCase):

    def setUp(self):
        super().setUp()
        for name in ('alice', 'bob', 'carol', 'dan'):
            self.add_person(name)
        self.mine = self.make_vo('mine', ['alice'])['id']
        self.theirs = self.make_vo('theirs', ['bob'])['id']
        self.pool = {}
        for vo_id, manager in ((self.mine, 'alice'), (self.theirs, 'bob')):
            headers = base.person(manager)
            path = '/v1/vos/%s' % vo_id
            group = self.app.post_json(path + '/groups', {
                'name': 'g-' + manager}, headers=headers).json['group']
            role = self.app.post_json(path + '/roles', {
                'name': 'r-' + manager}, headers=headers).json['role']
            member = self.app.post_json(path + '/memberships', {
                'user_id': 'carol', 'role': 'member',
                'group_id': group['id']}, headers=headers).json['membership']
            request = self.app.post_json(path + '/requests', {
                'reason': 'x'}, headers=base.person('dan')).json['request']
            invitation = self.app.post_json(path + '/invitations', {
                'email': 'e@example.org'}, headers=headers).json[
                    'invitation']
            empty = self.app.post_json(path + '/groups', {
                'name': 'e-' + manager}, headers=headers).json['group']
            self.pool.setdefault('groups', []).extend([group['id'],
                                                       empty['id']])
            self.pool.setdefault('roles', []).append(role['id'])
            self.pool.setdefault('memberships', []).append(member['id'])
            self.pool.setdefault('requests', []).append(request['id'])
            self.pool.setdefault('invitations', []).append(invitation['id'])

    def _outside(self):
        """Every row that is not of the manager's VO."""
        rows = {}
        with self.writer() as session:
            for model in VO_TABLES:
                column = (model.id if model is models.VirtualOrganisation
                          else model.vo_id)
                rows[model.__tablename__] = sorted(
                    repr(sorted(vars(r).items())[1:]) for r in
                    session.scalars(sa.select(model).where(
                        column != self.mine)))
            for model in GLOBAL_TABLES:
                rows[model.__tablename__] = sorted(
                    repr(sorted(vars(r).items())[1:]) for r in
                    session.scalars(sa.select(model)))
        return rows

    def _body(self, kind, data):
        group = data.draw(st.sampled_from(self.pool['groups'] + [None]))
        return {
            'membership': {'user_id': data.draw(st.sampled_from(
                ['alice', 'bob', 'carol', 'dan'])),
                'role': data.draw(st.sampled_from(
                    ['member', 'manager', 'r-alice', 'r-bob'])),
                'group_id': group},
            'status': {'status': data.draw(st.sampled_from(
                ['active', 'suspended', 'expired', 'pending']))},
            'group': {'name': data.draw(st.sampled_from(['x', 'y'])),
                      'parent_id': group},
            'role': {'name': data.draw(st.sampled_from(['x', 'r-bob']))},
            'decision': {'status': data.draw(st.sampled_from(
                ['approved', 'rejected']))},
            'invitation': {'email': 'i@example.org', 'group_id': group},
        }.get(kind)

    def _call(self, operation, data):
        method, collection, item, kind = operation
        headers = dict(base.person('alice'))
        if method == 'GLOBAL':
            # What only an operator may do, tried by the manager.
            path, body = data.draw(st.sampled_from([
                ('/v1/vos', {'name': 'new', 'managers': ['alice']}),
                ('/v1/users/bob/identities', {'issuer': 'https://x',
                                              'subject': 'y'}),
                ('/v1/idps', {'name': 'i', 'issuer': 'https://i.example',
                              'client_id': 'c'}),
                ('/v1/clients', {'name': 'c',
                                 'grant_types': ['client_credentials']})]))
            return self.app.post_json(path, body, headers=headers,
                                      expect_errors=True)
        vo_id = data.draw(st.sampled_from([self.mine, self.theirs]))
        path = '/v1/vos/%s' % vo_id
        if collection:
            path += '/' + collection
        if item:
            path += '/' + data.draw(st.sampled_from(self.pool[collection]))
        body = self._body(kind, data)
        if method == 'DELETE':
            return self.app.delete(path, headers=headers,
                                   expect_errors=True)
        send = self.app.post_json if method == 'POST' else (
            self.app.patch_json)
        return send(path, body, headers=headers, expect_errors=True)

    @hypothesis.given(data=st.data())
    @SETTINGS
    def test_nothing_outside_the_vo_changes(self, data):
        before = self._outside()
        for operation in data.draw(st.lists(st.sampled_from(OPERATIONS),
                                            min_size=1, max_size=8)):
            resp = self._call(operation, data)
            self.assertLess(resp.status_int, 500, resp.body)
        self.assertEqual(before, self._outside())


class TestEntitlementsFollowStatus(base.FederationTestCase):

    def setUp(self):
        super().setUp()
        self.add_person('alice')
        self.add_person('bob')
        self.vo = self.make_vo('astro', ['alice'])['id']
        self.path = '/v1/vos/%s' % self.vo
        self.headers = base.person('alice')
        self.groups = [None]
        for name in ('optics', 'radio'):
            self.groups.append(self.app.post_json(
                self.path + '/groups', {'name': name},
                headers=self.headers).json['group']['id'])
        self.app.post_json(self.path + '/roles', {'name': 'observer'},
                           headers=self.headers)

    def _memberships(self):
        return [m for m in self.app.get(
            self.path + '/memberships', headers=base.ADMIN).json[
                'memberships'] if m['user_id'] == 'bob']

    def _expected(self):
        paths = {g['id']: g['path'] for g in self.app.get(
            self.path + '/groups', headers=base.ADMIN).json['groups']}
        now = datetime.datetime.utcnow().strftime('%Y-%m-%dT%H:%M:%S')
        current = [m for m in self._memberships()
                   if m['status'] == 'active' and (
                       m['expires_at'] is None or m['expires_at'] > now)]
        urns = set()
        for m in current:
            urns.add(test_enrolment.URN % paths[m['group_id']])
            urns.add(test_enrolment.ROLE_URN % (paths[m['group_id']],
                                                m['role']))
        return {'eduperson_entitlement': sorted(urns),
                'groups': sorted({paths[m['group_id']] for m in current})}

    def _step(self, data):
        action = data.draw(st.sampled_from(
            ['add', 'status', 'renew', 'expire', 'delete']))
        existing = self._memberships()
        if action == 'add' or not existing:
            self.app.post_json(self.path + '/memberships', {
                'user_id': 'bob',
                'role': data.draw(st.sampled_from(['member', 'observer'])),
                'group_id': data.draw(st.sampled_from(self.groups)),
                'status': data.draw(st.sampled_from(
                    ['pending', 'active', 'suspended', 'expired']))},
                headers=self.headers, expect_errors=True)
            return
        # An index, not a choice among the rows: the draws must not
        # depend on the database's state.
        membership = existing[data.draw(st.integers(0, 7)) %
                              len(existing)]['id']
        item = '%s/memberships/%s' % (self.path, membership)
        if action == 'status':
            self.app.patch_json(item, {'status': data.draw(st.sampled_from(
                ['pending', 'active', 'suspended', 'expired']))},
                headers=self.headers)
        elif action == 'renew':
            self.app.patch_json(item, {'renew_days': data.draw(
                st.integers(1, 800))}, headers=self.headers)
        elif action == 'expire':
            # Time passes: the membership's expiry is behind us.
            with self.writer() as session:
                session.execute(sa.update(models.Membership).where(
                    models.Membership.id == membership).values(
                        expires_at=datetime.datetime.utcnow() -
                        datetime.timedelta(seconds=data.draw(
                            st.integers(1, 10 ** 6)))))
        else:
            self.app.delete(item, headers=self.headers)

    @hypothesis.given(data=st.data())
    @SETTINGS
    def test_only_current_memberships_give_entitlements(self, data):
        with self.writer() as session:
            session.execute(sa.delete(models.Membership).where(
                models.Membership.user_id == 'bob'))
        for _ in range(data.draw(st.integers(1, 8))):
            self._step(data)
            self.assertEqual(self._expected(), self.entitlements('bob'))
