"""A page of a VO's memberships, requests, invitations or audit trail
reads that page, whatever the size of the VO and of the table.

The tables hold the rows of many VOs; the plans the databases choose
(with statistics, ``ANALYZE``) must walk the index in the list's order
from the VO's first row (or the marker), with no sort of the VO's rows
and no scan of the table.
"""

import datetime
import uuid

import sqlalchemy as sa
import testtools

from federation_proxy.db import communities
from federation_proxy.db import models
from federation_proxy import service
from svc_common.db import migration
from svc_common.tests.fixtures import backends

#: VOs, and rows of each kind in each.
VOS = 40
PER_VO = 1000


def _seed(url):
    migration.upgrade(service.SPEC, url)
    engine = sa.create_engine(url)
    start = datetime.datetime(2026, 1, 1)
    try:
        with engine.begin() as conn:
            conn.execute(models.User.__table__.insert(), [
                {'id': 'u%04d' % n} for n in range(PER_VO)])
            conn.execute(models.VirtualOrganisation.__table__.insert(), [
                {'id': 'vo-%02d' % v, 'name': 'vo-%02d' % v}
                for v in range(VOS)])
            conn.execute(models.Group.__table__.insert(), [
                {'id': 'g-%02d' % v, 'vo_id': 'vo-%02d' % v,
                 'path': 'vo-%02d' % v} for v in range(VOS)])
            rows = [(v, n) for n in range(PER_VO) for v in range(VOS)]
            conn.execute(models.Membership.__table__.insert(), [
                {'id': uuid.uuid4().hex, 'vo_id': 'vo-%02d' % v,
                 'group_id': 'g-%02d' % v, 'user_id': 'u%04d' % n,
                 'role': 'member', 'status': 'active'} for v, n in rows])
            conn.execute(models.MembershipRequest.__table__.insert(), [
                {'id': uuid.uuid4().hex, 'vo_id': 'vo-%02d' % v,
                 'group_id': 'g-%02d' % v, 'user_id': 'u%04d' % n,
                 'role': 'member', 'status': 'rejected',
                 'created_at': start + datetime.timedelta(minutes=n)}
                for v, n in rows])
            conn.execute(models.Invitation.__table__.insert(), [
                {'id': uuid.uuid4().hex, 'vo_id': 'vo-%02d' % v,
                 'group_id': 'g-%02d' % v, 'role': 'member',
                 'email': 'x@example.org', 'token_hash': uuid.uuid4().hex,
                 'status': 'pending', 'expires_at': start,
                 'created_at': start + datetime.timedelta(minutes=n)}
                for v, n in rows])
            conn.execute(models.AuditRecord.__table__.insert(), [
                {'at': start, 'vo_id': 'vo-%02d' % v, 'action': 'create',
                 'object_type': 'membership', 'object_id': 'x'}
                for v, n in rows])
        backends.analyze(engine)
    finally:
        engine.dispose()


def _marker(engine, model, vo_id):
    """The id of a row in the middle of the VO's list."""
    with engine.connect() as conn:
        return conn.execute(sa.select(model.id).where(
            model.vo_id == vo_id).order_by(model.id).offset(
                PER_VO // 2).limit(1)).scalar()


class _Plans(backends.Seeded):

    seed = staticmethod(_seed)

    def _statements(self, vo_id):
        """``{index the page must use: [statements]}``, without and with
        a marker."""
        requests, invitations = (models.MembershipRequest,
                                 models.Invitation)
        found = {}
        for marker in (False, True):
            def mark(model):
                return _marker(self.engine, model, vo_id) if marker else None
            found.setdefault('memberships_vo_page_idx', []).append(
                communities.membership_page_query(
                    vo_id, limit=100, marker=mark(models.Membership)))
            found.setdefault('requests_vo_page_idx', []).append(
                communities.oldest_first_query(
                    sa.select(requests), requests, vo_id, 100,
                    mark(requests)))
            # The decided ones, which pile up (the pending ones, at most
            # one a person, may come through requests_one_pending_idx).
            found.setdefault('requests_vo_page_idx', []).append(
                communities.oldest_first_query(
                    sa.select(requests).where(
                        requests.status == 'rejected'), requests, vo_id,
                    100, mark(requests)))
            found.setdefault('invitations_vo_page_idx', []).append(
                communities.oldest_first_query(
                    sa.select(invitations), invitations, vo_id, 100,
                    mark(invitations)))
        return found

    def _check(self, statement, indexes, unwanted):
        plan = backends.query_plan(self.engine, statement)
        why = '%s\n%s' % (statement, plan)
        self.assertTrue(any(index in plan for index in indexes), why)
        for bad in unwanted:
            self.assertNotIn(bad, plan, why)

    def test_a_page_walks_the_vo_index_in_list_order(self):
        for index, statements in self._statements('vo-07').items():
            for statement in statements:
                self._check(statement, [index], self.UNWANTED)

    def test_a_page_of_a_persons_requests_walks_their_index(self):
        # A person's requests to every VO, decided ones among them: the
        # range of their rows in requests_user_page_idx, not the VOs'.
        requests = models.MembershipRequest
        with self.engine.connect() as conn:
            marker = conn.execute(sa.select(requests.id).where(
                requests.user_id == 'u0007').order_by(
                    requests.id).offset(VOS // 2).limit(1)).scalar()
        for query in ({}, {'marker': marker}):
            self._check(communities.user_requests_query(
                'u0007', limit=100, **query), ['requests_user_page_idx'],
                self.UNWANTED)
        # A filter reads the person's own rows (a few) and drops some.
        for query in ({'status': 'rejected'},
                      {'vo_id': 'vo-07', 'marker': marker}):
            self._check(communities.user_requests_query(
                'u0007', limit=100, **query), ['requests_user_page_idx'],
                [u for u in self.UNWANTED if u != 'Rows Removed by Filter'])

    def test_an_audit_page_is_read_in_its_order(self):
        # The trail is in id order: a VO's page walks its own index, or
        # (when the planner expects the VO's records to be dense, as
        # here) the primary key; either way no sort and no table scan.
        for marker in (None, PER_VO):
            self._check(communities.audit_page_query('vo-07', 100, marker),
                        ['audit_vo_page_idx', 'audit_pkey'], self.NO_SORT)


class TestPlansOnSQLite(backends.OnSQLite, _Plans, testtools.TestCase):
    # No table scan, no temporary B-tree to sort the VO's rows (the
    # marker's one-row subquery may be a SEARCH by primary key).
    UNWANTED = ('SCAN memberships', 'SCAN requests', 'SCAN invitations',
                'SCAN audit', 'TEMP B-TREE')
    NO_SORT = ('TEMP B-TREE', 'SCAN audit')


class TestPlansOnPostgreSQL(backends.OnPostgreSQL, _Plans,
                            testtools.TestCase):
    UNWANTED = ('Seq Scan', 'Sort', 'Rows Removed by Filter')
    NO_SORT = ('Seq Scan', 'Sort')
