"""The REST client, the oslo.limit-compatible Enforcer and the Nova hook
against the real limits API, served over loopback HTTP.

The WSGI application (middleware and all, noauth mode, fresh SQLite) runs
in a thread behind the standard library's server on 127.0.0.1, and the
clients reach it through a real keystoneauth1 session with
``endpoint_override``; identity travels as noauth headers through the
adapter's ``additional_headers``.
"""

import threading
import time
import types

import fixtures
from keystoneauth1 import session as ks_session
from oslo_limit import exception as limit_exc
import sqlalchemy as sa
import testtools

from limits_svc.clients import enforcer
from limits_svc.clients import limits
from limits_svc.hooks import nova
from limits_svc import service
from svc_common.cmd import api as api_cmd
from svc_common.tests.fixtures import api as af

SERVICE = {'X-User-Id': 'nova', 'X-Roles': 'service', 'X-Project-Id': 'svc'}


class LoopbackServer(fixtures.Fixture):
    """``wsgi`` served on an ephemeral loopback port, as ``.url``."""

    def __init__(self, wsgi):
        super().__init__()
        self.wsgi = wsgi

    def _setUp(self):
        server = api_cmd.make_server(self.wsgi, '127.0.0.1', 0)
        thread = threading.Thread(target=server.serve_forever,
                                  kwargs={'poll_interval': 0.05},
                                  daemon=True)
        thread.start()
        self.addCleanup(server.server_close)
        self.addCleanup(thread.join, 5)
        self.addCleanup(server.shutdown)
        self.url = 'http://127.0.0.1:%d' % server.server_port


class ClientsTestCase(testtools.TestCase):

    #: Config overrides of the service (a PostgreSQL database ...).
    OVERRIDES = None

    def setUp(self):
        super().setUp()
        app = self.useFixture(af.ServiceApp(service.SPEC,
                                            overrides=self.OVERRIDES))
        self.admin = app.app   # webtest, to build trees and limits
        self.app_conf = app.conf
        self.url = self.useFixture(LoopbackServer(app.wsgi)).url
        self.session = ks_session.Session(auth=None)
        self.client = self.client_as(SERVICE)
        # A project-scoped service user lists only its own project's
        # allocations (GET /v1/allocations filters by the caller's
        # project), so lists are read as a system reader.
        self.reader = self.client_as(af.SYSTEM_READER)
        self.build_tree()

    def client_as(self, headers):
        return limits.LimitsClient(self.session, endpoint_override=self.url,
                                   additional_headers=headers)

    def build_tree(self):
        """root -> mid -> leaf; subtree cores 10 on root, 8 own on leaf."""
        for project_id, parent in (('root', None), ('mid', 'root'),
                                   ('leaf', 'mid'), ('other', 'root')):
            self.admin.post_json('/v1/projects', {
                'id': project_id, 'parent_id': parent},
                headers=af.SYSTEM_ADMIN)
        for resource, value in (('instances', 10), ('cores', 8),
                                ('ram', 16384)):
            self.admin.post_json('/v1/registered_limits', {
                'service_id': 'nova', 'resource_name': resource,
                'default_limit': value}, headers=af.SYSTEM_ADMIN)
        self.admin.post_json('/v1/limits', {
            'project_id': 'root', 'service_id': 'nova',
            'resource_name': 'cores', 'resource_limit': 10,
            'scope': 'subtree'}, headers=af.SYSTEM_ADMIN)

    def keystone_mode_keeping(self, project_id):
        """The URL of the service in keystone mode over this database,
        where ``project_id`` is marked as the sync marks a project that
        Keystone deleted while it held allocations."""
        url = self.app_conf.database.connection
        engine = sa.create_engine(url)
        self.addCleanup(engine.dispose)
        with engine.begin() as conn:
            conn.execute(sa.text(
                "UPDATE projects SET left_keystone_at = CURRENT_TIMESTAMP "
                "WHERE id = :id"), {'id': project_id})
        keystone_mode = self.useFixture(af.ServiceApp(service.SPEC, overrides={
            ('limits', 'mode'): 'keystone', ('database', 'connection'): url}))
        return self.useFixture(LoopbackServer(keystone_mode.wsgi)).url


class TestLimitsClient(ClientsTestCase):

    def test_allocation_round_trip(self):
        allocation = self.client.put_allocation('vm-1', 'leaf',
                                                {'cores': 2, 'ram': 512})
        self.assertEqual({'consumer_id': 'vm-1', 'project_id': 'leaf',
                          'resources': {'cores': 2, 'ram': 512},
                          'expires_at': None,
                          'generation': allocation['generation']},
                         allocation)
        self.assertEqual(allocation, self.client.get_allocation('vm-1'))
        self.assertEqual(['vm-1'], [a['consumer_id'] for a in
                                    self.reader.list_allocations('leaf')])
        self.assertTrue(self.client.delete_allocation('vm-1'))
        self.assertIsNone(self.client.get_allocation('vm-1'))
        self.assertFalse(self.client.delete_allocation('vm-1'))
        exc = self.assertRaises(limits.NotFound,
                                self.client.delete_allocation, 'vm-1',
                                missing_ok=False)
        self.assertEqual('limits.allocation_not_found', exc.code)

    def own_cores(self, project_id):
        resources = self.client.usage(project_id)['projects'][0][
            'resources']
        return resources.get('cores', {}).get('own_usage', 0)

    def test_only_existing_replaces_and_never_makes(self):
        # If-Match: * -- replace the consumer's allocation only if it has
        # one; 412 and nothing written otherwise.
        exc = self.assertRaises(limits.ClientError,
                                self.client.put_allocation, 'vm-1', 'leaf',
                                {'cores': 2}, only_existing=True)
        self.assertEqual((412, limits.ALLOCATION_ABSENT),
                         (exc.status, exc.code))
        self.assertIsNone(self.client.get_allocation('vm-1'))
        self.assertEqual(0, self.own_cores('leaf'))
        self.client.put_allocation('vm-1', 'leaf', {'cores': 2})
        self.assertEqual(2, self.own_cores('leaf'))
        self.assertEqual({'cores': 3}, self.client.put_allocation(
            'vm-1', 'leaf', {'cores': 3}, only_existing=True)['resources'])
        # A reservation that expired is no allocation to replace.
        self.client.put_allocation('vm-2', 'leaf', {'cores': 1},
                                   expires_in=1)
        time.sleep(1.2)
        exc = self.assertRaises(limits.ClientError,
                                self.client.put_allocation, 'vm-2', 'leaf',
                                {'cores': 1}, only_existing=True)
        self.assertEqual(412, exc.status)
        # An ETag that is no allocation's matches nothing.
        resp = self.admin.put_json(
            '/v1/allocations/vm-1', {'project_id': 'leaf',
                                     'resources': {'cores': 1}},
            headers=dict(SERVICE, **{'If-Match': '"abc"'}), status=412)
        self.assertEqual('limits.allocation_changed',
                         resp.json['errors'][0]['code'])
        self.assertEqual({'cores': 3},
                         self.client.get_allocation('vm-1')['resources'])

    def test_generation_replaces_and_frees_that_allocation_only(self):
        # If-Match: "<generation>": a write or free in between wins.
        first = self.client.put_allocation('vm-1', 'leaf', {'cores': 2})
        second = self.client.put_allocation(
            'vm-1', 'leaf', {'cores': 3}, generation=first['generation'])
        self.assertEqual(second, self.client.get_allocation('vm-1'))
        stale = first['generation']
        calls = [(self.client.put_allocation, ('vm-1', 'leaf', {'cores': 5})),
                 (self.client.delete_allocation, ('vm-1',))]
        for call, args in calls:
            exc = self.assertRaises(limits.ClientError, call, *args,
                                    generation=stale)
            self.assertEqual((412, limits.ALLOCATION_CHANGED),
                             (exc.status, exc.code))
        self.assertEqual(3, self.own_cores('leaf'))
        self.assertTrue(self.client.delete_allocation(
            'vm-1', generation=second['generation']))
        self.assertEqual(0, self.own_cores('leaf'))

    def test_unless_generations_writes_only_another_allocation(self):
        # If-None-Match: "<g1>", "<g2>": a write or free that lands after
        # one of those allocations, and nothing since, changes nothing.
        first = self.client.put_allocation('vm-1', 'leaf', {'cores': 2})
        second = self.client.put_allocation('vm-1', 'leaf', {'cores': 3})
        calls = [(self.client.put_allocation, ('vm-1', 'leaf', {'cores': 5})),
                 (self.client.delete_allocation, ('vm-1',))]
        for call, args in calls:
            for unwanted in ([second['generation']],
                             (first['generation'], second['generation'])):
                exc = self.assertRaises(limits.ClientError, call, *args,
                                        unless_generations=unwanted)
                self.assertEqual((412, limits.ALLOCATION_EXISTS),
                                 (exc.status, exc.code))
        self.assertEqual(second, self.client.get_allocation('vm-1'))
        self.assertEqual(3, self.own_cores('leaf'))
        # An older generation, or none at all, is no condition on this one.
        third = self.client.put_allocation(
            'vm-1', 'leaf', {'cores': 4},
            unless_generations=[first['generation']])
        self.assertEqual({'cores': 4}, third['resources'])
        self.assertEqual(4, self.client.put_allocation(
            'vm-1', 'leaf', {'cores': 4},
            unless_generations=[])['resources']['cores'])
        self.assertTrue(self.client.delete_allocation(
            'vm-1', unless_generations=[first['generation'],
                                        second['generation']]))
        self.assertEqual(0, self.own_cores('leaf'))
        # A consumer with no allocation holds none of them.
        self.assertFalse(self.client.delete_allocation(
            'vm-1', unless_generations=[third['generation']]))
        self.assertEqual({'cores': 1}, self.client.put_allocation(
            'vm-1', 'leaf', {'cores': 1},
            unless_generations=[third['generation']])['resources'])

    def test_unless_generations_refuses_what_no_header_can_say(self):
        for bad in ({'unless_generations': [1], 'only_absent': True},
                    {'unless_generations': ['1']},
                    {'unless_generations': [True]},
                    {'unless_generations': [-1]}):
            self.assertRaises(ValueError, self.client.put_allocation,
                              'vm-1', 'leaf', {'cores': 1}, **bad)
        self.assertIsNone(self.client.get_allocation('vm-1'))

    def test_only_absent_makes_and_never_replaces(self):
        # If-None-Match: * -- make the consumer's allocation only if it
        # has none (an expired reservation is none); 412 and nothing
        # written otherwise.
        self.client.put_allocation('vm-1', 'leaf', {'cores': 2},
                                   expires_in=60, only_absent=True)
        exc = self.assertRaises(limits.ClientError,
                                self.client.put_allocation, 'vm-1', 'leaf',
                                {'cores': 3}, only_absent=True)
        self.assertEqual((412, limits.ALLOCATION_EXISTS),
                         (exc.status, exc.code))
        self.assertEqual({'cores': 2},
                         self.client.get_allocation('vm-1')['resources'])
        self.assertEqual(2, self.own_cores('leaf'))
        self.client.put_allocation('vm-2', 'leaf', {'cores': 1},
                                   expires_in=1)
        time.sleep(1.2)
        self.assertEqual({'cores': 1}, self.client.put_allocation(
            'vm-2', 'leaf', {'cores': 1}, only_absent=True)['resources'])
        self.assertIsNone(self.client.get_allocation('vm-2')['expires_at'])
        # Both conditions at once can never hold.
        self.admin.put_json(
            '/v1/allocations/vm-3', {'project_id': 'leaf',
                                     'resources': {'cores': 1}},
            headers=dict(SERVICE, **{'If-Match': '*',
                                     'If-None-Match': '*'}), status=412)
        self.assertIsNone(self.client.get_allocation('vm-3'))

    def test_ids_stay_in_their_path_segment(self):
        # A '?', '#' or '/' in an id ended the path: the calls acted on
        # another consumer or project (vm-1 was freed and shown).
        self.client.put_allocation('vm-1', 'leaf', {'cores': 1})
        for odd in ('vm-1?x=1', 'vm-1#x', 'vm-1%3F'):
            self.assertFalse(self.client.delete_allocation(odd))
            self.assertIsNone(self.client.get_allocation(odd))
        self.assertEqual({'cores': 1},
                         self.client.get_allocation('vm-1')['resources'])
        exc = self.assertRaises(limits.ClientError,
                                self.client.put_allocation, 'vm-1?a', 'leaf',
                                {'cores': 1})
        self.assertEqual(400, exc.status)
        self.assertRaises(limits.NotFound, self.client.usage, 'leaf?x')
        self.assertRaises(limits.NotFound, self.client.reconcile_usage,
                          'leaf#x', {'cores': 0})
        self.assertEqual({'cores': 1},
                         self.client.get_allocation('vm-1')['resources'])
        self.assertRaises(ValueError, self.client.delete_allocation, '..')
        # The WSGI server decodes %2F: /v1/allocations/vm-1%2F arrives as
        # /v1/allocations/vm-1/, which the API takes for vm-1.
        for odd in ('vm-1/', 'vm-1/x'):
            self.assertRaises(ValueError, self.client.delete_allocation, odd)
            self.assertRaises(ValueError, self.client.get_allocation, odd)
        self.assertEqual({'cores': 1},
                         self.client.get_allocation('vm-1')['resources'])

    def test_reservation_has_expiry_until_confirmed(self):
        reserved = self.client.put_allocation('vm-1', 'leaf', {'cores': 1},
                                              expires_in=60)
        self.assertIsNotNone(reserved['expires_at'])
        confirmed = self.client.put_allocation('vm-1', 'leaf', {'cores': 1})
        self.assertIsNone(confirmed['expires_at'])

    def test_list_follows_pages(self):
        for n in range(5):
            self.client.put_allocation('vm-%d' % n, 'other', {'cores': 1})
        self.assertEqual(['vm-%d' % n for n in range(5)],
                         [a['consumer_id'] for a in
                          self.reader.list_allocations(page_size=2)])

    def test_over_limit_carries_blocking_levels(self):
        self.client.put_allocation('vm-1', 'other', {'cores': 4})
        exc = self.assertRaises(limits.OverLimit, self.client.put_allocation,
                                'vm-2', 'leaf', {'cores': 7})
        self.assertEqual(409, exc.status)
        self.assertEqual('limits.over_limit', exc.code)
        self.assertTrue(exc.request_id.startswith('req-'))
        self.assertEqual([{'project_id': 'root', 'resource': 'cores',
                           'scope': 'subtree', 'limit': 10, 'usage': 4,
                           'delta': 7}], exc.blocking)
        self.assertIsNone(self.client.get_allocation('vm-2'))

    def test_enforce_is_a_dry_run(self):
        answer = self.client.enforce('leaf', {'cores': 11})
        self.assertFalse(answer['allowed'])
        self.assertEqual({('leaf', 'project'), ('root', 'subtree')},
                         {(b['project_id'], b['scope'])
                          for b in answer['blocking']})
        self.client.put_allocation('vm-1', 'leaf', {'cores': 6})
        # With the consumer, the amounts replace its allocation.
        self.assertTrue(self.client.enforce('leaf', {'cores': 8},
                                            consumer_id='vm-1')['allowed'])
        self.assertFalse(self.client.enforce('leaf', {'cores': 8})[
            'allowed'])
        self.assertEqual({'cores': 6},
                         self.client.get_allocation('vm-1')['resources'])

    def test_usage_of_a_subtree(self):
        self.client.put_allocation('vm-1', 'leaf', {'cores': 3})
        report = self.client.usage('root', subtree=True)
        levels = {p['project_id']: p['resources']['cores']
                  for p in report['projects']}
        self.assertEqual(3, levels['root']['subtree_usage'])
        self.assertEqual(10, levels['root']['subtree_limit'])
        self.assertEqual(3, levels['leaf']['own_usage'])
        self.assertEqual(['leaf'], [p['project_id'] for p in
                                    self.client.usage('leaf')['projects']])

    def test_other_errors_keep_status_code_and_detail(self):
        exc = self.assertRaises(limits.ClientError,
                                self.client.put_allocation, 'vm-1', 'leaf',
                                {'cores': -1})
        self.assertEqual(400, exc.status)
        self.assertEqual('limits.invalid_input', exc.code)
        self.assertIn('resources/cores', exc.detail)
        member = self.client_as(af.identity(['member', 'reader'], 'leaf'))
        exc = self.assertRaises(limits.ClientError, member.put_allocation,
                                'vm-1', 'leaf', {'cores': 1})
        self.assertEqual(403, exc.status)
        # A project member may dry-run its own project, not another's.
        self.assertTrue(member.enforce('leaf', {'cores': 1})['allowed'])
        self.assertRaises(limits.ClientError, member.enforce, 'other',
                          {'cores': 1})


class TestEnforcer(ClientsTestCase):

    def enforcer(self, **kwargs):
        return enforcer.Enforcer(lambda project_id, names: {},
                                 session=self.session,
                                 endpoint_override=self.url,
                                 additional_headers=SERVICE,
                                 reconcile_usage=False, **kwargs)

    def test_allowed(self):
        self.assertIsNone(self.enforcer().enforce('leaf', {'cores': 8}))

    def test_subtree_limit_on_root_refuses_in_leaf(self):
        self.client.put_allocation('vm-1', 'other', {'cores': 5})
        self.client.put_allocation('vm-2', 'leaf', {'cores': 2})
        exc = self.assertRaises(limit_exc.ProjectOverLimit,
                                self.enforcer().enforce, 'leaf',
                                {'cores': 4, 'instances': 1})
        self.assertEqual('leaf', exc.project_id)
        [info] = exc.over_limit_info_list
        self.assertIsInstance(info, limit_exc.OverLimitInfo)
        self.assertEqual(('cores', 10, 7, 4), (
            info.resource_name, info.limit, info.current_usage, info.delta))
        self.assertEqual(('root', 'subtree'), (info.project_id, info.scope))
        self.assertIn('Resource cores is over limit of 10', str(exc))

    def test_own_and_subtree_limits_both_listed(self):
        exc = self.assertRaises(limit_exc.ProjectOverLimit,
                                self.enforcer().enforce, 'leaf',
                                {'cores': 11})
        self.assertEqual([('leaf', 'project', 8), ('root', 'subtree', 10)],
                         [(i.project_id, i.scope, i.limit)
                          for i in exc.over_limit_info_list])

    def test_limit_change_is_seen_at_once(self):
        enf = self.enforcer()
        enf.enforce('other', {'cores': 8})
        limit = self.admin.post_json('/v1/limits', {
            'project_id': 'other', 'service_id': 'nova',
            'resource_name': 'cores', 'resource_limit': 2},
            headers=af.SYSTEM_ADMIN).json['limit']
        self.assertRaises(limit_exc.ProjectOverLimit, enf.enforce, 'other',
                          {'cores': 3})
        self.assertEqual([('cores', 2), ('ram', 16384), ('gpus', 0)],
                         enf.get_project_limits('other',
                                                ['cores', 'ram', 'gpus']))
        self.admin.delete('/v1/limits/%s' % limit['id'],
                          headers=af.SYSTEM_ADMIN)
        enf.enforce('other', {'cores': 3})

    def test_calculate_usage(self):
        self.client.put_allocation('vm-1', 'leaf', {'cores': 3,
                                                    'instances': 1})
        usage = self.enforcer().calculate_usage(
            'leaf', ['cores', 'instances', 'ram'])
        self.assertEqual({'cores': (8, 3), 'instances': (10, 1),
                          'ram': (16384, 0)},
                         {name: tuple(u) for name, u in usage.items()})
        self.assertEqual(3, usage['cores'].usage)
        self.assertEqual([('instances', 10), ('gpus', 0)],
                         self.enforcer().get_registered_limits(
                             ['instances', 'gpus']))

    def test_limits_and_usage_of_a_project_the_service_does_not_know(self):
        # As oslo.limit answers them (registered defaults, no usage):
        # Nova's quota and limits APIs ask about any project, and a
        # NotFound was a 500 there. A check of a growth still refuses
        # (404), with oslo.limit's ProjectOverLimit: Nova's check, which
        # catches only that, answered the first boot of a project created
        # in Keystone a moment ago (not synced yet) with a 500.
        enf = self.enforcer()
        self.assertEqual([('cores', 8), ('gpus', 0)],
                         enf.get_project_limits('new-project',
                                                ['cores', 'gpus']))
        self.assertEqual({'cores': (8, 0)}, {
            name: tuple(u) for name, u in enf.calculate_usage(
                'new-project', ['cores']).items()})
        exc = self.assertRaises(limit_exc.ProjectOverLimit, enf.enforce,
                                'new-project', {'cores': 1})
        self.assertIsInstance(exc, limits.NotFound)
        self.assertEqual('limits.project_not_found', exc.code)
        self.assertIn('not known to the limits service yet', str(exc))
        self.assertIsNone(enf.enforce('new-project', {'cores': 0}))

    def test_reconcile_usage_from_the_callback(self):
        counted = []

        def count(project_id, names):
            counted.append((project_id, list(names)))
            return {'cores': 9}

        enf = enforcer.Enforcer(count, session=self.session,
                                endpoint_override=self.url,
                                additional_headers=SERVICE,
                                reconcile_usage=True)
        exc = self.assertRaises(limit_exc.ProjectOverLimit, enf.enforce,
                                'other', {'cores': 2})
        self.assertEqual([('other', ['cores'])], counted)
        self.assertEqual(9, exc.over_limit_info_list[0].current_usage)
        report = self.client.usage('root', subtree=True)
        self.assertEqual(9, report['projects'][0]['resources']['cores'][
            'subtree_usage'])

    def test_a_project_deleted_in_keystone(self):
        """leaf was deleted in Keystone while it held 3 cores (marked
        here as the sync marks it): a growth there is oslo.limit's
        ProjectOverLimit, what a service written for oslo.limit handles
        (Nova's check answers its TooManyInstances, a 403, with str()
        of it); it was the client's ProjectDeleted, a 500 there.  It
        says why, and names the resources that would grow, each with a
        limit of what leaf holds: a limit above 0, which Nova's
        should_enforce() upholds without asking Keystone.  A check of
        nothing more goes on; a reconciling enforcer may lower leaf's
        usage, and raising it is the same refusal, nothing recorded."""
        self.client.put_allocation('vm-1', 'leaf', {'cores': 3})
        url = self.keystone_mode_keeping('leaf')
        counted = {}

        def enforcer_of_leaf(reconcile):
            return enforcer.Enforcer(
                lambda project_id, names: counted, session=self.session,
                endpoint_override=url, additional_headers=SERVICE,
                reconcile_usage=reconcile)

        exc = self.assertRaises(
            limit_exc.ProjectOverLimit, enforcer_of_leaf(False).enforce,
            'leaf', {'cores': 1, 'instances': 1, 'ram': 0})
        self.assertIsInstance(exc, limits.ProjectDeleted)
        self.assertIn('Project leaf was deleted in Keystone and is kept '
                      'only until the allocations below it are freed',
                      str(exc))
        self.assertEqual(
            [('cores', 3, 3, 1), ('instances', 0, 0, 1)],
            [(i.resource_name, i.limit, i.current_usage, i.delta)
             for i in exc.over_limit_info_list])
        self.assertIsNone(enforcer_of_leaf(False).enforce(
            'leaf', {'cores': 0}))
        counted.update(cores=5)
        exc = self.assertRaises(
            limit_exc.ProjectOverLimit, enforcer_of_leaf(True).enforce,
            'leaf', {'cores': 0})
        self.assertIsInstance(exc, limits.ProjectDeleted)
        self.assertEqual([('cores', 3, 5, 0)], [
            (i.resource_name, i.limit, i.current_usage, i.delta)
            for i in exc.over_limit_info_list])
        counted.update(cores=2)
        enforcer_of_leaf(True).enforce('leaf', {'cores': 0})
        self.assertEqual(2, self.reader.usage('leaf', subtree=False)[
            'projects'][0]['resources']['cores']['own_usage'])


class TestNovaHook(ClientsTestCase):
    """The hook against the real service (unit tests cover the rest)."""

    FLAVOR = types.SimpleNamespace(vcpus=2, memory_mb=1024, root_gb=10,
                                   ephemeral_gb=0, swap=0)

    def setUp(self):
        super().setUp()
        self.hook = nova.NovaLimitsHook(self.client)

    def test_multi_create_reserves_what_fits_then_confirms(self):
        self.client.put_allocation('vm-0', 'other', {'cores': 4})
        uuids = ['vm-%d' % n for n in range(1, 6)]
        self.assertEqual(3, self.hook.enforce_num_instances_and_flavor(
            None, 'leaf', self.FLAVOR, False, 1, 5))
        reserved = self.hook.reserve_instances(None, 'leaf', self.FLAVOR,
                                               False, uuids, min_count=1)
        self.assertEqual(uuids[:3], reserved)
        self.assertIsNotNone(
            self.client.get_allocation('vm-1')['expires_at'])
        self.hook.confirm_instances(None, 'leaf', self.FLAVOR, False,
                                    reserved)
        self.assertEqual({'instances': 1, 'cores': 2, 'ram': 1024},
                         self.client.get_allocation('vm-3')['resources'])
        self.assertIsNone(self.client.get_allocation('vm-3')['expires_at'])
        exc = self.assertRaises(nova.TooManyInstances,
                                self.hook.reserve_instances, None, 'leaf',
                                self.FLAVOR, False, ['vm-9'])
        self.assertEqual(413, exc.kwargs['code'])
        self.assertEqual('root', exc.blocking[0]['project_id'])
        self.hook.free_instance(None, types.SimpleNamespace(uuid='vm-1'))
        self.assertEqual(['vm-2', 'vm-3'], [
            a['consumer_id'] for a in self.reader.list_allocations('leaf')])

    def nova_request_spec(self, flavor):
        """Nova's RequestSpec as its resize and restore checks build it."""
        return types.SimpleNamespace(flavor=flavor, is_bfv=False)

    def test_the_end_of_a_resize_after_the_delete_makes_nothing(self):
        # Nova confirms or reverts a resize on the compute, after its API
        # answered; the user's delete (instance.delete.end frees the
        # instance) can come first.  A plain PUT then made the allocation
        # again, and nothing ever freed it: the project's room was gone.
        small = types.SimpleNamespace(vcpus=2, memory_mb=1024, root_gb=10,
                                      ephemeral_gb=0, swap=0)
        big = types.SimpleNamespace(vcpus=4, memory_mb=2048, root_gb=10,
                                    ephemeral_gb=0, swap=0)
        for end in (self.hook.confirm_resize, self.hook.revert_resize):
            self.hook.confirm_instances(None, 'leaf', small, False, ['vm-1'])
            server = types.SimpleNamespace(
                uuid='vm-1', project_id='leaf', flavor=small,
                old_flavor=small, new_flavor=big)
            self.hook.resize_instance(None, server, big)
            self.hook.free_instance(None, server)
            self.assertIsNone(end(None, server))
            self.assertIsNone(self.client.get_allocation('vm-1'))
            self.assertEqual([], list(self.reader.list_allocations('leaf')))
        # With the instance alive, the end of a resize holds its flavor.
        self.hook.confirm_instances(None, 'leaf', small, False, ['vm-1'])
        self.hook.resize_instance(None, server, big)
        self.assertEqual({'instances': 1, 'cores': 4, 'ram': 2048},
                         self.hook.confirm_resize(None, server)['resources'])
        self.assertEqual({'instances': 1, 'cores': 2, 'ram': 1024},
                         self.hook.revert_resize(None, server)['resources'])

    def test_a_resize_prepared_after_the_delete_makes_nothing(self):
        # The user's delete (instance.delete.end frees the instance) can
        # come before the resize's prep reaches the service (a resize and
        # a delete at once, or the prep's request slow). A plain PUT then
        # made the allocation again, for a server that no longer exists,
        # and nothing ever freed it.
        big = types.SimpleNamespace(vcpus=4, memory_mb=2048, root_gb=10,
                                    ephemeral_gb=0, swap=0)
        self.hook.confirm_instances(None, 'leaf', self.FLAVOR, False,
                                    ['vm-1'])
        server = types.SimpleNamespace(uuid='vm-1', project_id='leaf',
                                       flavor=self.FLAVOR)
        self.assertTrue(self.hook.free_instance(None, server))
        self.assertIsNone(self.hook.resize_instance(None, server, big))
        self.assertEqual([], list(self.reader.list_allocations('leaf')))

    def test_resize_check_counts_the_instance_once(self):
        # leaf: own limits of 8 cores and (here) 1 instance; one server
        # of 4 cores. Resizing it to 6 cores holds 6: it fits.
        self.admin.post_json('/v1/limits', {
            'project_id': 'leaf', 'service_id': 'nova',
            'resource_name': 'instances', 'resource_limit': 1},
            headers=af.SYSTEM_ADMIN)
        small = types.SimpleNamespace(vcpus=4, memory_mb=1024, root_gb=10,
                                      ephemeral_gb=0, swap=0)
        big = types.SimpleNamespace(vcpus=6, memory_mb=2048, root_gb=10,
                                    ephemeral_gb=0, swap=0)
        huge = types.SimpleNamespace(vcpus=9, memory_mb=2048, root_gb=10,
                                     ephemeral_gb=0, swap=0)
        self.hook.confirm_instances(None, 'leaf', small, False, ['vm-1'])
        server = types.SimpleNamespace(uuid='vm-1', project_id='leaf',
                                       flavor=small)
        # Nova's own call shape counts a second instance and both
        # flavors: refused.
        self.assertRaises(nova.TooManyInstances,
                          self.hook.enforce_num_instances_and_resources,
                          None, 'leaf', self.nova_request_spec(big), 1, 1)
        self.hook.check_resize(None, server, big)
        exc = self.assertRaises(nova.TooManyInstances,
                                self.hook.check_resize, None, server, huge)
        self.assertEqual(['cores'], sorted(
            {b['resource'] for b in exc.blocking}))
        # The check wrote nothing; the resize itself agrees with it.
        self.assertEqual({'instances': 1, 'cores': 4, 'ram': 1024},
                         self.client.get_allocation('vm-1')['resources'])
        self.assertEqual({'instances': 1, 'cores': 6, 'ram': 2048},
                         self.hook.resize_instance(None, server,
                                                   big)['resources'])

    def test_restore_check_counts_the_instance_once(self):
        # A soft-deleted server keeps its allocation: restoring it in a
        # project at its limits is allowed (Nova's check adds it again).
        full = types.SimpleNamespace(vcpus=8, memory_mb=1024, root_gb=10,
                                     ephemeral_gb=0, swap=0)
        self.hook.confirm_instances(None, 'leaf', full, False, ['vm-1'])
        server = types.SimpleNamespace(uuid='vm-1', project_id='leaf',
                                       flavor=full)
        self.assertRaises(nova.TooManyInstances,
                          self.hook.enforce_num_instances_and_resources,
                          None, 'leaf', self.nova_request_spec(full), 1, 1)
        self.hook.check_restore(None, server)
        # Freed at the soft delete, it is decided afresh.
        self.hook.free_instance(None, server)
        self.client.put_allocation('vm-2', 'leaf', {'cores': 1})
        self.assertRaises(nova.TooManyInstances, self.hook.check_restore,
                          None, server)

    def test_a_project_deleted_in_keystone(self):
        """leaf was deleted in Keystone while it held a server (the
        sync marks it; marked here, and the service now serves the tree
        in keystone mode): Nova's check of a boot, the boot's reservation
        and an upsize are refused with Nova's refusal of a quota saying
        why (it was the client's 409, a 500 in Nova), a downsize and the
        delete go on."""
        self.hook.confirm_instances(None, 'leaf', self.FLAVOR, False,
                                    ['vm-1'])
        self.client = limits.LimitsClient(
            self.session, additional_headers=SERVICE,
            endpoint_override=self.keystone_mode_keeping('leaf'))
        self.hook = nova.NovaLimitsHook(self.client)
        server = types.SimpleNamespace(uuid='vm-1', project_id='leaf',
                                       flavor=self.FLAVOR)
        big = types.SimpleNamespace(vcpus=4, memory_mb=1024, root_gb=10,
                                    ephemeral_gb=0, swap=0)
        tiny = types.SimpleNamespace(vcpus=1, memory_mb=512, root_gb=10,
                                     ephemeral_gb=0, swap=0)
        for call in (
                lambda: self.hook.enforce_num_instances_and_flavor(
                    None, 'leaf', self.FLAVOR, False, 1, 2),
                lambda: self.hook.reserve_instances(
                    None, 'leaf', self.FLAVOR, False, ['vm-2']),
                lambda: self.hook.check_resize(None, server, big),
                lambda: self.hook.resize_instance(None, server, big)):
            exc = self.assertRaises(nova.TooManyInstances, call)
            self.assertIn('Project leaf was deleted in Keystone',
                          exc.format_message())
        self.assertIsNone(self.client.get_allocation('vm-2'))
        self.hook.check_resize(None, server, tiny)
        self.hook.resize_instance(None, server, tiny)
        server.old_flavor, server.new_flavor = server.flavor, tiny
        self.hook.confirm_resize(None, server)
        self.assertEqual({'instances': 1, 'cores': 1, 'ram': 512},
                         self.client.get_allocation('vm-1')['resources'])
        self.assertTrue(self.hook.free_instance(None, server))

    def test_a_project_the_service_does_not_know(self):
        # As the guide says: the check, which Nova makes first, is Nova's
        # refusal of a quota (403) saying to try again in a moment (it
        # raised the client's NotFound, a 500); the reservation raises
        # a NotFound of code project_not_found; nothing allocated.
        exc = self.assertRaises(
            nova.TooManyInstances, self.hook.enforce_num_instances_and_flavor,
            None, 'new-project', self.FLAVOR, False, 1, 1)
        self.assertIn('Project new-project is not known to the limits '
                      'service yet', exc.format_message())
        exc = self.assertRaises(
            limits.NotFound, self.hook.reserve_instances, None,
            'new-project', self.FLAVOR, False, ['vm-1'])
        self.assertEqual('limits.project_not_found', exc.code)
        self.assertIsNone(self.client.get_allocation('vm-1'))

    def test_a_boot_that_failed_to_schedule_gives_its_room_back(self):
        # The conductor buries a NoValidHost build in cell0 and calls
        # free_instances: the project can boot again at once, without
        # waiting for the reservations to expire.
        self.client.put_allocation('vm-0', 'other', {'cores': 6})
        self.assertEqual(['vm-1', 'vm-2'], self.hook.reserve_instances(
            None, 'leaf', self.FLAVOR, False, ['vm-1', 'vm-2']))
        self.assertRaises(nova.TooManyInstances, self.hook.reserve_instances,
                          None, 'leaf', self.FLAVOR, False, ['vm-3'])
        self.hook.free_instances(None, ['vm-1', 'vm-2'])
        self.assertEqual(['vm-3', 'vm-4'], self.hook.reserve_instances(
            None, 'leaf', self.FLAVOR, False, ['vm-3', 'vm-4']))
        # The buried instances' deletes later free nothing.
        self.assertFalse(self.hook.free_instance(
            None, types.SimpleNamespace(uuid='vm-1')))

    def test_a_build_deleted_while_it_was_scheduled(self):
        # Nova's order when the user deletes a build the conductor is
        # scheduling: the API's delete (a patch that frees there frees
        # it), then the conductor's recheck (confirm: allocated again),
        # then the conductor finds the build request gone and destroys
        # the instance, sending delete.end: freed for good.
        server = types.SimpleNamespace(uuid='vm-1')
        self.hook.reserve_instances(None, 'leaf', self.FLAVOR, False,
                                    ['vm-1'])
        self.assertTrue(self.hook.free_instance(None, server))
        self.hook.confirm_instances(None, 'leaf', self.FLAVOR, False,
                                    ['vm-1'])
        self.assertIsNone(self.client.get_allocation('vm-1')['expires_at'])
        self.assertTrue(self.hook.free_instance(None, server))
        self.assertIsNone(self.client.get_allocation('vm-1'))

    def test_a_build_deleted_before_it_reached_a_cell(self):
        # Nova's order when the user deletes a build before the conductor
        # created its instance in a cell: the API deletes the build
        # request and sends no instance.delete.end (there is no instance
        # to destroy, nova.compute.api _delete_while_booting), and the
        # conductor skips the instance (a None placeholder) and sends none
        # either. Confirming every uuid of the build at the recheck made
        # the deleted one's allocation afresh, for ever.
        self.hook.reserve_instances(None, 'leaf', self.FLAVOR, False,
                                    ['vm-1', 'vm-2'])
        # The API's delete while booting: the patch frees there.
        self.assertTrue(self.hook.free_instance(
            None, types.SimpleNamespace(uuid='vm-2')))
        # The conductor at _recheck_quota: confirms the instances it
        # created, frees the placeholders.
        self.hook.confirm_instances(None, 'leaf', self.FLAVOR, False,
                                    ['vm-1'])
        self.assertEqual([], self.hook.free_instances(None, ['vm-2']))
        self.assertEqual(['vm-1'], [
            a['consumer_id'] for a in self.reader.list_allocations('leaf')])
        self.assertIsNone(self.client.get_allocation('vm-1')['expires_at'])
        # Why not every uuid: the placeholder's confirmation allocates it
        # afresh, and no delete.end ever frees it.
        self.hook.confirm_instances(None, 'leaf', self.FLAVOR, False,
                                    ['vm-2'])
        self.assertIsNone(self.client.get_allocation('vm-2')['expires_at'])
