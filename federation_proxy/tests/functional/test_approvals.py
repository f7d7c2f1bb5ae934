"""Property-based test of the ways into a VO, through the API in-process:
nobody holds a membership that nobody entitled to grant it granted.

Five people act at random on two VOs: they ask to join (any role, any
group, theirs or the other VO's), decide requests, add, change and
remove memberships, invite, and accept invitations.  Before each call
the test reads, from the database, whether the actor is then a current
manager of the VO the call names; after it:

* a call that only a VO's managers (or an operator) may make succeeded
  only for one (a member, a stranger or a manager of the other VO is
  refused);
* a request is always the caller's own;
* an approval made exactly the membership the request asked for, in
  the request's VO; an accepted invitation made exactly the invitation's
  membership, for the person who accepted it, and only while the
  manager who made it still managed the VO (an invitation is its
  inviter's approval, and does not outlive their authority);
* every membership in the database is one of those granted so (or one
  the operator made at the start): none appears any other way.
"""

import datetime

import hypothesis
from hypothesis import strategies as st
import sqlalchemy as sa

from federation_proxy.db import models
from federation_proxy.tests.functional import base

SETTINGS = hypothesis.settings(
    max_examples=100, deadline=None, derandomize=True,
    suppress_health_check=list(hypothesis.HealthCheck))

PEOPLE = ('alice', 'bob', 'carol', 'dan', 'erin')
#: Who acts: the founding managers more often than the others, so that
#: grants (and then acceptances and decisions of them) happen often.
ACTORS = ('alice', 'bob') * 3 + PEOPLE
ROLES = ('member', 'manager', 'observer')
# The calls only a VO's managers (or an operator) may make.
MANAGERS_ONLY = ('decide', 'add', 'invite', 'status', 'remove')


class TestNoUngrantedMembership(base.FederationTestCase):

    def setUp(self):
        super().setUp()
        for name in PEOPLE:
            self.add_person(name)
        self.vos = [self.make_vo('astro', ['alice'])['id'],
                    self.make_vo('bio', ['bob'])['id']]
        # The VO each acts on most (the stranger: either).
        self.home = {'alice': self.vos[0], 'carol': self.vos[0],
                     'bob': self.vos[1], 'dan': self.vos[1]}
        self.groups = {}
        for vo_id, manager in zip(self.vos, ('alice', 'bob')):
            path = '/v1/vos/%s' % vo_id
            headers = base.person(manager)
            self.app.post_json(path + '/roles', {'name': 'observer'},
                               headers=headers)
            root = self.app.get(path + '/groups', headers=base.ADMIN).json[
                'groups'][0]['id']
            sub = self.app.post_json(path + '/groups', {'name': 'sub'},
                                     headers=headers).json['group']['id']
            self.groups[vo_id] = (root, sub)
        # Members who are no managers, from the start: carol of astro,
        # dan an observer in bio's subgroup; erin is a stranger.
        for user_id, vo_id, role, group in (
                ('carol', self.vos[0], 'member', self.groups[self.vos[0]][0]),
                ('dan', self.vos[1], 'observer', self.groups[self.vos[1]][1])):
            self.app.post_json('/v1/vos/%s/memberships' % vo_id, {
                'user_id': user_id, 'role': role, 'group_id': group},
                headers=base.ADMIN)
        self.founders = self._memberships()
        with self.writer() as session:
            self.founding_rows = [
                {c.key: getattr(row, c.key)
                 for c in models.Membership.__table__.c}
                for row in session.scalars(sa.select(models.Membership))]

    # -- the database as it is -----------------------------------------------

    def _memberships(self):
        with self.writer() as session:
            return set(session.execute(sa.select(
                models.Membership.user_id, models.Membership.group_id,
                models.Membership.role)).all())

    def _is_manager(self, user_id, vo_id):
        now = datetime.datetime.utcnow()
        table = models.Membership
        with self.writer() as session:
            return session.scalar(sa.select(sa.func.count()).where(
                table.user_id == user_id, table.vo_id == vo_id,
                table.role == 'manager', table.status == 'active',
                sa.or_(table.expires_at.is_(None),
                       table.expires_at > now))) > 0

    def _row(self, model, row_id):
        with self.writer() as session:
            row = session.get(model, row_id)
            return None if row is None else {
                c.key: getattr(row, c.key) for c in model.__table__.c}

    def _back_to_founders(self):
        """Back to the founding memberships alone, as they were made (an
        example may have removed or suspended them)."""
        with self.writer() as session:
            session.execute(sa.delete(models.MembershipRequest))
            session.execute(sa.delete(models.Invitation))
            session.execute(sa.delete(models.Membership))
            session.execute(sa.insert(models.Membership),
                            self.founding_rows)

    def _pick(self, data, pool, width):
        """One of ``pool`` (tuples of ``width``; a made-up one when it is
        empty)."""
        # An index, not a choice among the rows: the draws must not
        # depend on the database's state.
        index = data.draw(st.integers(0, 15))
        return pool[index % len(pool)] if pool else (
            ('0' * 64,) + (self.vos[0],) * (width - 1))

    def _vo_of(self, data, vo_id):
        """``vo_id`` mostly, the other VO sometimes: calls aimed at the
        wrong VO must fail, and the others must sometimes succeed."""
        if data.draw(st.integers(0, 2)):
            return vo_id
        return self.vos[1 - self.vos.index(vo_id)]

    def _step(self, data, pools, granted):
        actor = data.draw(st.sampled_from(ACTORS))
        action = data.draw(st.sampled_from(
            ('ask', 'decide', 'add', 'invite', 'accept', 'status',
             'remove')))
        home = self.home.get(actor) or data.draw(st.sampled_from(self.vos))
        vo_id = self._vo_of(data, home)
        role = data.draw(st.sampled_from(ROLES))
        group = self.groups[self._vo_of(data, vo_id)][
            data.draw(st.integers(0, 1))]
        if action == 'decide':
            request_id, asked_vo = self._pick(data, pools['requests'], 2)
            vo_id = self._vo_of(data, asked_vo)
        elif action in ('status', 'remove'):
            membership, its_vo = self._pick(data, pools['memberships'], 2)
            vo_id = self._vo_of(data, its_vo)
        path = '/v1/vos/%s' % vo_id
        headers = base.person(actor)
        was_manager = self._is_manager(actor, vo_id)
        before = self._memberships()
        if action == 'ask':
            resp = self.app.post_json(path + '/requests', {
                'role': role, 'group_id': group}, headers=headers,
                expect_errors=True)
            if resp.status_int == 201:
                request = resp.json['request']
                self.assertEqual((actor, vo_id, 'pending'), (
                    request['user_id'], request['vo_id'],
                    request['status']))
                pools['requests'].append((request['id'], vo_id))
        elif action == 'decide':
            asked = self._row(models.MembershipRequest, request_id)
            approve = data.draw(st.booleans())
            resp = self.app.patch_json(
                '%s/requests/%s' % (path, request_id),
                {'status': 'approved' if approve else 'rejected'},
                headers=headers, expect_errors=True)
            if resp.status_int == 200:
                self.assertEqual(vo_id, asked['vo_id'])
            if resp.status_int == 200 and approve:
                grant = (asked['user_id'], asked['group_id'],
                         asked['role'])
                self.assertEqual({grant}, self._memberships() - before)
                granted.add(grant)
        elif action == 'add':
            user_id = data.draw(st.sampled_from(PEOPLE))
            resp = self.app.post_json(path + '/memberships', {
                'user_id': user_id, 'role': role, 'group_id': group},
                headers=headers, expect_errors=True)
            if resp.status_int == 201:
                granted.add((user_id, group, role))
        elif action == 'invite':
            resp = self.app.post_json(path + '/invitations', {
                'email': 'x@example.org', 'role': role, 'group_id': group},
                headers=headers, expect_errors=True)
            if resp.status_int == 201:
                invitation = resp.json['invitation']
                pools['tokens'].append((invitation['token'],
                                        invitation['group_id'],
                                        invitation['role'], actor,
                                        invitation['vo_id']))
        elif action == 'accept':
            token, group, role, inviter, its_vo = self._pick(
                data, pools['tokens'], 5)
            inviter_manages = self._is_manager(inviter, its_vo)
            resp = self.app.post_json('/v1/invitation_acceptances', {
                'token': token}, headers=headers, expect_errors=True)
            if resp.status_int == 201:
                # The inviter's approval held only while they managed
                # the VO.
                self.assertTrue(inviter_manages, '%s accepted %s by %s' % (
                    actor, its_vo, inviter))
                grant = (actor, group, role)
                self.assertEqual({grant}, self._memberships() - before)
                granted.add(grant)
        else:
            item = '%s/memberships/%s' % (path, membership)
            if action == 'status':
                resp = self.app.patch_json(item, {
                    'status': data.draw(st.sampled_from(
                        ('active', 'suspended', 'pending')))},
                    headers=headers, expect_errors=True)
            else:
                resp = self.app.delete(item, headers=headers,
                                       expect_errors=True)
        self.assertLess(resp.status_int, 500, resp.body)
        if action in MANAGERS_ONLY and resp.status_int < 300:
            self.assertTrue(was_manager, '%s %s by %s: %s' % (
                action, vo_id, actor, resp.status))
        if resp.status_int < 300:
            pools['memberships'] = self._membership_ids()
        return resp

    def _membership_ids(self):
        """``[(membership id, its VO)]``, oldest first."""
        table = models.Membership
        with self.writer() as session:
            return session.execute(sa.select(table.id, table.vo_id).order_by(
                table.created_at, table.id)).all()

    @hypothesis.given(data=st.data())
    @SETTINGS
    def test_every_membership_was_granted(self, data):
        self._back_to_founders()
        pools = {'requests': [], 'tokens': [],
                 'memberships': self._membership_ids()}
        granted = set(self.founders)
        for _ in range(data.draw(st.integers(1, 20))):
            self._step(data, pools, granted)
            self.assertLessEqual(self._memberships(), granted)
