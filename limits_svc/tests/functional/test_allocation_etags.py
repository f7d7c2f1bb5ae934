"""ETags of allocations and ``If-Match: "<etag>"``, as a client sees them.

Every write of a consumer's allocation gives it a new generation, which
``GET`` and ``PUT`` answer as the ``ETag`` header and the ``generation``
field; a ``PUT`` or ``DELETE`` with ``If-Match`` of an ETag changes that
allocation only, and otherwise answers ``412 limits.allocation_changed``
and writes nothing.  On SQLite and on PostgreSQL; the races (a write that
commits while the conditional request waits for the consumer's lock) on
PostgreSQL.
"""

import time


from limits_svc.db import models
from limits_svc.db import tree
from limits_svc.tests.functional import base
from svc_common.tests.fixtures import api as af
from svc_common.tests.fixtures import postgresql
from svc_common.tests.fixtures import races

_ALLOCATIONS = models.Allocation.__table__


class TestAllocationETags(base.LimitsApiTestCase):

    def setUp(self):
        super().setUp()
        self.tree()

    def put(self, consumer, etag=None, status=200, project_id='leaf',
            **resources):
        headers = dict(af.SERVICE)
        if etag is not None:
            headers['If-Match'] = etag
        return self.app.put_json('/v1/allocations/%s' % consumer, {
            'project_id': project_id, 'resources': resources},
            headers=headers, status=status)

    def delete(self, consumer, etag, status):
        return self.app.delete('/v1/allocations/%s' % consumer,
                               headers=dict(af.SERVICE, **{'If-Match': etag}),
                               status=status)

    def get(self, consumer, status=200):
        return self.app.get('/v1/allocations/%s' % consumer,
                            headers=af.SERVICE, status=status)

    def leaf_cores(self):
        report = self.app.get('/v1/projects/leaf/usage',
                              headers=af.SYSTEM_READER).json
        return report['projects'][0]['resources']['cores']['own_usage']

    def assertChanged(self, resp):
        self.assertEqual('limits.allocation_changed',
                         resp.json['errors'][0]['code'])

    def test_get_and_put_answer_the_etag_of_the_generation(self):
        put = self.put('vm-1', cores=2)
        generation = put.json['allocation']['generation']
        self.assertEqual('"%d"' % generation, put.headers['ETag'])
        got = self.get('vm-1')
        self.assertEqual(put.headers['ETag'], got.headers['ETag'])
        self.assertEqual(generation, got.json['allocation']['generation'])
        listed = self.app.get('/v1/allocations', headers=af.SERVICE).json
        self.assertEqual([generation], [a['generation'] for a in
                                        listed['allocations']])

    def test_every_write_changes_the_etag_even_the_same_amounts(self):
        etags = [self.put('vm-1', cores=2).headers['ETag'] for _ in range(3)]
        etags.append(self.put('vm-1', project_id='other',
                              cores=2).headers['ETag'])
        self.assertEqual(4, len(set(etags)))

    def test_a_put_that_frees_everything_answers_no_etag(self):
        self.put('vm-1', cores=2)
        resp = self.put('vm-1')
        self.assertNotIn('ETag', resp.headers)
        self.assertIsNone(resp.json['allocation']['generation'])

    def test_if_match_of_the_current_etag_replaces(self):
        etag = self.put('vm-1', cores=2).headers['ETag']
        resp = self.put('vm-1', etag, cores=4)
        self.assertEqual({'cores': 4}, resp.json['allocation']['resources'])
        self.assertNotEqual(etag, resp.headers['ETag'])
        self.assertEqual(4, self.leaf_cores())

    def test_if_match_of_an_older_etag_writes_nothing(self):
        old = self.put('vm-1', cores=2).headers['ETag']
        self.put('vm-1', cores=3)
        self.assertChanged(self.put('vm-1', old, status=412, cores=6))
        self.assertEqual({'cores': 3},
                         self.get('vm-1').json['allocation']['resources'])
        self.assertEqual(3, self.leaf_cores())

    def test_if_match_after_a_free_makes_nothing(self):
        etag = self.put('vm-1', cores=2).headers['ETag']
        self.app.delete('/v1/allocations/vm-1', headers=af.SERVICE)
        self.assertChanged(self.put('vm-1', etag, status=412, cores=2))
        self.get('vm-1', status=404)
        self.assertEqual(0, self.leaf_cores())

    def test_an_etag_from_before_a_free_never_matches_the_next_one(self):
        etag = self.put('vm-1', cores=2).headers['ETag']
        self.app.delete('/v1/allocations/vm-1', headers=af.SERVICE)
        again = self.put('vm-1', cores=2).headers['ETag']
        self.assertNotEqual(etag, again)
        self.assertChanged(self.put('vm-1', etag, status=412, cores=5))
        self.assertEqual(2, self.leaf_cores())

    def test_an_expired_reservation_matches_no_etag(self):
        resp = self.app.put_json('/v1/allocations/res-1', {
            'project_id': 'leaf', 'resources': {'cores': 2},
            'expires_in': 1}, headers=af.SERVICE)
        time.sleep(1.2)
        # Not swept yet: still listed, with its ETag, but freed in all
        # but the sweep, as for If-Match: *.
        self.assertEqual(resp.headers['ETag'], self.get('res-1').headers[
            'ETag'])
        self.assertChanged(self.put('res-1', resp.headers['ETag'],
                                    status=412, cores=2))
        self.assertChanged(self.delete('res-1', resp.headers['ETag'], 412))

    def test_a_list_of_etags_matches_any_of_them(self):
        etag = self.put('vm-1', cores=2).headers['ETag']
        self.put('vm-1', '"1", W/%s, %s' % (etag, etag), cores=3)
        # A weak ETag, or one that is not an allocation's, matches none.
        etag = self.get('vm-1').headers['ETag']
        for value in ('W/%s' % etag, 'garbage', '"vm-1"'):
            self.assertChanged(self.put('vm-1', value, status=412, cores=4))
        self.assertEqual(3, self.leaf_cores())

    def test_delete_with_if_match(self):
        old = self.put('vm-1', cores=2).headers['ETag']
        current = self.put('vm-1', cores=3).headers['ETag']
        self.assertChanged(self.delete('vm-1', old, 412))
        self.assertEqual(3, self.leaf_cores())
        self.delete('vm-1', current, 204)
        self.assertEqual(0, self.leaf_cores())
        # Freed: the ETag matches nothing any more.
        self.assertChanged(self.delete('vm-1', current, 412))

    def test_delete_if_match_star_frees_a_live_allocation_only(self):
        self.assertEqual('limits.allocation_absent', self.delete(
            'vm-1', '*', 412).json['errors'][0]['code'])
        self.put('vm-1', cores=2)
        self.delete('vm-1', '*', 204)
        self.assertEqual(0, self.leaf_cores())

    def test_another_projects_allocation_is_404_not_412(self):
        """A project member's conditional delete of an allocation in a
        project it cannot see learns nothing of its ETag."""
        self.put('vm-1', project_id='other', cores=1)
        headers = dict(af.identity(['member', 'reader'], 'leaf'),
                       **{'If-Match': '"1"'})
        resp = self.app.delete('/v1/allocations/vm-1', headers=headers,
                               status=404)
        self.assertEqual('limits.allocation_not_found',
                         resp.json['errors'][0]['code'])


class TestAllocationETagsOnPostgreSQL(TestAllocationETags):

    def setUp(self):
        url = self.useFixture(postgresql.Database()).url
        self.OVERRIDES = {('database', 'connection'): url}
        super().setUp()


class TestETagRaces(races.OnPostgreSQL, base.LimitsApiTestCase):
    """A write of the consumer's allocation commits while a request with
    ``If-Match`` of the ETag before it waits for the consumer's lock: the
    request must decide on the allocation as that write left it."""

    def setUp(self):
        super().setUp()
        self.tree()
        resp = self.app.put_json('/v1/allocations/vm-1', {
            'project_id': 'leaf', 'resources': {'cores': 2}},
            headers=af.SERVICE)
        self.etag = resp.headers['ETag']

    @staticmethod
    def rewrite(conn):
        # What a PUT of the same amounts does to the rows (a revert of a
        # resize whose prep never landed): the consumer's lock, then a
        # new generation.
        tree.lock_for_ledger(conn, 'vm-1')
        conn.execute(_ALLOCATIONS.update().where(
            _ALLOCATIONS.c.consumer_id == 'vm-1').values(
            generation=_ALLOCATIONS.c.generation + 1))

    def conditional(self, method, **kwargs):
        headers = dict(af.SERVICE, **{'If-Match': self.etag})
        return getattr(self.app, method)('/v1/allocations/vm-1',
                                         headers=headers,
                                         expect_errors=True, **kwargs)

    def test_a_put_of_the_etag_before_a_write_that_commits_first(self):
        answer = races.during(self.engine, self.rewrite, lambda:
                              self.conditional('put_json', params={
                                  'project_id': 'leaf',
                                  'resources': {'cores': 6}}))
        self.assertEqual(412, answer.status_int, answer.body)
        self.assertEqual('limits.allocation_changed',
                         answer.json['errors'][0]['code'])
        self.assertEqual({'cores': 2}, self.app.get(
            '/v1/allocations/vm-1',
            headers=af.SERVICE).json['allocation']['resources'])

    def test_a_delete_of_the_etag_before_a_write_that_commits_first(self):
        answer = races.during(self.engine, self.rewrite,
                              lambda: self.conditional('delete'))
        self.assertEqual(412, answer.status_int, answer.body)
        self.app.get('/v1/allocations/vm-1', headers=af.SERVICE)
