"""Every federation_proxy endpoint × every persona (see
svc_common.tests.functional.policy_matrix): a rule without a row fails.

Beyond the personas every service has, this matrix has the people of a
community (:attr:`TestPolicyMatrix.EXTRA_PERSONAS`): the manager of VO
``vo1``, the manager of another VO, a member of ``vo1`` and a stranger (a
person the proxy knows, in no VO).  Their rights come from the proxy's own
memberships, not from Keystone roles: each holds a plain project
``member`` token, and is the proxy person whose id is the token's user id
(noauth: ``X-User-Id: user-<persona>``; with real tokens, the Keystone
user's id), registered by ``setUp``.
"""

import testtools

from federation_proxy import service
from svc_common.tests.functional import api_fixture as af
from svc_common.tests.functional import policy_matrix as pm

VO_PEOPLE = ('vo_manager', 'other_vo_manager', 'vo_member', 'stranger')
EVERYONE = pm.ALL_PERSONAS + tuple(sorted(VO_PEOPLE))
NOT_SYSTEM = tuple(p for p in EVERYONE if p not in pm.SYSTEM_PERSONAS)
KEYSTONE_ONLY = tuple(p for p in NOT_SYSTEM if p not in VO_PEOPLE)
ADMIN = af.SYSTEM_ADMIN


def expect(success, allowed, hidden=()):
    return pm.expect(success, allowed, hidden, everyone=EVERYONE)


def _hidden_except(*allowed):
    return tuple(p for p in NOT_SYSTEM if p not in allowed)


def _vo_read(path, rule):
    """Read by system readers and the VO's manager; the VO's member is
    refused; anyone with no role in the VO finds nothing."""
    return pm.Row(rule, 'GET', path, expect(
        200, pm.SYSTEM_PERSONAS + ('vo_manager',),
        hidden=_hidden_except('vo_manager', 'vo_member')))


def _vo_write(rule, method, path, success, body=None, undo=None):
    return pm.Row(rule, method, path, expect(
        success, ('system_admin', 'vo_manager'),
        hidden=_hidden_except('vo_manager', 'vo_member')), body, undo)


def _undo_delete(test, kind, key):
    def undo(test, resp):
        test.app.delete('/v1/vos/%s/%s/%s' % (
            test.ids['vo'], kind, resp.json[key]['id']), headers=ADMIN)
    return undo


def _recreate_membership(test, resp):
    test.ids['spare_membership'] = test.add_member(test.ids['vo'], 'spare')


def _recreate_request(test, resp):
    test.ids['request'] = test.ask(test.ids['vo'], 'spare')


def _ask_again(test, resp):
    test.ids['own_request'] = test.ask(test.ids['vo2'], 'stranger')


def _recreate_invitation(test, resp):
    test.ids['invitation'] = test.invite(test.ids['vo'])['id']


def _recreate_vo(test, resp):
    test.ids['vo3'] = test.make_vo('vo3', [])


def _relink(test, resp):
    test.ids['spare_identity'] = test.app.post_json(
        '/v1/users/%s/identities' % test.ids['vo_member'],
        {'issuer': 'https://spare', 'subject': 'x'},
        headers=ADMIN).json['identity']['id']


def _unlink_new(test, resp):
    test.app.delete('/v1/users/%s/identities/%s' % (
        test.ids['vo_member'], resp.json['identity']['id']), headers=ADMIN)


def _new_token(test, resp):
    test.app.delete('/v1/vos/%s/memberships/%s' % (
        test.ids['vo'], resp.json['membership']['id']), headers=ADMIN)
    test.ids['token'] = test.invite(test.ids['vo'])['token']


def _recreate(kind, key, body):
    """An undo that makes a new spare object of a registry, or of VO
    ``vo``'s ``kind`` when ``kind`` is a VO collection."""
    def undo(test, resp):
        path = ('/v1/%s' % kind if kind in ('idps', 'clients') else
                '/v1/vos/%s/%s' % (test.ids['vo'], kind))
        test.ids[key] = test.app.post_json(
            path, body, headers=ADMIN).json[kind[:-1]]['id']
    return undo


def _delete_created(kind):
    def undo(test, resp):
        key = kind[:-1]
        test.app.delete('/v1/%s/%s' % (kind, resp.json[key]['id']),
                        headers=ADMIN)
    return undo


SPARE_IDP = {'name': 'spare-idp', 'issuer': 'https://spare.example.org',
             'client_id': 'proxy'}
SPARE_CLIENT = {'name': 'spare client', 'grant_types': ['client_credentials']}
SPARE_GROUP = {'name': 'spare-group'}
SPARE_ROLE = {'name': 'spare-role'}


def _registry_rows(kind, key, new_body, update_body):
    path = '/v1/%s' % kind
    rule = 'federation:%s:%%s' % kind[:-1]
    return [
        pm.Row(rule % 'list', 'GET', path, expect(200, pm.SYSTEM_PERSONAS)),
        pm.Row(rule % 'get', 'GET', path + '/{%s}' % key,
               expect(200, pm.SYSTEM_PERSONAS)),
        pm.Row(rule % 'create', 'POST', path,
               expect(201, ('system_admin',)), new_body,
               _delete_created(kind)),
        pm.Row(rule % 'update', 'PATCH', path + '/{%s}' % key,
               expect(200, ('system_admin',)), update_body),
        pm.Row(rule % 'delete', 'DELETE', path + '/{spare_%s}' % key,
               expect(204, ('system_admin',)),
               undo=_recreate(kind, 'spare_' + key,
                              SPARE_IDP if kind == 'idps' else
                              SPARE_CLIENT)),
    ]


VO = '/v1/vos/{vo}'
PEOPLE = VO_PEOPLE

ROWS = [
    pm.Row('federation:root:get', 'GET', '/v1',
           expect(200, pm.ANY_READER + VO_PEOPLE)),
    pm.Row('federation:user:create', 'POST', '/v1/users',
           expect(201, ('system_admin',)),
           {'issuer': 'https://idp', 'subject': 'new-person'}),
    pm.Row('federation:user:list', 'GET', '/v1/users',
           expect(200, pm.SYSTEM_PERSONAS)),
    pm.Row('federation:user:get', 'GET', '/v1/users/{vo_member}',
           expect(200, pm.SYSTEM_PERSONAS + ('vo_member',),
                  hidden=_hidden_except('vo_member'))),
    pm.Row('federation:identity:list', 'GET',
           '/v1/users/{vo_member}/identities',
           expect(200, pm.SYSTEM_PERSONAS + ('vo_member',),
                  hidden=_hidden_except('vo_member'))),
    pm.Row('federation:identity:create', 'POST',
           '/v1/users/{vo_member}/identities',
           expect(201, ('system_admin',), hidden=NOT_SYSTEM),
           {'issuer': 'https://other', 'subject': 'y'}, _unlink_new),
    pm.Row('federation:identity:delete', 'DELETE',
           '/v1/users/{vo_member}/identities/{spare_identity}',
           expect(204, ('system_admin', 'vo_member'),
                  hidden=_hidden_except('vo_member')), undo=_relink),
    pm.Row('federation:vo:create', 'POST', '/v1/vos',
           expect(201, ('system_admin',)),
           {'name': 'vo-new', 'managers': []},
           lambda test, resp: test.app.delete(
               '/v1/vos/%s' % resp.json['vo']['id'], headers=ADMIN)),
    pm.Row('federation:vo:list', 'GET', '/v1/vos',
           expect(200, pm.SYSTEM_PERSONAS + ('vo_manager',
                                             'other_vo_manager',
                                             'vo_member'))),
    pm.Row('federation:vo:get', 'GET', VO,
           expect(200, pm.SYSTEM_PERSONAS + ('vo_manager', 'vo_member'),
                  hidden=_hidden_except('vo_manager', 'vo_member'))),
    pm.Row('federation:vo:delete', 'DELETE', '/v1/vos/{vo3}',
           expect(204, ('system_admin',), hidden=NOT_SYSTEM),
           undo=_recreate_vo),
    pm.Row('federation:request:create', 'POST', VO + '/requests',
           # The VO's member holds the member role asked for.
           dict(expect(201, PEOPLE), vo_member=409),
           {'reason': 'I study stars.'}),
    pm.Row('federation:invitation:accept', 'POST',
           '/v1/invitation_acceptances',
           # Any person may accept; the VO's member holds the role.
           dict(expect(201, PEOPLE), vo_member=409),
           {'token': '{token}'}, _new_token),
    pm.Row('federation:audit:list', 'GET', '/v1/audit',
           expect(200, pm.SYSTEM_PERSONAS)),
    _vo_read(VO + '/memberships', 'federation:membership:list'),
    _vo_read(VO + '/memberships/{member_membership}',
             'federation:membership:get'),
    _vo_write('federation:membership:create', 'POST', VO + '/memberships',
              201, {'user_id': '{stranger}', 'role': 'member'},
              _undo_delete(None, 'memberships', 'membership')),
    _vo_write('federation:membership:update', 'PATCH',
              VO + '/memberships/{member_membership}', 200,
              {'renew_days': 30}),
    _vo_write('federation:membership:delete', 'DELETE',
              VO + '/memberships/{spare_membership}', 204,
              undo=_recreate_membership),
    _vo_read(VO + '/requests', 'federation:request:list'),
    _vo_read(VO + '/requests/{request}', 'federation:request:get'),
    _vo_write('federation:request:decide', 'PATCH',
              VO + '/requests/{request}', 200, {'status': 'rejected'},
              _recreate_request),
    # Only the person who asked withdraws (the stranger, a request to
    # join vo2, so that it leaves theirs to vo1 to the row above); the
    # VO's manager and operators see it and are refused, anyone else
    # finds nothing.
    pm.Row('federation:request:withdraw', 'DELETE',
           '/v1/vos/{vo2}/requests/{own_request}',
           expect(204, ('stranger',),
                  hidden=_hidden_except('stranger', 'other_vo_manager')),
           undo=_ask_again),
    _vo_read(VO + '/invitations', 'federation:invitation:list'),
    _vo_read(VO + '/invitations/{invitation}', 'federation:invitation:get'),
    _vo_write('federation:invitation:create', 'POST', VO + '/invitations',
              201, {'email': 'new@example.org'},
              _undo_delete(None, 'invitations', 'invitation')),
    _vo_write('federation:invitation:delete', 'DELETE',
              VO + '/invitations/{invitation}', 204,
              undo=_recreate_invitation),
    # A person's own requests: the stranger asked to join vo2.
    pm.Row('federation:user_request:list', 'GET',
           '/v1/users/{stranger}/requests',
           expect(200, pm.SYSTEM_PERSONAS + ('stranger',),
                  hidden=_hidden_except('stranger'))),
    pm.Row('federation:user_request:get', 'GET',
           '/v1/users/{stranger}/requests/{own_request}',
           expect(200, pm.SYSTEM_PERSONAS + ('stranger',),
                  hidden=_hidden_except('stranger'))),
    pm.Row('federation:user:entitlements', 'GET',
           '/v1/users/{vo_member}/entitlements',
           expect(200, pm.SYSTEM_PERSONAS + ('vo_member',),
                  hidden=_hidden_except('vo_member'))),
    _vo_read(VO + '/groups', 'federation:group:list'),
    _vo_read(VO + '/groups/{group}', 'federation:group:get'),
    _vo_write('federation:group:create', 'POST', VO + '/groups', 201,
              {'name': 'new-group', 'parent_id': '{group}'},
              _undo_delete(None, 'groups', 'group')),
    _vo_write('federation:group:delete', 'DELETE',
              VO + '/groups/{spare_group}', 204,
              undo=_recreate('groups', 'spare_group', SPARE_GROUP)),
    _vo_read(VO + '/roles', 'federation:role:list'),
    _vo_read(VO + '/roles/{role}', 'federation:role:get'),
    _vo_write('federation:role:create', 'POST', VO + '/roles', 201,
              {'name': 'new-role'}, _undo_delete(None, 'roles', 'role')),
    _vo_write('federation:role:delete', 'DELETE',
              VO + '/roles/{spare_role}', 204,
              undo=_recreate('roles', 'spare_role', SPARE_ROLE)),
] + _registry_rows('idps', 'idp', {
    'name': 'new-idp', 'issuer': 'https://new.example.org',
    'client_id': 'proxy', 'scopes': ['openid']}, {'enabled': False}) + (
    _registry_rows('clients', 'client', {
        'name': 'new client', 'grant_types': ['authorization_code'],
        'redirect_uris': ['https://leaf.example.org/cb']},
        {'name': 'renamed'}))


class TestPolicyMatrix(pm.PolicyMatrixTests, testtools.TestCase):

    SPEC = service.SPEC
    EXTRA_PERSONAS = {name: ('own', 'member') for name in VO_PEOPLE}
    ROWS = ROWS

    def setUp(self):
        super().setUp()
        self.app = self.useFixture(af.ServiceApp(self.SPEC)).app
        for name in VO_PEOPLE + ('spare',):
            user_id = (self.persona_user_id(name) if name in VO_PEOPLE
                       else 'user-spare')
            self.app.post_json('/v1/users', {
                'id': user_id, 'issuer': 'https://idp', 'subject': name},
                headers=ADMIN)
            self.ids[name] = user_id
        self.ids['vo'] = self.make_vo('vo1', [self.ids['vo_manager']])
        self.ids['vo2'] = self.make_vo('vo2',
                                       [self.ids['other_vo_manager']])
        self.ids['vo3'] = self.make_vo('vo3', [])
        self.ids['member_membership'] = self.add_member(self.ids['vo'],
                                                        'vo_member')
        self.ids['spare_membership'] = self.add_member(self.ids['vo'],
                                                       'spare')
        self.ids['request'] = self.ask(self.ids['vo'], 'spare')
        _ask_again(self, None)
        invitation = self.invite(self.ids['vo'])
        self.ids['invitation'] = invitation['id']
        self.ids['token'] = self.invite(self.ids['vo'])['token']
        _relink(self, None)
        self.ids['group'] = self.app.post_json(
            '/v1/vos/%s/groups' % self.ids['vo'], {'name': 'stars'},
            headers=ADMIN).json['group']['id']
        self.ids['role'] = self.app.post_json(
            '/v1/vos/%s/roles' % self.ids['vo'], {'name': 'observer'},
            headers=ADMIN).json['role']['id']
        _recreate('groups', 'spare_group', SPARE_GROUP)(self, None)
        _recreate('roles', 'spare_role', SPARE_ROLE)(self, None)
        self.ids['idp'] = self.app.post_json('/v1/idps', {
            'name': 'home', 'issuer': 'https://home.example.org',
            'client_id': 'proxy'}, headers=ADMIN).json['idp']['id']
        _recreate('idps', 'spare_idp', SPARE_IDP)(self, None)
        self.ids['client'] = self.app.post_json('/v1/clients', {
            'name': 'leaf', 'grant_types': ['client_credentials']},
            headers=ADMIN).json['client']['id']
        _recreate('clients', 'spare_client', SPARE_CLIENT)(self, None)

    def make_vo(self, name, managers):
        return self.app.post_json('/v1/vos', {
            'name': name, 'managers': managers},
            headers=ADMIN).json['vo']['id']

    def add_member(self, vo_id, person):
        return self.app.post_json('/v1/vos/%s/memberships' % vo_id, {
            'user_id': self.ids[person], 'role': 'member'},
            headers=ADMIN).json['membership']['id']

    def ask(self, vo_id, person):
        # For a role the spare does not hold (a request for a membership
        # held already is refused).
        return self.app.post_json(
            '/v1/vos/%s/requests' % vo_id, {'reason': 'please',
                                            'role': 'manager'},
            headers=af.identity(pm.MEMBER, self.OWN,
                                user_id=self.ids[person])).json[
                                    'request']['id']

    def invite(self, vo_id):
        return self.app.post_json('/v1/vos/%s/invitations' % vo_id, {
            'email': 'someone@example.org'},
            headers=ADMIN).json['invitation']
