"""Every image_family_svc endpoint × every persona (see
svc_common.tests.functional.policy_matrix): a rule without a row fails.

Project ``p1`` (the ``project_*`` personas) owns the private family
``own-fam``, its images ``own-img`` and ``spare-img``, and the empty
family ``spare-fam``; ``pub`` is a system-owned public family.  Members
of ``p1`` (and cloud administrators) manage p1's families; any reader
reads public ones; the ``other_*`` personas (project ``p2``) get the 404
of an absent object for p1's private families.
"""

import testtools

from image_family_svc import service
from image_family_svc.tests.functional import base
from svc_common.tests.functional import api_fixture as af
from svc_common.tests.functional import policy_matrix as pm

ADMIN = af.SYSTEM_ADMIN
P1_MEMBER = af.identity(['member', 'reader'], 'p1')
MANAGERS = ('system_admin', 'project_admin', 'project_member')
HIDDEN = pm.OTHER_PERSONAS
LATER = '2099-01-01T00:00:00Z'


def _rule(name):
    return 'image_family:%s' % name


def _own_read(name, path):
    return pm.Row(_rule(name), 'GET', path,
                  pm.expect(200, pm.READERS_OF_OWN, hidden=HIDDEN))


def _manage(name, method, path, status, body=None, undo=None):
    return pm.Row(_rule(name), method, path,
                  pm.expect(status, MANAGERS, hidden=HIDDEN), body=body,
                  undo=undo)


def _add_image(test, image_id):
    test.app.post_json('/v1/families/own-fam/images',
                       {'image_id': image_id, 'properties': base.PROPS},
                       headers=ADMIN)


def _schedule(test):
    test.ids['sched'] = test.app.post_json(
        '/v1/images/own-img/transitions', {'to': 'deprecated', 'at': LATER},
        headers=ADMIN).json['scheduled']['id']


ROWS = [
    pm.root_row(service.SPEC.namespace),
    pm.Row(_rule('family:list'), 'GET', '/v1/families',
           pm.expect(200, pm.ANY_READER)),
    _own_read('family:get', '/v1/families/own-fam'),
    pm.Row(_rule('family:get'), 'GET', '/v1/families/pub',
           pm.expect(200, pm.ANY_READER)),
    pm.Row(_rule('family:create'), 'POST', '/v1/families',
           pm.expect(201, MANAGERS),
           body={'name': 'new-fam', 'project_id': 'p1'},
           undo=lambda test, resp: test.app.delete(
               '/v1/families/new-fam', headers=ADMIN)),
    pm.Row(_rule('family:create'), 'POST', '/v1/families',
           pm.expect(201, ('system_admin',)),
           body={'name': 'new-pub', 'project_id': None},
           undo=lambda test, resp: test.app.delete(
               '/v1/families/new-pub', headers=ADMIN)),
    _manage('family:update', 'PATCH', '/v1/families/own-fam', 200,
            body={'description': 'x'}),
    pm.Row(_rule('family:update'), 'PATCH', '/v1/families/pub',
           pm.expect(200, ('system_admin',)), body={'description': 'x'}),
    _manage('family:delete', 'DELETE', '/v1/families/spare-fam', 204,
            undo=lambda test, resp: test.app.post_json(
                '/v1/families', {'name': 'spare-fam'}, headers=P1_MEMBER)),
    pm.Row(_rule('family:latest'), 'GET', '/v1/families/pub/latest',
           pm.expect(200, pm.ANY_READER)),
    _own_read('family:latest', '/v1/families/own-fam/latest?channel=beta'),
    _own_read('family:image:list', '/v1/families/own-fam/images'),
    _manage('family:image:add', 'POST', '/v1/families/own-fam/images', 201,
            body={'image_id': 'new-img', 'properties': base.PROPS},
            undo=lambda test, resp: test.app.delete(
                '/v1/families/own-fam/images/new-img', headers=ADMIN)),
    _manage('family:image:remove', 'DELETE',
            '/v1/families/own-fam/images/spare-img', 204,
            undo=lambda test, resp: _add_image(test, 'spare-img')),
    pm.Row(_rule('image:list'), 'GET', '/v1/images',
           pm.expect(200, pm.ANY_READER)),
    _own_read('image:get', '/v1/images/own-img'),
    pm.Row(_rule('image:get'), 'GET', '/v1/images/pub-img',
           pm.expect(200, pm.ANY_READER)),
    _own_read('image:usage', '/v1/images/own-img/usage'),
    _own_read('image:transition:list', '/v1/images/own-img/transitions'),
    _manage('image:transition:create', 'POST',
            '/v1/images/own-img/transitions', 200,
            body={'to': 'obsolete', 'at': LATER},
            undo=lambda test, resp: test.app.delete(
                '/v1/images/own-img/transitions/%s'
                % resp.json['scheduled']['id'], headers=ADMIN)),
    _manage('image:transition:delete', 'DELETE',
            '/v1/images/own-img/transitions/{sched}', 204,
            undo=lambda test, resp: _schedule(test)),
]


class TestPolicyMatrix(pm.PolicyMatrixTests, testtools.TestCase):

    SPEC = service.SPEC
    ROWS = ROWS

    def setUp(self):
        super().setUp()
        self.app = self.useFixture(af.ServiceApp(self.SPEC)).app
        self.app.post_json('/v1/families', {'name': 'own-fam'},
                           headers=P1_MEMBER)
        self.app.post_json('/v1/families', {'name': 'spare-fam'},
                           headers=P1_MEMBER)
        self.app.post_json('/v1/families', {'name': 'pub'}, headers=ADMIN)
        for family, image_id, state in (('own-fam', 'own-img', 'active'),
                                        ('own-fam', 'spare-img', 'testing'),
                                        ('pub', 'pub-img', 'active')):
            self.app.post_json('/v1/families/%s/images' % family,
                               {'image_id': image_id, 'state': state,
                                'properties': base.PROPS}, headers=ADMIN)
        _schedule(self)
