"""Racing for the last units: 4 API worker processes, 32 clients.

The limits API runs under gunicorn with four worker processes on a real
database (SQLite file and PostgreSQL). A tree has limits at three levels:

    root   subtree limit 20
    └ mid  subtree limit 12
      ├ leaf_a  own limit 5
      └ leaf_b
    └ other

32 client threads each try four 1-core allocations (128 attempts for 20
units).  Afterwards: exactly 20 succeeded, every other answer was a 409
``limits.over_limit``, no level is over its limit, and the ledger equals
the sum of the successful allocations, level by level.
"""

import concurrent.futures
import json
import urllib.error
import urllib.request

import fixtures
import sqlalchemy as sa
import testtools

from limits_svc.db import models
from limits_svc import service
from svc_common.tests.fixtures import gunicorn
from svc_common.tests.fixtures import postgresql

ADMIN = {'X-User-Id': 'admin', 'X-Roles': 'admin,member,reader',
         'X-System-Scope': 'all'}
SERVICE = {'X-User-Id': 'nova', 'X-Roles': 'service',
           'X-Project-Id': 'service'}
CLIENTS = 32
ATTEMPTS = 4
PROJECTS = ('leaf_a', 'leaf_b', 'other')


def request(base, method, path, body=None, headers=SERVICE):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers=dict(headers,
                                              **{'Content-Type':
                                                 'application/json'}))
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read() or b'null')
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b'null')


class _Race(object):

    def database_url(self):
        raise NotImplementedError

    def start_api(self, url, workers=4):
        """Serve limits_svc under gunicorn; sets ``self.gunicorn``."""
        server = self.useFixture(gunicorn.Gunicorn(service.SPEC, url,
                                                   workers=workers))
        self.gunicorn = server.process
        return server.url

    def build_tree(self, base):
        for project, parent in (('root', None), ('mid', 'root'),
                                ('leaf_a', 'mid'), ('leaf_b', 'mid'),
                                ('other', 'root')):
            body = {'id': project}
            if parent:
                body['parent_id'] = parent
            self.assertEqual(201, request(base, 'POST', '/v1/projects', body,
                                          ADMIN)[0])
        self.assertEqual(201, request(base, 'POST', '/v1/registered_limits', {
            'service_id': 'nova', 'resource_name': 'cores',
            'default_limit': 100}, ADMIN)[0])
        for project, value, scope in (('root', 20, 'subtree'),
                                      ('mid', 12, 'subtree'),
                                      ('leaf_a', 5, 'project')):
            self.assertEqual(201, request(base, 'POST', '/v1/limits', {
                'project_id': project, 'service_id': 'nova',
                'resource_name': 'cores', 'resource_limit': value,
                'scope': scope}, ADMIN)[0])

    def race(self, base):
        def client(n):
            results = []
            for attempt in range(ATTEMPTS):
                project = PROJECTS[(n + attempt) % len(PROJECTS)]
                status, body = request(
                    base, 'PUT', '/v1/allocations/vm-%d-%d' % (n, attempt),
                    {'project_id': project, 'resources': {'cores': 1}})
                code = (body['errors'][0]['code'] if status >= 400
                        else None)
                results.append((status, code, project))
            return results
        with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
            return [r for rs in pool.map(client, range(CLIENTS)) for r in rs]

    def test_no_level_over_its_limit(self):
        url = self.database_url()
        base = self.start_api(url)
        self.build_tree(base)
        results = self.race(base)
        statuses = sorted({(s, c) for s, c, _ in results})
        self.assertEqual([(200, None), (409, 'limits.over_limit')], statuses)
        ok = [p for s, _, p in results if s == 200]
        self.assertEqual(20, len(ok))
        per_project = {p: ok.count(p) for p in PROJECTS}
        self.assertLessEqual(per_project['leaf_a'], 5)
        self.assertLessEqual(per_project['leaf_a'] + per_project['leaf_b'],
                             12)
        # The API's report agrees.
        status, report = request(base, 'GET',
                                 '/v1/projects/root/usage?subtree=true',
                                 headers=ADMIN)
        levels = {p['project_id']: p['resources']['cores']
                  for p in report['projects']}
        self.assertEqual(20, levels['root']['subtree_usage'])
        self.assertEqual(per_project['leaf_a'] + per_project['leaf_b'],
                         levels['mid']['subtree_usage'])
        # The ledger equals the sum of the successful allocations.
        engine = sa.create_engine(url)
        self.addCleanup(engine.dispose)
        with engine.connect() as conn:
            allocated = dict(conn.execute(sa.select(
                models.Allocation.project_id,
                sa.func.sum(models.Allocation.amount)).group_by(
                models.Allocation.project_id)).all())
            ledger = {(r.project_id): (r.own_used, r.subtree_used)
                      for r in conn.execute(sa.select(models.Usage))}
        self.assertEqual({p: n for p, n in per_project.items() if n},
                         allocated)
        mid = per_project['leaf_a'] + per_project['leaf_b']
        expected = {'root': (0, 20), 'mid': (0, mid),
                    'leaf_a': (per_project['leaf_a'],) * 2,
                    'leaf_b': (per_project['leaf_b'],) * 2,
                    'other': (per_project['other'],) * 2}
        self.assertEqual(expected, ledger)


class TestRaceOnSQLite(_Race, testtools.TestCase):
    def database_url(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        return 'sqlite:///%s/limits.sqlite' % tmp


class TestRaceOnPostgreSQL(_Race, testtools.TestCase):
    def database_url(self):
        return self.useFixture(postgresql.Database()).url


class TestRaceOnPsycopg3(_Race, testtools.TestCase):
    """The races on PostgreSQL through psycopg 3."""

    def database_url(self):
        return self.useFixture(postgresql.Database('psycopg')).url
