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

    def test_an_etag_without_its_quotes_matches_nothing(self):
        """``5`` is no ETag (RFC 9110 8.8.3): it matches nothing, as a
        malformed value does; webob's reading took it for ``"5"``, and
        the write was made."""
        etag = self.put('vm-1', cores=2).headers['ETag']
        for value in (etag.strip('"'), 'W/%s' % etag.strip('"'),
                      '%s %s' % (etag, etag)):
            self.assertChanged(self.put('vm-1', value, status=412, cores=4))
            self.assertChanged(self.delete('vm-1', value, 412))
        self.assertEqual(2, self.leaf_cores())

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


class TestIfNoneMatchETags(base.LimitsApiTestCase):
    """``If-None-Match`` with a list of ETags: the write proceeds only if
    the consumer's live allocation is none of them (weak comparison);
    otherwise ``412 limits.allocation_exists``, as for ``*``, and
    nothing is written.  A value that is no list of ETags is a 400."""

    def setUp(self):
        super().setUp()
        self.tree()

    def put(self, consumer, if_none_match=None, status=200, if_match=None,
            expires_in=None, **resources):
        headers = dict(af.SERVICE)
        if if_none_match is not None:
            headers['If-None-Match'] = if_none_match
        if if_match is not None:
            headers['If-Match'] = if_match
        body = {'project_id': 'leaf', 'resources': resources}
        if expires_in is not None:
            body['expires_in'] = expires_in
        return self.app.put_json('/v1/allocations/%s' % consumer, body,
                                 headers=headers, status=status)

    def delete(self, consumer, if_none_match, status):
        return self.app.delete(
            '/v1/allocations/%s' % consumer, status=status,
            headers=dict(af.SERVICE, **{'If-None-Match': if_none_match}))

    def held(self, consumer):
        resp = self.app.get('/v1/allocations/%s' % consumer,
                            headers=af.SERVICE, expect_errors=True)
        if resp.status_int == 404:
            return None
        return resp.json['allocation']['resources']

    def leaf_cores(self):
        report = self.app.get('/v1/projects/leaf/usage',
                              headers=af.SYSTEM_READER).json
        return report['projects'][0]['resources']['cores']['own_usage']

    def assertCode(self, code, resp):
        self.assertEqual('limits.' + code, resp.json['errors'][0]['code'])

    def test_the_current_etag_in_the_list_writes_nothing(self):
        etag = self.put('vm-1', cores=2).headers['ETag']
        for value in (etag, '"1", %s' % etag, 'W/%s' % etag,
                      ' "x" ,, W/%s ,' % etag):
            resp = self.put('vm-1', value, status=412, cores=6)
            self.assertCode('allocation_exists', resp)
            self.assertIn(etag, resp.json['errors'][0]['detail'])
        self.assertEqual({'cores': 2}, self.held('vm-1'))
        self.assertEqual(2, self.leaf_cores())

    def test_an_older_etag_lets_the_write_through(self):
        old = self.put('vm-1', cores=2).headers['ETag']
        self.put('vm-1', cores=3)
        resp = self.put('vm-1', '%s, "vm-1"' % old, cores=5)
        self.assertEqual({'cores': 5}, resp.json['allocation']['resources'])
        self.assertEqual(5, self.leaf_cores())

    def test_a_consumer_without_allocation_matches_no_etag(self):
        self.put('vm-1', '"1", W/"2"', cores=2)
        self.assertEqual({'cores': 2}, self.held('vm-1'))

    def test_an_expired_reservation_matches_no_etag(self):
        etag = self.put('res-1', expires_in=1, cores=2).headers['ETag']
        time.sleep(1.2)
        self.put('res-1', etag, cores=3)
        self.assertEqual({'cores': 3}, self.held('res-1'))

    def test_if_match_is_decided_first(self):
        old = self.put('vm-1', cores=2).headers['ETag']
        current = self.put('vm-1', cores=3).headers['ETag']
        self.assertCode('allocation_changed', self.put(
            'vm-1', current, if_match=old, status=412, cores=4))
        self.assertCode('allocation_exists', self.put(
            'vm-1', current, if_match=current, status=412, cores=4))
        self.put('vm-1', old, if_match=current, cores=4)
        self.assertEqual(4, self.leaf_cores())

    def test_a_malformed_value_is_a_400_and_writes_nothing(self):
        etag = self.put('vm-1', cores=2).headers['ETag']
        for value in (etag.strip('"'), '"5', '*, %s' % etag,
                      '%s %s' % (etag, etag), 'W/5', 'w/%s' % etag, '',
                      ' , '):
            resp = self.put('vm-1', value, status=400, cores=6)
            self.assertCode('invalid_input', resp)
            self.assertEqual('If-None-Match', resp.json['errors'][0]['field'])
            resp = self.put('vm-2', value, status=400, cores=1)
            self.assertEqual('If-None-Match', resp.json['errors'][0]['field'])
        self.assertEqual({'cores': 2}, self.held('vm-1'))
        self.assertIsNone(self.held('vm-2'))
        self.assertEqual(2, self.leaf_cores())

    def test_delete_frees_only_an_allocation_of_none_of_the_etags(self):
        old = self.put('vm-1', cores=2).headers['ETag']
        current = self.put('vm-1', cores=3).headers['ETag']
        self.assertCode('allocation_exists', self.delete(
            'vm-1', '%s, %s' % (old, current), 412))
        self.assertCode('allocation_exists', self.delete('vm-1', '*', 412))
        self.assertCode('invalid_input', self.delete('vm-1', current[1:],
                                                     400))
        self.assertEqual(3, self.leaf_cores())
        self.delete('vm-1', old, 204)
        self.assertEqual(0, self.leaf_cores())
        self.assertCode('allocation_not_found', self.delete('vm-1', old, 404))

    def test_if_match_tags_are_compared_as_written(self):
        """``"03"`` is not the ETag ``"3"``, and a digit that is not ASCII
        (the header is Latin-1) is no generation: both match nothing."""
        etag = self.put('vm-1', cores=2).headers['ETag']
        for value in ('"0%s' % etag[1:], '"\xb2"'):
            resp = self.put('vm-1', if_match=value, status=412, cores=4)
            self.assertCode('allocation_changed', resp)
        self.assertEqual(2, self.leaf_cores())


class TestAllocationETagsOnPostgreSQL(TestAllocationETags):

    def setUp(self):
        url = self.useFixture(postgresql.Database()).url
        self.OVERRIDES = {('database', 'connection'): url}
        super().setUp()


class TestIfNoneMatchETagsOnPostgreSQL(TestIfNoneMatchETags):

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

    def next_etag(self):
        """The ETag :meth:`rewrite` gives the allocation."""
        return '"%d"' % (int(self.etag.strip('"')) + 1)

    def if_none_match(self, method, etag, **kwargs):
        headers = dict(af.SERVICE, **{'If-None-Match': etag})
        return getattr(self.app, method)('/v1/allocations/vm-1',
                                         headers=headers,
                                         expect_errors=True, **kwargs)

    def test_a_put_if_none_match_of_the_etag_a_write_commits_first(self):
        """The write that commits while the PUT waits makes the
        allocation the one of the ETag the PUT names: 412."""
        answer = races.during(self.engine, self.rewrite, lambda:
                              self.if_none_match('put_json',
                                                 self.next_etag(), params={
                                                     'project_id': 'leaf',
                                                     'resources': {
                                                         'cores': 6}}))
        self.assertEqual(412, answer.status_int, answer.body)
        self.assertEqual('limits.allocation_exists',
                         answer.json['errors'][0]['code'])
        got = self.app.get('/v1/allocations/vm-1', headers=af.SERVICE)
        self.assertEqual(({'cores': 2}, self.next_etag()),
                         (got.json['allocation']['resources'],
                          got.headers['ETag']))

    def test_a_put_if_none_match_of_the_etag_a_write_replaces_first(self):
        """The ETag the PUT names was current when it was sent; the write
        that commits while it waits replaced it: the PUT goes through."""
        answer = races.during(self.engine, self.rewrite, lambda:
                              self.if_none_match('put_json', self.etag,
                                                 params={
                                                     'project_id': 'leaf',
                                                     'resources': {
                                                         'cores': 6}}))
        self.assertEqual(200, answer.status_int, answer.body)
        self.assertEqual({'cores': 6}, answer.json['allocation']['resources'])

    def test_a_delete_if_none_match_of_the_etag_a_write_commits_first(self):
        answer = races.during(self.engine, self.rewrite, lambda:
                              self.if_none_match('delete', self.next_etag()))
        self.assertEqual(412, answer.status_int, answer.body)
        self.assertEqual('limits.allocation_exists',
                         answer.json['errors'][0]['code'])
        self.app.get('/v1/allocations/vm-1', headers=af.SERVICE)
