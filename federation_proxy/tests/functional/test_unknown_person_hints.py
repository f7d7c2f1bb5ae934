"""Refusals that follow from who the caller or the person named is say
what to do about it.

"No user alice." (a VO's manager or member the proxy does not know),
"Policy does not allow request:create." (a caller the proxy does not
know as a person) and "Policy does not allow vo:list." (a person in no
VO) said nothing of what makes a person known or a member.
"""

from federation_proxy.tests.functional import base

PERSON_HINT = ('a person is known once they log in through one of its '
               'identity providers (GET /v1/login) or an operator '
               'registers them ("openstack federation user create").')


class TestUnknownPersonHints(base.FederationTestCase):

    def detail(self, resp, status, code):
        self.assertEqual(status, resp.status_int)
        err, = resp.json['errors']
        self.assertEqual(code, err['code'])
        return err['detail']

    def test_vo_manager_unknown(self):
        resp = self.app.post_json('/v1/vos', {
            'name': 'astro', 'managers': ['alice']}, headers=base.ADMIN,
            status=404)
        self.assertEqual(
            'No user "alice". The proxy does not know this person: '
            + PERSON_HINT,
            self.detail(resp, 404, 'federation.user_not_found'))
        self.assertEqual([], self.app.get(
            '/v1/vos', headers=base.READER).json['vos'])

    def test_member_unknown(self):
        vo = self.make_vo('astro')
        resp = self.app.post_json('/v1/vos/%s/memberships' % vo['id'], {
            'user_id': 'carol', 'role': 'member'}, headers=base.ADMIN,
            status=404)
        self.assertEqual(
            'No user "carol". The proxy does not know this person: '
            + PERSON_HINT,
            self.detail(resp, 404, 'federation.user_not_found'))

    def test_request_of_a_caller_unknown(self):
        vo = self.make_vo('astro')
        resp = self.app.post_json('/v1/vos/%s/requests' % vo['id'], {
            'reason': 'radio'}, headers=base.person('bob'), status=403)
        self.assertEqual(
            'Policy does not allow request:create. The proxy does not '
            'know user bob as a person: ' + PERSON_HINT,
            self.detail(resp, 403, 'federation.forbidden'))

    def test_own_requests_of_a_caller_unknown(self):
        resp = self.app.get('/v1/users/bob/requests',
                            headers=base.person('bob'), status=404)
        self.assertEqual(
            'No user "bob". The proxy does not know you as a person: '
            + PERSON_HINT,
            self.detail(resp, 404, 'federation.user_not_found'))

    def test_another_person_unknown_is_only_absent(self):
        self.add_person('bob')
        resp = self.app.get('/v1/users/carol/requests',
                            headers=base.person('bob'), status=404)
        self.assertEqual('No user "carol".',
                         self.detail(resp, 404, 'federation.user_not_found'))
        resp = self.app.get('/v1/users/carol/requests', headers=base.ADMIN,
                            status=404)
        self.assertEqual('No user "carol".',
                         self.detail(resp, 404, 'federation.user_not_found'))

    def test_vo_list_of_a_person_in_no_vo(self):
        self.make_vo('astro')
        self.add_person('bob')
        resp = self.app.get('/v1/vos', headers=base.person('bob'),
                            status=403)
        self.assertEqual(
            'Policy does not allow vo:list. You belong to no VO yet: ask '
            'to join one with its ID ("openstack vo request create '
            '<vo-id>") or accept an invitation.',
            self.detail(resp, 403, 'federation.forbidden'))

    def test_refusal_of_a_member_is_unchanged(self):
        # A member refused a manager's action: nothing about who they
        # are would help.
        self.add_person('alice')
        self.add_person('bob')
        vo = self.make_vo('astro', managers=['alice'])
        self.app.post_json('/v1/vos/%s/memberships' % vo['id'], {
            'user_id': 'bob', 'role': 'member'},
            headers=base.person('alice'))
        resp = self.app.post_json('/v1/vos/%s/memberships' % vo['id'], {
            'user_id': 'alice', 'role': 'member'},
            headers=base.person('bob'), status=403)
        self.assertEqual('Policy does not allow membership:create.',
                         self.detail(resp, 403, 'federation.forbidden'))
