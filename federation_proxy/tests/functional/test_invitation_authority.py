"""An invitation is its inviter's approval of the role it offers: one a
VO manager made is accepted only while that manager still manages the
VO; an operator's needs no manager."""

import datetime

import sqlalchemy as sa

from federation_proxy.db import models
from federation_proxy.tests.functional import base


class TestInvitationAuthority(base.FederationTestCase):

    def setUp(self):
        super().setUp()
        for name in ('bob', 'carol'):
            self.add_person(name)
        self.vo = self.make_vo('astro', ['bob'])
        self.path = '/v1/vos/%s' % self.vo['id']

    def _invite(self, headers, role='manager'):
        return self.app.post_json(self.path + '/invitations', {
            'email': 'carol@example.org', 'role': role},
            headers=headers).json['invitation']

    def _accept(self, token):
        return self.app.post_json('/v1/invitation_acceptances', {
            'token': token}, headers=base.person('carol'),
            expect_errors=True)

    def _bobs_membership(self):
        return self.app.get(self.path + '/memberships', {
            'user_id': 'bob'}, headers=base.ADMIN).json['memberships'][0]

    def assertRefused(self, invitation, resp):
        self.assertEqual(409, resp.status_int, resp.body)
        self.assertEqual('federation.inviter_no_longer_manager',
                         resp.json['errors'][0]['code'])
        self.assertEqual([], self.app.get(self.path + '/memberships', {
            'user_id': 'carol'}, headers=base.ADMIN).json['memberships'])
        self.assertEqual([], self.entitlements('carol')['groups'])
        self.assertEqual('pending', self.app.get(
            self.path + '/invitations/%s' % invitation['id'],
            headers=base.ADMIN).json['invitation']['status'])

    def test_a_managers_invitation_is_accepted_while_they_manage(self):
        invitation = self._invite(base.person('bob'))
        resp = self._accept(invitation['token'])
        self.assertEqual(201, resp.status_int, resp.body)
        self.assertEqual('manager', resp.json['membership']['role'])

    def test_an_invitation_shows_its_inviting_manager(self):
        # Where an invitation is shown (its creation, the list, by id):
        # the manager whose approval it is, or None for an operator's.
        by_bob = self._invite(base.person('bob'), role='member')
        by_admin = self._invite(base.ADMIN, role='member')
        self.assertEqual(('bob', None), (by_bob['inviting_manager'],
                                         by_admin['inviting_manager']))
        listed = self.app.get(self.path + '/invitations',
                              headers=base.person('bob')).json
        self.assertEqual({by_bob['id']: 'bob', by_admin['id']: None},
                         {i['id']: i['inviting_manager']
                          for i in listed['invitations']})
        shown = self.app.get(self.path + '/invitations/%s' % by_bob['id'],
                             headers=base.ADMIN).json['invitation']
        self.assertEqual('bob', shown['inviting_manager'])
        self.assertEqual(201, self._accept(by_bob['token']).status_int)
        shown = self.app.get(self.path + '/invitations/%s' % by_bob['id'],
                             headers=base.ADMIN).json['invitation']
        self.assertEqual(('accepted', 'bob', 'carol'),
                         (shown['status'], shown['inviting_manager'],
                          shown['accepted_by']))

    def test_invitation_of_a_removed_manager_grants_nothing(self):
        invitation = self._invite(base.person('bob'))
        self.app.delete(self.path + '/memberships/%s' %
                        self._bobs_membership()['id'], headers=base.ADMIN)
        self.assertRefused(invitation, self._accept(invitation['token']))

    def test_invitation_of_a_suspended_manager_grants_nothing(self):
        invitation = self._invite(base.person('bob'), role='member')
        self.app.patch_json(self.path + '/memberships/%s' %
                            self._bobs_membership()['id'],
                            {'status': 'suspended'}, headers=base.ADMIN)
        self.assertRefused(invitation, self._accept(invitation['token']))

    def test_invitation_of_a_manager_whose_role_expired_grants_nothing(self):
        invitation = self._invite(base.person('bob'))
        with self.writer() as session:
            session.execute(sa.update(models.Membership).where(
                models.Membership.user_id == 'bob').values(
                    expires_at=datetime.datetime.utcnow() -
                    datetime.timedelta(seconds=1)))
        self.assertRefused(invitation, self._accept(invitation['token']))

    def test_an_operators_invitation_needs_no_manager(self):
        # No manager at all is left in the VO: the operator's invitation
        # is the operator's approval, and stays good.
        invitation = self._invite(base.ADMIN)
        self.app.delete(self.path + '/memberships/%s' %
                        self._bobs_membership()['id'], headers=base.ADMIN)
        resp = self._accept(invitation['token'])
        self.assertEqual(201, resp.status_int, resp.body)
        self.assertEqual(['astro'], self.entitlements('carol')['groups'])
