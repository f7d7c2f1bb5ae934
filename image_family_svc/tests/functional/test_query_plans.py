"""A page of a big family's images costs what the page holds.

``GET /v1/families/{name}/images`` lists a family's members in the order
they joined.  On a database with a family of 20,000 images among 40,000
and statistics (``ANALYZE``), the plan of a page, the first or one after
a marker, must read the family's index in that order: not every member
of the family to sort them, nor every image.

``GET /v1/images?latest=false&state=...`` (with or without ``family``)
lists members by image id: a page of a state few images are in, or of a
small family, must not read every image to find it.

``GET /v1/families/{name}/images?state=...`` lists a family's members in
a state in the order they joined: a page must read the index of the
family and state in that order, not every member of the family to keep
those in the state, nor every member in the state to sort them.
"""

import datetime
import re

import sqlalchemy as sa
import testtools

from image_family_svc.db import members
from image_family_svc.db import models
from image_family_svc import service
from svc_common import context
from svc_common.db import migration
from svc_common.tests.fixtures import backends

BIG = 20000
LONG_AGO = datetime.datetime(2025, 1, 1)


def _seed(url):
    migration.upgrade(service.SPEC, url)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(models.Family.__table__.insert(), [
                {'id': 'fam-%03d' % f, 'name': 'family-%03d' % f,
                 'visibility': 'public', 'properties_schema': {},
                 'created_at': LONG_AGO} for f in range(101)])
            # The big family's images joined among the others'.
            conn.execute(models.FamilyImage.__table__.insert(), [
                {'image_id': 'img-%06d' % n,
                 'family_id': 'fam-100' if n % 2 else 'fam-%03d' % (n % 100),
                 'version': str(n), 'state': 'active', 'properties': {},
                 'joined_at': LONG_AGO + datetime.timedelta(seconds=n),
                 'state_changed_at': LONG_AGO} for n in range(2 * BIG)])
        backends.analyze(engine)
    finally:
        engine.dispose()


class _Plans(backends.Seeded):

    seed = staticmethod(_seed)

    def test_a_page_reads_the_family_in_order(self):
        middle = (LONG_AGO + datetime.timedelta(seconds=BIG + 1),
                  'img-%06d' % (BIG + 1))
        for after in (None, middle):
            plan = self.plan(members.family_page_query('fam-100', 100,
                                                       after=after))
            self.assertIn('family_images_family_joined_idx', plan)
            self.assertNotIn('TEMP B-TREE', plan)
            self.assertNotIn('Sort', plan)
            self.assertNotIn('SCAN family_images', plan)
            self.assertNotIn('Seq Scan on family_images', plan)

    def test_a_page_of_a_state_reads_the_states_index(self):
        for family in (None, 'family-100'):
            for marker in (None, 'img-%06d' % BIG):
                plan = self.plan(members.images_page_query(
                    100, marker, latest_only=False, family_name=family,
                    state='testing'))
                # What the index finds may be sorted: those images only.
                self.assertTrue('family_images_state_image_idx' in plan or
                                'family_images_family_state_idx' in plan,
                                plan)
                self.assertNotIn('SCAN family_images', plan)
                self.assertNotIn('Seq Scan on family_images', plan)


class TestPlansOnSQLite(backends.OnSQLite, _Plans, testtools.TestCase):
    pass


class TestPlansOnPostgreSQL(backends.OnPostgreSQL, _Plans,
                            testtools.TestCase):
    pass


def _seed_two(url):
    """Two families: one of all but ten images, and one of ten."""
    migration.upgrade(service.SPEC, url)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(models.Family.__table__.insert(), [
                {'id': 'fam-%s' % name, 'name': name,
                 'visibility': 'public', 'properties_schema': {},
                 'created_at': LONG_AGO} for name in ('big', 'small')])
            conn.execute(models.FamilyImage.__table__.insert(), [
                {'image_id': 'img-%06d' % n,
                 'family_id': 'fam-small' if n % (BIG // 5) == 7 else
                 'fam-big',
                 'version': str(n), 'state': 'active', 'properties': {},
                 'joined_at': LONG_AGO + datetime.timedelta(seconds=n),
                 'state_changed_at': LONG_AGO} for n in range(2 * BIG)])
        backends.analyze(engine)
    finally:
        engine.dispose()


class _SmallFamilyPlans(backends.Seeded):

    seed = staticmethod(_seed_two)

    def test_a_page_of_a_small_family_reads_its_index(self):
        for latest_only in (False, True):
            for marker in (None, 'img-%06d' % BIG):
                plan = self.plan(members.images_page_query(
                    100, marker, latest_only=latest_only,
                    family_name='small'))
                self.assertNotIn('SCAN family_images', plan)
                self.assertNotIn('Seq Scan on family_images', plan)


class TestSmallFamilyPlansOnSQLite(backends.OnSQLite, _SmallFamilyPlans,
                                   testtools.TestCase):
    pass


class TestSmallFamilyPlansOnPostgreSQL(backends.OnPostgreSQL,
                                       _SmallFamilyPlans,
                                       testtools.TestCase):
    pass


def _seed_states(url):
    """A family of 20,000 images among 40,000: one in a hundred of its
    images in ``testing``, the others ``active``."""
    migration.upgrade(service.SPEC, url)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(models.Family.__table__.insert(), [
                {'id': 'fam-%s' % name, 'name': name,
                 'visibility': 'public', 'properties_schema': {},
                 'created_at': LONG_AGO} for name in ('big', 'other')])
            conn.execute(models.FamilyImage.__table__.insert(), [
                {'image_id': 'img-%06d' % n,
                 'family_id': 'fam-big' if n % 2 else 'fam-other',
                 'version': str(n),
                 'state': 'testing' if n % 200 == 1 else 'active',
                 'properties': {},
                 'joined_at': LONG_AGO + datetime.timedelta(seconds=n),
                 'state_changed_at': LONG_AGO} for n in range(2 * BIG)])
        backends.analyze(engine)
    finally:
        engine.dispose()


class _StatePlans(backends.Seeded):
    """``GET /v1/families/{name}/images?state=...``: the family's members
    in a state, in the order they joined."""

    seed = staticmethod(_seed_states)

    def test_a_page_of_a_state_reads_about_the_page(self):
        middle = (LONG_AGO + datetime.timedelta(seconds=BIG + 1),
                  'img-%06d' % (BIG + 1))
        for state in ('active', 'testing'):
            for after in (None, middle):
                for only in (None, 'p1'):
                    plan = self.plan(members.family_page_query(
                        'fam-big', 100, only=only, state=state,
                        after=after))
                    self.assertNotIn('SCAN family_images', plan)
                    self.assertNotIn('Seq Scan on family_images', plan)
                    self.assertReadsAboutThePage(plan)


class TestStatePlansOnSQLite(backends.OnSQLite, _StatePlans,
                             testtools.TestCase):

    def assertReadsAboutThePage(self, plan):
        # SQLite's plan says which index and whether it sorts, not how
        # many rows it read: not the family's members in order, keeping
        # those in the state (10,000 for a page of 100 of a state one in
        # a hundred is in); nor those after a marker, sorted.
        self.assertIn('family_images_family_state_joined_idx', plan)
        self.assertNotIn('TEMP B-TREE', plan)


class TestStatePlansOnPostgreSQL(backends.OnPostgreSQL, _StatePlans,
                                 testtools.TestCase):

    def assertReadsAboutThePage(self, plan):
        # PostgreSQL's plan (run) says how many rows each step read and
        # threw away.  It may read the 200 members in a rare state and
        # sort them; not the family's 20,000 members, nor the 10,000
        # that come before a page of that state in the family's order.
        read = sum(int(n) for n in re.findall(
            r'on family_images \(actual rows=(\d+)', plan))
        removed = sum(int(n) for n in re.findall(
            r'Rows Removed by Filter: (\d+)', plan))
        self.assertLess(read + removed, 1000, plan)


FAMILIES = 2000
PER_FAMILY = 40


def _seed_many_families(url):
    """2,000 families of 40 images each (80,000 images), half of them
    public and half of ten projects', each with its newest as latest."""
    migration.upgrade(service.SPEC, url)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(models.Family.__table__.insert(), [
                {'id': 'fam-%05d' % f, 'name': 'family-%05d' % f,
                 'visibility': 'public' if f % 2 else 'private',
                 'project_id': 'p%d' % (f % 10), 'properties_schema': {},
                 'created_at': LONG_AGO,
                 'latest_id': 'img-%07d' % (f + FAMILIES * (PER_FAMILY - 1))}
                for f in range(FAMILIES)])
            conn.execute(models.FamilyImage.__table__.insert(), [
                {'image_id': 'img-%07d' % n,
                 'family_id': 'fam-%05d' % (n % FAMILIES),
                 'version': str(n), 'state': 'active', 'properties': {},
                 'joined_at': LONG_AGO, 'state_changed_at': LONG_AGO}
                for n in range(FAMILIES * PER_FAMILY)])
        backends.analyze(engine)
    finally:
        engine.dispose()


class _LatestPlans(backends.Seeded):
    """``GET /v1/images`` (the latest image of each family the caller
    sees): a page reads the families and the page's images, not every
    image of every family."""

    seed = staticmethod(_seed_many_families)

    def test_a_page_of_latest_images_reads_the_page_of_images(self):
        middle = 'img-%07d' % (FAMILIES * (PER_FAMILY - 1) + FAMILIES // 2)
        for only in (None, 'p1'):
            for marker in (None, middle):
                plan = self.plan(members.images_page_query(
                    100, marker, only=only, latest_only=True))
                self.assertNotIn('SCAN family_images', plan)
                self.assertNotIn('Seq Scan on family_images', plan)

    def test_the_page_is_the_latest_images_in_order(self):
        db = backends.database_at(self, self.url)
        ctx = context.admin_context()
        seen = []
        marker = None
        for _ in range(FAMILIES // 100 + 2):
            views = members.list_images(db, ctx, 100, marker, only='p1')
            if not views:
                break
            seen += [v.row.image_id for v in views]
            marker = seen[-1]
        # Public families and p1's: 1,000 + 100.
        expected = sorted(
            'img-%07d' % (f + FAMILIES * (PER_FAMILY - 1))
            for f in range(FAMILIES) if f % 2 or f % 10 == 1)
        self.assertEqual(expected, seen)


class TestLatestPlansOnSQLite(backends.OnSQLite, _LatestPlans,
                              testtools.TestCase):
    pass


class TestLatestPlansOnPostgreSQL(backends.OnPostgreSQL, _LatestPlans,
                                  testtools.TestCase):
    pass
