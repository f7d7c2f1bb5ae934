"""``POST /v1/pending`` refuses a server name Nova would refuse at the
build (see reaper_svc.tests.unit.test_server_names): a 400 naming the
field, nothing queued; the names Nova takes are queued."""

import testtools

from reaper_svc.tests.functional import base
from svc_common.tests.fixtures import api as af

PHYSICS = af.identity(['member', 'reader'], 'physics', user_id='alice')


class TestPendingNames(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.app = self.useFixture(base.ReaperApp()).app

    def submit(self, name, status):
        body = {'servers': [dict(base.SERVER, name='ok'),
                            dict(base.SERVER, name=name)]}
        return self.app.post_json('/v1/pending', body, headers=PHYSICS,
                                  status=status)

    def queued(self):
        return self.app.get('/v1/pending', headers=PHYSICS).json['pending']

    def test_names_nova_refuses(self):
        for name in ('job ', ' job', 'job \U0001F600', 'a\u2028b',
                     'zero\u200bwidth', 'nb\u00a0'):
            resp = self.submit(name, 400)
            error = resp.json['errors'][0]
            self.assertEqual('preemption.invalid_input', error['code'], name)
            self.assertIn('servers/1/name', error['detail'], name)
        self.assertEqual([], self.queued())

    def test_names_nova_takes(self):
        for name in ('job 1', 'café', 'Задача', '作业', 'a\u00a0b'):
            self.submit(name, 201)
        self.assertEqual(5, len(self.queued()))
