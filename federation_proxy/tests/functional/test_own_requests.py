"""A person lists and shows the requests to join VOs they made
(``GET /v1/users/{user_id}/requests[/{request_id}]``): every VO's, in
pages, by status or VO; nobody else's."""

import urllib.parse

from federation_proxy.tests.functional import base
from svc_common.tests.fixtures import postgresql

ADMIN = base.ADMIN


class TestOwnRequests(base.FederationTestCase):

    def setUp(self):
        super().setUp()
        self.manager = self.add_person('alice')
        self.joiner = self.add_person('bob')
        self.other = self.add_person('carol')
        self.vos = [self.make_vo(name, [self.manager])['id']
                    for name in ('astro', 'bio', 'chem')]

    def ask(self, vo_id, who=None):
        return self.app.post_json('/v1/vos/%s/requests' % vo_id, {
            'reason': 'I study this.'},
            headers=base.person(who or self.joiner)).json['request']

    def mine(self, query=None, who=None, user_id=None, status=200):
        return self.app.get('/v1/users/%s/requests' % (user_id or
                                                       self.joiner),
                            query or {}, headers=base.person(
                                who or self.joiner), status=status)

    def assertError(self, status, code, resp):
        self.assertEqual((status, 'federation.' + code),
                         (resp.status_int, resp.json['errors'][0]['code']))

    def pages(self, query):
        """Every page of Bob's list, following the ``next`` links."""
        pages = [self.mine(query).json]
        while pages[-1]['links']:
            [link] = pages[-1]['links']
            self.assertEqual('next', link['rel'])
            pages.append(self.app.get(link['href'], headers=base.person(
                self.joiner)).json)
        return pages

    def test_a_person_lists_their_requests_in_pages(self):
        asked = [self.ask(vo_id) for vo_id in self.vos]
        self.ask(self.vos[0], who=self.other)
        # The manager decides one, the person withdraws another.
        self.app.patch_json('/v1/vos/%s/requests/%s' % (
            self.vos[0], asked[0]['id']), {'status': 'approved'},
            headers=base.person(self.manager))
        self.app.delete('/v1/vos/%s/requests/%s' % (
            self.vos[1], asked[1]['id']), headers=base.person(self.joiner))
        pages = self.pages({'limit': 2})
        self.assertEqual([2, 1], [len(p['requests']) for p in pages])
        listed = [r for p in pages for r in p['requests']]
        # The pages are the one list cut, in its order (oldest first).
        self.assertEqual(self.mine().json['requests'], listed)
        self.assertEqual({asked[0]['id']: 'approved',
                          asked[1]['id']: 'withdrawn',
                          asked[2]['id']: 'pending'},
                         {r['id']: r['status'] for r in listed})
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(
            pages[0]['links'][0]['href']).query))
        self.assertEqual({'limit': '2',
                          'marker': pages[0]['requests'][-1]['id']}, query)
        # Filters: by status, by VO; the link keeps the filter (a full
        # page has one, to a page that may be empty).
        self.assertEqual([[asked[2]['id']], []], [
            [r['id'] for r in p['requests']]
            for p in self.pages({'status': 'pending', 'limit': 1})])
        self.assertEqual([asked[1]['id']], [r['id'] for r in self.mine(
            {'vo_id': self.vos[1]}).json['requests']])
        # Carol sees only hers; an operator sees Bob's.
        self.assertEqual(['carol'], [r['user_id'] for r in self.mine(
            who=self.other, user_id=self.other).json['requests']])
        self.assertEqual(3, len(self.app.get(
            '/v1/users/%s/requests' % self.joiner,
            headers=base.READER).json['requests']))

    def test_a_person_shows_their_request_and_no_one_elses(self):
        request = self.ask(self.vos[0])
        theirs = self.ask(self.vos[0], who=self.other)
        path = '/v1/users/%s/requests/%%s' % self.joiner
        shown = self.app.get(path % request['id'],
                             headers=base.person(self.joiner)).json
        # As asked, but for who decided (see the test below).
        del request['decided_by']
        self.assertEqual(request, shown['request'])
        # Another person's request is absent under one's own path...
        resp = self.app.get(path % theirs['id'],
                            headers=base.person(self.joiner), status=404)
        self.assertError(404, 'request_not_found', resp)
        resp = self.app.get(path % ('f' * 32),
                            headers=base.person(self.joiner), status=404)
        self.assertError(404, 'request_not_found', resp)
        # ...and another person's path is absent altogether.
        for url in ('/v1/users/%s/requests' % self.other,
                    '/v1/users/%s/requests/%s' % (self.other,
                                                  theirs['id'])):
            resp = self.app.get(url, headers=base.person(self.joiner),
                                status=404)
            self.assertError(404, 'user_not_found', resp)
        # The VO's manager does not see Bob's own list either.
        resp = self.mine(who=self.manager, status=404)
        self.assertError(404, 'user_not_found', resp)

    def test_a_rejected_applicant_is_not_told_who_rejected_them(self):
        request = self.ask(self.vos[0])
        decided = self.app.patch_json('/v1/vos/%s/requests/%s' % (
            self.vos[0], request['id']), {'status': 'rejected'},
            headers=base.person(self.manager)).json['request']
        self.assertEqual('alice', decided['decided_by'])
        path = '/v1/users/%s/requests' % self.joiner
        # The person sees the decision and its time, not the manager;
        # nor does a system reader on the person's path (the same view).
        for headers in (base.person(self.joiner), base.READER):
            for shown in (self.app.get(path, headers=headers).json[
                    'requests'][0], self.app.get(
                    '%s/%s' % (path, request['id']),
                    headers=headers).json['request']):
                self.assertEqual(('rejected', decided['decided_at']),
                                 (shown['status'], shown['decided_at']))
                self.assertNotIn('decided_by', shown)
                self.assertNotIn('alice', str(shown))
        # The VO's managers and system readers still see who decided.
        for headers in (base.person(self.manager), base.READER):
            self.assertEqual('alice', self.app.get(
                '/v1/vos/%s/requests/%s' % (self.vos[0], request['id']),
                headers=headers).json['request']['decided_by'])
        # The API's OpenAPI document says so.
        paths = self.app.get('/v1/openapi.json',
                             headers=base.READER).json['paths']
        for url, key in (('/v1/users/{user_id}/requests', 'requests'),
                         ('/v1/users/{user_id}/requests/{request_id}',
                          'request')):
            body = paths[url]['get']['responses']['200']['content'][
                'application/json']['schema']['properties'][key]
            body = body.get('items', body)
            self.assertNotIn('decided_by', body['properties'])
            self.assertIn('decided_at', body['properties'])

    def test_bad_queries_are_refused_naming_the_field(self):
        self.ask(self.vos[0])
        theirs = self.ask(self.vos[0], who=self.other)
        for query, field in (({'marker': theirs['id']}, 'marker'),
                             ({'status': 'active'}, 'status'),
                             ({'limit': '0'}, 'limit'),
                             ({'user_id': self.other}, 'user_id')):
            error = self.mine(query, status=400).json['errors'][0]
            self.assertTrue(field == error.get('field') or
                            '"%s"' % field in error['detail'], error)


class TestOwnRequestsOnPostgreSQL(TestOwnRequests):

    def setUp(self):
        url = self.useFixture(postgresql.Database()).url
        self.OVERRIDES = {('database', 'connection'): url}
        super().setUp()
