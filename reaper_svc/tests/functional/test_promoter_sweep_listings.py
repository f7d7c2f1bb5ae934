"""How often the late-server sweep lists a project's servers in Nova.

Every pass of the promoter looks, until ``[preemption] build_timeout``
after they were queued again, built or ended, for the servers that
interrupted builds of pending requests left (a create Nova carried out
late).  Nova filters a server list by project, not by metadata: each
look is a listing of every server of the project, every page of ``GET
/servers/detail``.  The promoter listed the project once per request at
every pass: a project with ten such requests had its servers listed ten
times a pass, and a pass listed as many projects as had any.  It now
lists a project once a pass for all its requests, and at most
``[preemption] late_server_projects_per_pass`` projects a pass, in
turn.

Nova is a test double here (the ``openstack`` driver's calls to Nova's
API answered as Nova 34 answers them: pages of at most its ``[api]
max_limit`` servers, with a ``next`` link when full, filtered by
project): the count of a real Nova's list calls, and its page limit,
are out of these tests' reach.  The driver, the promoter and the
database are the real ones.
"""

import datetime
import types

from keystoneauth1 import exceptions as ks_exc

from reaper_svc.db import actions as actions_db
from reaper_svc.db import pending as pending_db
from reaper_svc.drivers import base as driver_base
from reaper_svc.drivers import openstack
from reaper_svc import promoter as promoter_mod
from reaper_svc.tests.functional import test_promoter as tp

PROJECTS = ('biology', 'chemistry', 'physics')


class _Answer(object):

    def __init__(self, body):
        self.body = body

    def json(self):
        return self.body


class _Nova(openstack.OpenStackCloud):
    """Nova's server listing and deletion, paging at ``max_limit``;
    every call to its API recorded in :attr:`calls`."""

    def __init__(self, servers, max_limit):
        self.conf = types.SimpleNamespace(nova=types.SimpleNamespace(
            page_size=1000))
        self.servers = list(servers)
        self.max_limit = max_limit
        self.calls = []

    def _nova(self, method, path, **kwargs):
        params = dict(kwargs.get('params') or {})
        self.calls.append((method, path, params))
        if method == 'DELETE':
            gone = path.rsplit('/', 1)[1]
            self.servers = [s for s in self.servers if s['id'] != gone]
            return _Answer({})
        assert (method, path) == ('GET', '/servers/detail'), (method, path)
        listed = [s for s in self.servers
                  if s['tenant_id'] == params['project_id']]
        ids = [s['id'] for s in listed]
        start = ids.index(params['marker']) + 1 if 'marker' in params else 0
        limit = min(params['limit'], self.max_limit)
        page = listed[start:start + limit]
        body = {'servers': page}
        if len(page) == limit:
            body['servers_links'] = [{'rel': 'next', 'href': (
                '/servers/detail?marker=%s' % page[-1]['id'])}]
        return _Answer(body)

    def listings(self):
        """The project of each listing (its first page) asked of Nova."""
        return [params['project_id'] for method, path, params in self.calls
                if method == 'GET' and 'marker' not in params]

    def ids(self):
        return sorted(s['id'] for s in self.servers)


def ended_after_interruption(db, ctx, project, state, started,
                             build_user_id='reaper'):
    """The id of a request of ``project`` whose build (started at
    ``started``, as ``build_user_id``) was interrupted (Nova answered
    500) and that then ended in ``state`` (cancelled, failed or
    expired), as the promoter and the API leave it; its token is
    ``'token-' + id``."""
    request = pending_db.create_request(
        db, ctx, project, 'user-' + project,
        [{'name': 'job', 'flavor': 'm1', 'image': 'img', 'networks': [],
          'count': 1}], all_or_nothing=True)
    rid = request['id']
    assert pending_db.transition(
        db, ctx, rid, pending_db.QUEUED, pending_db.BUILDING,
        build_token='token-' + rid, build_started_at=started,
        build_user_id=build_user_id)
    assert pending_db.interrupted(db, ctx, rid) == 1
    if state == pending_db.FAILED:
        assert pending_db.transition(db, ctx, rid, pending_db.BUILDING,
                                     pending_db.FAILED)
    else:
        assert pending_db.transition(db, ctx, rid, pending_db.BUILDING,
                                     pending_db.QUEUED)
        assert pending_db.transition(db, ctx, rid, pending_db.QUEUED, state)
    return rid


class TestSweepListings(tp.PromoterTestBase):

    def setUp(self):
        super().setUp()
        # The engine's clock runs at the database's, as a real engine's.
        self.now = actions_db.utcnow()
        self.engine.conf.set_override('late_server_projects_per_pass', 2,
                                      'preemption')

    def server(self, project, name, user_id, metadata):
        created = self.now + datetime.timedelta(minutes=1)
        return {'id': '%s-%s' % (project, name), 'tenant_id': project,
                'user_id': user_id, 'status': 'ACTIVE',
                'created': created.strftime('%Y-%m-%dT%H:%M:%SZ'),
                'metadata': metadata}

    def test_one_listing_per_project_per_pass_bounded(self):
        servers, late = [], []
        for project in PROJECTS:
            for n, state in enumerate((pending_db.CANCELLED,
                                       pending_db.FAILED,
                                       pending_db.EXPIRED)):
                rid = ended_after_interruption(
                    self.engine.db, self.ctx, project, state, self.now)
                tag = {promoter_mod.REQUEST_METADATA: rid}
                # Untagged servers first: the late ones are on the
                # listing's later pages.
                servers.append(self.server(project, 'plain%d' % n, 'alice',
                                           {}))
                servers.append(self.server(
                    project, 'tagged%d' % n, 'member', tag))
                late.append(self.server(project, 'late%d' % n, 'reaper',
                                        dict(tag, **{
                                            promoter_mod.TOKEN_METADATA:
                                            'token-' + rid})))
        nova = _Nova(servers + late, max_limit=2)
        kept = sorted(s['id'] for s in servers)
        promoter = promoter_mod.Promoter(
            self.engine.conf, self.engine.db,
            types.SimpleNamespace(driver=nova, clock=lambda: self.now),
            clock=lambda: self.now)

        promoter.promote()
        # Two projects (late_server_projects_per_pass), each listed
        # once for its three requests, every page read: their late
        # servers, on the last pages, are deleted.
        first = nova.listings()
        self.assertEqual(['biology', 'chemistry'], first)
        self.assertEqual(
            sorted(kept + ['physics-late%d' % n for n in range(3)]),
            nova.ids())

        nova.calls = []
        promoter.promote()
        # The next pass starts with the project left out.
        self.assertEqual(['physics', 'biology'], nova.listings())
        self.assertEqual(kept, nova.ids())

        for _ in range(3):
            nova.calls = []
            promoter.promote()
            listed = nova.listings()
            self.assertEqual(2, len(listed))
            self.assertEqual(len(listed), len(set(listed)))
        self.assertEqual(kept, nova.ids())

    def test_a_project_whose_listing_fails_holds_back_no_other(self):
        """A project whose listing Nova never answers (a gateway timing
        out on its many pages: taken for the cloud away, the pass ends
        there) holds back none of the projects after it: the next pass
        starts after it.  The turn moved past the projects a pass had
        not reached: with four projects, two a pass, the one after the
        failing project was never looked at, its late server left
        running for good."""
        projects = ('astronomy',) + PROJECTS
        servers = []
        for project in projects:
            rid = ended_after_interruption(
                self.engine.db, self.ctx, project, pending_db.CANCELLED,
                self.now)
            servers.append(self.server(project, 'late', 'reaper', {
                promoter_mod.REQUEST_METADATA: rid,
                promoter_mod.TOKEN_METADATA: 'token-' + rid}))

        class Nova(_Nova):
            def _nova(self, method, path, **kwargs):
                if (kwargs.get('params') or {}).get(
                        'project_id') == 'astronomy':
                    self.calls.append((method, path, kwargs['params']))
                    try:
                        raise ks_exc.GatewayTimeout('Gateway Timeout')
                    except ks_exc.GatewayTimeout as exc:
                        raise driver_base.DriverError(
                            'Nova: GET %s: %s' % (path, exc)) from exc
                return super()._nova(method, path, **kwargs)
        nova = Nova(servers, max_limit=2)
        promoter = promoter_mod.Promoter(
            self.engine.conf, self.engine.db,
            types.SimpleNamespace(driver=nova, clock=lambda: self.now),
            clock=lambda: self.now)
        for _ in range(4):
            try:
                promoter.promote()
            except driver_base.DriverError:
                pass
        self.assertEqual(['astronomy-late'], nova.ids())
        self.assertIn('biology', nova.listings())
