"""A person's upstream identities come in pages (``limit``, ``marker``,
``next`` links): a person links identities themselves, one per login
with ``link=true`` at any IdP of the federation, so the list has no
bound of its own."""

import urllib.parse

from federation_proxy.tests.functional import base
from svc_common.tests.fixtures import postgresql

ADMIN = base.ADMIN


class TestIdentityPages(base.FederationTestCase):

    OVERRIDES = {('api', 'max_limit'): 3}

    def setUp(self):
        super().setUp()
        self.alice = self.add_person('alice')
        self.add_person('bob')
        self.path = '/v1/users/alice/identities'
        for n in range(6):
            self.app.post_json(self.path, {
                'issuer': 'https://idp%d.example.org' % (n % 3),
                'subject': 'alice-%d' % n}, headers=ADMIN)

    def test_the_list_comes_in_pages_of_at_most_max_limit(self):
        pages = [self.app.get(self.path,
                              headers=base.person(self.alice)).json]
        while pages[-1]['links']:
            [link] = pages[-1]['links']
            self.assertEqual('next', link['rel'])
            self.assertTrue(link['href'].startswith(self.path + '?'))
            pages.append(self.app.get(
                link['href'], headers=base.person(self.alice)).json)
        listed = [(i['issuer'], i['subject'])
                  for p in pages for i in p['identities']]
        # The one made by add_person, the six linked: by issuer and
        # subject, each once, in pages of three at most.
        self.assertEqual(7, len(listed))
        self.assertEqual(sorted(listed), listed)
        self.assertTrue(all(len(p['identities']) <= 3 for p in pages))
        one = self.app.get(self.path, {'limit': 2},
                           headers=base.person(self.alice)).json
        self.assertEqual(listed[:2], [(i['issuer'], i['subject'])
                                      for i in one['identities']])
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(
            one['links'][0]['href']).query))
        self.assertEqual({'limit': '2',
                          'marker': one['identities'][-1]['id']}, query)

    def test_bad_pages_are_refused(self):
        bobs = self.app.get('/v1/users/bob/identities',
                            headers=ADMIN).json['identities'][0]['id']
        for query in ({'marker': bobs}, {'limit': '0'},
                      {'issuer': 'x'}):
            resp = self.app.get(self.path, query, headers=ADMIN,
                                status=400)
            self.assertEqual(400, resp.json['errors'][0]['status'])


class TestIdentityPagesOnPostgreSQL(TestIdentityPages):

    def setUp(self):
        url = self.useFixture(postgresql.Database()).url
        self.OVERRIDES = dict(TestIdentityPages.OVERRIDES)
        self.OVERRIDES[('database', 'connection')] = url
        super().setUp()
