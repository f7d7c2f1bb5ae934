"""Who moved an image and why is the owning project's business.

Anyone who reads an image (a public family's, for instance) sees its
transitions, what state and when; the ``user_id`` and ``reason`` of
each transition, past or scheduled, are shown only to those the rule
``image_family:image:transition:show_actor`` admits on the family's
owner (by default its project's readers and system readers), and are
null for everyone else.  An operator may widen the rule.
"""

import fixtures

from image_family_svc.tests.functional import base
from svc_common.tests.functional import api_fixture as af
from svc_common.tests.functional import policy_matrix as pm

OWNER = af.identity(['member', 'reader'], 'p1', user_id='owner-user')
OWNER_READER = af.identity(['reader'], 'p1', user_id='owner-reader')
OTHER = af.identity(['admin', 'manager', 'member', 'reader'], 'p2',
                    user_id='stranger')
LATER = '2099-01-01T00:00:00Z'


class _Actors(object):
    """A public family of project p1 (``shared``) and a system-owned one
    (``pub``), each with an image moved and one move scheduled, with
    reasons."""

    def setUp(self):
        super().setUp()
        self.family('shared', headers=OWNER, visibility='public')
        self.add('shared', 'own-img', '1', headers=OWNER)
        self.move('own-img', 'active', headers=OWNER, reason='passed QA')
        self.move('own-img', 'deprecated', headers=OWNER, at=LATER,
                  reason='CVE-2026-1 in openssl')
        self.family('pub')
        self.add('pub', 'pub-img', '1')
        self.move('pub-img', 'active', reason='operators only')
        self.move('pub-img', 'obsolete', at=LATER, reason='eol soon')

    def transitions(self, image_id, headers):
        return self.app.get('/v1/images/%s/transitions' % image_id,
                            headers=headers).json

    def actors(self, image_id, headers):
        """``(history actors, scheduled actors, actors of every view of
        the image)`` as ``(user_id, reason)`` pairs."""
        answer = self.transitions(image_id, headers)
        views = [self.image(image_id, headers=headers)]
        views += [i for i in self.app.get(
            '/v1/images?latest=false', headers=headers).json['images']
            if i['image_id'] == image_id]
        family = views[0]['family']
        views += [i for i in self.app.get(
            '/v1/families/%s/images' % family, headers=headers
        ).json['images'] if i['image_id'] == image_id]
        views.append(self.app.get('/v1/families/%s/latest' % family,
                                  headers=headers).json['image'])
        return ([(t['user_id'], t['reason'])
                 for t in answer['transitions']],
                [(s['user_id'], s['reason']) for s in answer['scheduled']],
                [[(s['user_id'], s['reason']) for s in v['scheduled']]
                 for v in views])


class TestDefaultRule(_Actors, base.ApiTestCase):

    def test_other_project_sees_states_and_times_but_no_actors(self):
        answer = self.transitions('own-img', OTHER)
        self.assertEqual([(None, 'testing'), ('testing', 'active')],
                         [(t['from'], t['to'])
                          for t in answer['transitions']])
        self.assertTrue(all(t['at'] for t in answer['transitions']))
        self.assertEqual([('deprecated', LATER)],
                         [(s['to'], s['at']) for s in answer['scheduled']])
        history, scheduled, views = self.actors('own-img', OTHER)
        self.assertEqual([(None, None)] * 2, history)
        self.assertEqual([(None, None)], scheduled)
        self.assertEqual([[(None, None)]] * 4, views)

    def test_owning_project_sees_actors(self):
        for headers in (OWNER, OWNER_READER):
            history, scheduled, views = self.actors('own-img', headers)
            self.assertEqual([('owner-user', None),
                              ('owner-user', 'passed QA')], history)
            mine = ('owner-user', 'CVE-2026-1 in openssl')
            self.assertEqual([mine], scheduled)
            self.assertEqual([[mine]] * 4, views)

    def test_system_readers_see_actors(self):
        history, scheduled, views = self.actors('own-img', af.SYSTEM_READER)
        self.assertEqual('passed QA', history[-1][1])
        self.assertEqual([[('owner-user', 'CVE-2026-1 in openssl')]] * 4,
                         views)
        history, scheduled, views = self.actors('pub-img', af.SYSTEM_READER)
        self.assertEqual(('user-1', 'operators only'), history[-1])
        self.assertEqual([('user-1', 'eol soon')], scheduled)

    def test_project_callers_see_no_actors_of_system_families(self):
        for headers in (OWNER, OTHER):
            history, scheduled, views = self.actors('pub-img', headers)
            self.assertEqual([(None, None)] * 2, history)
            self.assertEqual([(None, None)], scheduled)
            self.assertEqual([[(None, None)]] * 4, views)


class TestWidenedRule(_Actors, base.ApiTestCase):
    """An operator who lets every reader see the actors."""

    def setUp(self):
        directory = self.useFixture(fixtures.TempDir()).path
        self.OVERRIDES = {('oslo_policy', 'policy_file'):
                          pm.write_policy_file(directory, {
                              'image_family:image:transition:show_actor':
                              'rule:system_reader or role:reader'})}
        super().setUp()

    def test_other_project_sees_actors(self):
        history, scheduled, views = self.actors('own-img', OTHER)
        self.assertEqual(('owner-user', 'passed QA'), history[-1])
        self.assertEqual([[('owner-user', 'CVE-2026-1 in openssl')]] * 4,
                         views)
