"""The ``next`` links of a subtree's usage report while the tree changes.

A client reads ``GET /v1/projects/{id}/usage?subtree=true`` a page at a
time by following ``next`` links (``openstack quota tree show`` does).
Between two pages, the last project of a page may be deleted or moved
(an administrator in local mode, a Keystone sync in keystone mode): the
next page must still start where the previous one ended, as it would
have, instead of failing with ``400 limits.invalid_marker`` (a project
deleted) or jumping to where the project went (a project moved: the
projects between its old and its new place were never listed, or
listed twice).  On SQLite and PostgreSQL.
"""

import urllib.parse

import fixtures
import sqlalchemy as sa

from limits_svc.tests.functional import base
from svc_common.tests.fixtures import api as af
from svc_common.tests.fixtures import postgresql


class TestUsageReportMarkers(base.LimitsApiTestCase):

    def projects(self, *pairs):
        for project_id, parent_id in pairs:
            self.project(project_id, parent_id)

    def page(self, href, status=200):
        return self.app.get(href, headers=af.SYSTEM_READER, status=status)

    def first_page(self, root, limit):
        return self.page('/v1/projects/%s/usage?subtree=true&limit=%d'
                         % (root, limit))

    @staticmethod
    def drawn(resp):
        return [level['project_id'] for level in resp.json['projects']]

    @staticmethod
    def next_href(resp):
        return resp.json['links'][0]['href']

    def rest(self, resp):
        """The projects of every page after ``resp``, following links."""
        drawn = []
        for _ in range(20):
            if not resp.json['links']:
                return drawn
            resp = self.page(self.next_href(resp))
            drawn.extend(self.drawn(resp))
        self.fail('more than 20 pages')

    def test_the_last_project_of_the_page_deleted_meanwhile(self):
        self.projects(('r', None), ('a', 'r'), ('b', 'r'), ('c', 'r'))
        first = self.first_page('r', 2)
        self.assertEqual(['r', 'a'], self.drawn(first))
        self.app.delete('/v1/projects/a', headers=af.SYSTEM_ADMIN)
        self.assertEqual(['b', 'c'], self.rest(first))

    def test_its_parent_deleted_too(self):
        self.projects(('r', None), ('a', 'r'), ('a1', 'a'), ('b', 'r'))
        first = self.first_page('r', 3)
        self.assertEqual(['r', 'a', 'a1'], self.drawn(first))
        for project_id in ('a1', 'a'):
            self.app.delete('/v1/projects/%s' % project_id,
                            headers=af.SYSTEM_ADMIN)
        self.assertEqual(['b'], self.rest(first))

    def test_the_last_project_of_the_page_moved_meanwhile(self):
        # a moves behind the reader, under d: b, c and d, which did not
        # move, are still listed (a, which did, is listed again there).
        self.projects(('r', None), ('a', 'r'), ('a1', 'a'), ('b', 'r'),
                      ('c', 'r'), ('d', 'r'))
        first = self.first_page('r', 2)
        self.assertEqual(['r', 'a'], self.drawn(first))
        self.app.patch_json('/v1/projects/a', {'parent_id': 'd'},
                            headers=af.SYSTEM_ADMIN)
        rest = self.rest(first)
        self.assertEqual(['b', 'c', 'd', 'a', 'a1'], rest)
        levels = {level['project_id']: level for level in self.page(
            '/v1/projects/r/usage?subtree=true').json['projects']}
        self.assertEqual(('d', 2), (levels['a']['parent_id'],
                                    levels['a']['depth']))

    def test_a_project_on_the_path_moved_out_of_the_report(self):
        # a (with a1, the page's last project) leaves r's subtree: the
        # next page goes on with r's children after a, and shows nothing
        # of a's subtree, which is no longer in the report.
        self.projects(('r', None), ('a', 'r'), ('a1', 'a'), ('a2', 'a'),
                      ('b', 'r'), ('elsewhere', None))
        first = self.first_page('r', 3)
        self.assertEqual(['r', 'a', 'a1'], self.drawn(first))
        self.app.patch_json('/v1/projects/a', {'parent_id': 'elsewhere'},
                            headers=af.SYSTEM_ADMIN)
        self.assertEqual(['b'], self.rest(first))

    def test_pages_of_an_unchanged_tree(self):
        self.projects(('r', None), ('a', 'r'), ('a1', 'a'), ('a2', 'a'),
                      ('b', 'r'), ('b1', 'b'))
        for limit in (1, 2, 3):
            first = self.first_page('r', limit)
            self.assertEqual(['r', 'a', 'a1', 'a2', 'b', 'b1'],
                             (self.drawn(first) + self.rest(first))[:6],
                             'limit=%d' % limit)

    def test_a_project_id_is_still_a_marker(self):
        self.projects(('r', None), ('a', 'r'), ('a1', 'a'), ('b', 'r'))
        resp = self.page('/v1/projects/r/usage?subtree=true&marker=a1')
        self.assertEqual(['b'], self.drawn(resp))
        resp = self.page('/v1/projects/r/usage?subtree=true&marker=a')
        self.assertEqual(['a1', 'b'], self.drawn(resp))

    def test_a_marker_outside_the_report_is_refused(self):
        self.projects(('r', None), ('a', 'r'), ('s', None))
        for marker, code in (('s', 'invalid_marker'),
                             ('nobody', 'invalid_marker'),
                             ('s/a', 'invalid_marker'),
                             ('a/r', 'invalid_marker'),
                             ('r/a%01b', 'invalid_input'),
                             ('r//a', 'invalid_input'),
                             ('r/a/', 'invalid_input'),
                             ('r/' + 'x' * 65, 'invalid_input'),
                             ('/'.join(['r'] * 200), 'invalid_input')):
            resp = self.page('/v1/projects/r/usage?subtree=true&marker=%s'
                             % marker, status=400)
            error = resp.json['errors'][0]
            self.assertEqual(('limits.' + code, 'marker'),
                             (error['code'], error['field']), marker)
        # A path that is no path says the form it misses.
        resp = self.page('/v1/projects/r/usage?subtree=true&marker=r//a',
                         status=400)
        self.assertEqual(
            'Invalid field marker: "r//a" is not a path of project IDs '
            'joined by /, from the report\'s project down to the last '
            'project of a page (as the next links give it).',
            resp.json['errors'][0]['detail'])
        resp = self.page('/v1/projects/r/usage?subtree=true&marker=a%01',
                         status=400)
        self.assertEqual('Invalid field marker: "a\\u0001" is not a '
                         'project ID.', resp.json['errors'][0]['detail'])
        # The marker and the project quoted as a path's ID is.
        for marker, detail in (
                ('s/a', 'Invalid field marker: "s/a" is not a path from '
                        'project "r".'),
                ('s', 'Invalid field marker: project "s" is not in the '
                      'report.')):
            resp = self.page('/v1/projects/r/usage?subtree=true&marker=%s'
                             % marker, status=400)
            self.assertEqual(detail, resp.json['errors'][0]['detail'])

    def test_a_path_marker_under_a_project_that_does_not_exist(self):
        """Its 404, as a project ID marker gets: it was a 400 repeating
        the path's ID whole, line breaks included."""
        hostile = urllib.parse.quote('a\nb' + 'x' * 4990)
        for marker in ('s/a', 's'):
            resp = self.page('/v1/projects/%s/usage?subtree=true&marker=%s'
                             % (hostile, marker), status=404)
            error = resp.json['errors'][0]
            self.assertEqual(('limits.project_not_found',
                              'No project "a\\nb%s"....' % ('x' * 71)),
                             (error['code'], error['detail']), marker)

    def test_parent_links_that_loop_through_the_report(self):
        # r under a and a under r, written behind the service's back: a
        # page that drew r again, and the page after a path through the
        # loop, never ended (the path of the page's last project was
        # walked up the loop, growing until memory ran out; before path
        # markers, a 500). They are 409 limits.tree_too_deep, as the
        # walks of a loop elsewhere.
        self.useFixture(fixtures.Timeout(30, gentle=True))   # a hang
        self.projects(('r', None), ('a', 'r'), ('b', 'a'))
        engine = sa.create_engine(self.fixture.conf.database.connection)
        self.addCleanup(engine.dispose)
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE projects SET parent_id = 'a' "
                                 "WHERE id = 'r'"))
        first = self.first_page('r', 3)
        self.assertEqual(['r', 'a', 'b'], self.drawn(first))
        for href in ('/v1/projects/r/usage?subtree=true&limit=4',
                     self.next_href(first),
                     '/v1/projects/r/usage?subtree=true&marker=r/a/r/a'):
            error = self.page(href, status=409).json['errors'][0]
            self.assertEqual('limits.tree_too_deep', error['code'], href)


class TestUsageReportMarkersOnPostgreSQL(TestUsageReportMarkers):

    def setUp(self):
        url = self.useFixture(postgresql.Database()).url
        self.OVERRIDES = {('database', 'connection'): url}
        super().setUp()
