"""The Nova hook, called the way Nova would call it.

Nova cannot run here (it is not installed, and these are unit tests), so
Nova's objects are stand-ins with the attributes the hook reads (a flavor's
``vcpus``, ``memory_mb``, ``root_gb``, ``ephemeral_gb``, ``swap``; an
instance's ``uuid``, ``project_id``, ``flavor``, ``old_flavor``,
``new_flavor``; a RequestSpec's ``flavor`` and ``is_bfv``), and each test
makes the calls that Nova's API, conductor and compute code would make at
the points documented in :mod:`limits_svc.hooks.nova`. The limits service
is a fake REST client with an in-memory ledger and flat per-project limits;
the hook against the real service is in
``limits_svc/tests/functional/test_clients.py``.
"""

import importlib.util
import json
import sys
import types
from unittest import mock

import fixtures
from keystoneauth1 import exceptions as ks_exc
from oslo_config import cfg
from oslo_limit import exception as limit_exc
import requests
import testtools

from limits_svc.clients import limits
from limits_svc.hooks import nova


def flavor(vcpus=2, memory_mb=2048, root_gb=20, ephemeral_gb=0, swap=0):
    return types.SimpleNamespace(vcpus=vcpus, memory_mb=memory_mb,
                                 root_gb=root_gb, ephemeral_gb=ephemeral_gb,
                                 swap=swap)


SMALL = flavor(vcpus=2, memory_mb=2048)
LARGE = flavor(vcpus=8, memory_mb=8192)


class FakeLimitsClient:
    """The LimitsClient methods the hook uses, over an in-memory ledger.

    ``limits`` is ``{project_id: {resource: limit}}``; a resource without a
    limit is unlimited. Every call is recorded in ``calls``.
    """

    def __init__(self, limits_by_project):
        self.limits = limits_by_project
        self.allocations = {}
        self.calls = []
        self.generation = 0

    def _usage(self, project_id, skip=None):
        usage = {}
        for consumer, alloc in self.allocations.items():
            if consumer != skip and alloc['project_id'] == project_id:
                for name, amount in alloc['resources'].items():
                    usage[name] = usage.get(name, 0) + amount
        return usage

    def _blocking(self, project_id, resources, consumer_id=None):
        usage = self._usage(project_id, skip=consumer_id)
        old = {}
        if consumer_id is None:
            usage_with_old = usage
        else:
            old = self.allocations.get(consumer_id, {}).get('resources', {})
            usage_with_old = {n: usage.get(n, 0) + old.get(n, 0)
                              for n in set(usage) | set(old)}
        blocking = []
        for name, amount in sorted(resources.items()):
            limit = self.limits.get(project_id, {}).get(name)
            delta = amount - old.get(name, 0)
            if limit is not None and delta > 0 and \
                    usage.get(name, 0) + amount > limit:
                blocking.append({'project_id': project_id, 'resource': name,
                                 'scope': 'project', 'limit': limit,
                                 'usage': usage_with_old.get(name, 0),
                                 'delta': delta})
        return blocking

    def put_allocation(self, consumer_id, project_id, resources,
                       expires_in=None, only_existing=False,
                       only_absent=False, generation=None):
        self.calls.append(('put', consumer_id, dict(resources), expires_in))
        if only_existing and consumer_id not in self.allocations:
            raise limits.ClientError(412, code=limits.ALLOCATION_ABSENT)
        if generation is not None and generation != self.allocations.get(
                consumer_id, {}).get('generation'):
            raise limits.ClientError(412, code=limits.ALLOCATION_CHANGED)
        if only_absent and consumer_id in self.allocations:
            raise limits.ClientError(412, code=limits.ALLOCATION_EXISTS)
        blocking = self._blocking(project_id, resources, consumer_id)
        if blocking:
            raise limits.OverLimit(409, code=limits.OVER_LIMIT,
                                   detail='Over limit',
                                   error={'blocking': blocking})
        self.generation += 1
        self.allocations[consumer_id] = {
            'consumer_id': consumer_id, 'project_id': project_id,
            'resources': {n: a for n, a in resources.items() if a},
            'expires_in': expires_in, 'generation': self.generation}
        return self.allocations[consumer_id]

    def get_allocation(self, consumer_id):
        self.calls.append(('get', consumer_id))
        return self.allocations.get(consumer_id)

    def delete_allocation(self, consumer_id, missing_ok=True):
        self.calls.append(('delete', consumer_id))
        if self.allocations.pop(consumer_id, None) is None:
            if not missing_ok:
                raise limits.NotFound(404, code=limits.ALLOCATION_NOT_FOUND)
            return False
        return True

    def enforce(self, project_id, resources, consumer_id=None):
        self.calls.append(('enforce', dict(resources)))
        blocking = self._blocking(project_id, resources)
        return {'allowed': not blocking, 'deltas': dict(resources),
                'blocking': blocking}

    def usage(self, project_id, subtree=False):
        """The project's own usage report (the Enforcer reads it to
        describe a refusal in a project deleted in Keystone)."""
        self.calls.append(('usage', project_id))
        limits_of = self.limits.get(project_id, {})
        used = self._usage(project_id)
        return {'project_id': project_id, 'subtree': False, 'projects': [{
            'project_id': project_id, 'resources': {
                name: {'own_limit': limits_of.get(name, -1),
                       'own_usage': used.get(name, 0)}
                for name in set(limits_of) | set(used)}}]}

    def resources_of(self, consumer_id):
        return self.allocations[consumer_id]['resources']

    def enforce_calls(self):
        return [call for call in self.calls if call[0] == 'enforce']


class HookTestCase(testtools.TestCase):

    LIMITS = {'p1': {'instances': 10, 'cores': 10, 'ram': 16384}}

    def setUp(self):
        super().setUp()
        self.client = FakeLimitsClient(
            {p: dict(v) for p, v in self.LIMITS.items()})
        self.hook = nova.NovaLimitsHook(self.client)

    def instance(self, uuid, flavor_=SMALL, project_id='p1'):
        return types.SimpleNamespace(uuid=uuid, project_id=project_id,
                                     flavor=flavor_, old_flavor=None,
                                     new_flavor=None)


class TestResources(HookTestCase):

    def test_legacy_names_from_the_flavor(self):
        self.assertEqual({'instances': 1, 'cores': 2, 'ram': 2048},
                         self.hook.resources(SMALL))
        self.assertEqual({'instances': 3, 'cores': 6, 'ram': 6144},
                         self.hook.resources(SMALL, count=3))

    def test_unified_names_and_disk(self):
        hook = nova.NovaLimitsHook(self.client, resource_names='unified',
                                   count_disk=True)
        self.assertEqual({'servers': 2, 'class:VCPU': 4,
                          'class:MEMORY_MB': 1024, 'class:DISK_GB': 26},
                         hook.resources(flavor(2, 512, 10, 2, 513),
                                        count=2))

    def test_disk_without_root_for_boot_from_volume(self):
        hook = nova.NovaLimitsHook(self.client, count_disk=True)
        self.assertEqual(3, hook.resources(flavor(root_gb=40, swap=2048,
                                                  ephemeral_gb=1),
                                           is_bfv=True)['disk'])
        self.assertEqual(41, hook.resources(flavor(root_gb=40,
                                                   ephemeral_gb=1))['disk'])

    def test_zero_amounts_are_left_out(self):
        self.assertEqual({'instances': 1, 'ram': 512},
                         self.hook.resources(flavor(vcpus=0,
                                                    memory_mb=512)))

    def test_bad_input(self):
        self.assertRaises(ValueError, self.hook.resources, None)
        self.assertRaises(ValueError, self.hook.resources, SMALL, count=-1)


class TestEnforceLikeNovaPlacementLimits(HookTestCase):
    """``nova.limit.placement.enforce_num_instances_and_*`` replaced."""

    def test_all_fit(self):
        self.assertEqual(4, self.hook.enforce_num_instances_and_flavor(
            None, 'p1', SMALL, False, 1, 4))
        self.assertEqual([('enforce', {'instances': 4, 'cores': 8,
                                       'ram': 8192})],
                         self.client.enforce_calls())
        self.assertEqual({}, self.client.allocations)  # a dry run

    def test_jumps_to_the_count_that_fits(self):
        # cores 10 allow 5 of SMALL, ram 16384 allows 8: 5 instances,
        # found in two calls rather than Nova's one call per step down.
        self.assertEqual(5, self.hook.enforce_num_instances_and_flavor(
            None, 'p1', SMALL, False, 1, 9))
        self.assertEqual([9, 5], [call[1]['instances'] for call in
                                  self.client.enforce_calls()])

    def test_too_few_raise_nova_shaped_too_many_instances(self):
        self.hook.reserve_instances(None, 'p1', SMALL, False,
                                    ['a', 'b', 'c', 'd'])
        exc = self.assertRaises(
            nova.TooManyInstances, self.hook.enforce_num_instances_and_flavor,
            None, 'p1', SMALL, False, 2, 3)
        self.assertEqual(413, exc.code)
        self.assertEqual(413, exc.kwargs['code'])
        self.assertEqual('cores', exc.kwargs['overs'])
        self.assertIn('Project p1 is over a limit', exc.format_message())
        self.assertEqual([{'project_id': 'p1', 'resource': 'cores',
                           'scope': 'project', 'limit': 10, 'usage': 8,
                           'delta': 6}], exc.blocking)
        self.assertIsInstance(exc.over_limit_info_list[0],
                              limit_exc.OverLimitInfo)

    def test_min_count_zero_may_return_zero(self):
        self.hook.reserve_instances(None, 'p1', SMALL, False,
                                    ['a', 'b', 'c', 'd', 'e'])
        self.assertEqual(0, self.hook.enforce_num_instances_and_flavor(
            None, 'p1', SMALL, False, 0, 2))

    def test_invalid_counts(self):
        for min_count, max_count in ((-1, 1), (3, 2), (0, -1)):
            self.assertRaises(ValueError,
                              self.hook.enforce_num_instances_and_flavor,
                              None, 'p1', SMALL, False, min_count, max_count)

    def test_delta_updates_in_nova_unified_names(self):
        # Nova's unshelve: count 0 with {'servers': 0}.
        self.assertEqual(0, self.hook.enforce_num_instances_and_flavor(
            None, 'p1', SMALL, False, 0, 0,
            delta_updates={'servers': 0}))
        self.assertEqual([('enforce', {'instances': 0, 'cores': 0,
                                       'ram': 0})],
                         self.client.enforce_calls())

    def test_request_spec_shape(self):
        hook = nova.NovaLimitsHook(self.client, count_disk=True)
        spec = types.SimpleNamespace(flavor=flavor(vcpus=1, root_gb=30),
                                     is_bfv=True)
        self.assertEqual(1, hook.enforce_num_instances_and_resources(
            None, 'p1', spec, 1, 1))
        self.assertNotIn('disk', self.client.enforce_calls()[0][1])
        self.assertRaises(ValueError,
                          hook.enforce_num_instances_and_resources,
                          None, 'p1', None, 1, 1)

    def test_an_oslo_limit_style_enforcer_passed_by_nova(self):
        # Nova may pass its own enforcer; infos then lack project and scope.
        class Refusing:
            def __init__(self):
                self.deltas = []

            def enforce(self, project_id, deltas):
                self.deltas.append(deltas)
                if deltas['instances'] > 1:
                    raise limit_exc.ProjectOverLimit(project_id, [
                        limit_exc.OverLimitInfo('instances', 1, 0,
                                                deltas['instances'])])

        refusing = Refusing()
        self.assertEqual(1, self.hook.enforce_num_instances_and_flavor(
            None, 'p1', SMALL, False, 1, 3, enforcer=refusing))
        self.assertEqual([3, 1], [d['instances'] for d in refusing.deltas])
        exc = self.assertRaises(
            nova.TooManyInstances, self.hook.enforce_num_instances_and_flavor,
            None, 'p1', SMALL, False, 2, 3, enforcer=Refusing())
        self.assertEqual('project', exc.blocking[0]['scope'])

    def test_module_functions_use_the_configured_hook(self):
        self.useFixture(fixtures.MockPatchObject(nova, '_HOOK', self.hook))
        self.assertEqual(2, nova.enforce_num_instances_and_flavor(
            None, 'p1', SMALL, False, 1, 2))
        spec = types.SimpleNamespace(flavor=SMALL, is_bfv=False)
        self.assertEqual(5, nova.enforce_num_instances_and_resources(
            None, 'p1', spec, 1, 6))


class TestBuildAndDelete(HookTestCase):
    """API reserves, conductor confirms or cleans up, compute deletes."""

    def test_multi_create_reserve_confirm(self):
        uuids = ['u1', 'u2', 'u3']
        reserved = self.hook.reserve_instances(None, 'p1', SMALL, False,
                                               uuids, min_count=1)
        self.assertEqual(uuids, reserved)
        self.assertEqual([600] * 3, [c[3] for c in self.client.calls])
        self.hook.confirm_instances(None, 'p1', SMALL, False, reserved)
        self.assertEqual([None] * 3, [c[3] for c in self.client.calls[3:]])
        self.assertEqual({'instances': 1, 'cores': 2, 'ram': 2048},
                         self.client.resources_of('u2'))

    def test_reserves_what_fits_above_min_count(self):
        uuids = ['u%d' % n for n in range(8)]
        reserved = self.hook.reserve_instances(None, 'p1', SMALL, False,
                                               uuids, min_count=2)
        self.assertEqual(uuids[:5], reserved)
        self.assertEqual(set(reserved), set(self.client.allocations))

    def test_below_min_count_frees_and_raises(self):
        self.hook.reserve_instances(None, 'p1', SMALL, False, ['x', 'y'])
        exc = self.assertRaises(nova.TooManyInstances,
                                self.hook.reserve_instances, None, 'p1',
                                SMALL, False, ['u1', 'u2', 'u3', 'u4'])
        self.assertEqual('cores', exc.blocking[0]['resource'])
        self.assertEqual({'x', 'y'}, set(self.client.allocations))
        self.assertIn(('delete', 'u1'), self.client.calls)

    def test_confirm_after_expiry_refused_frees_the_build(self):
        reserved = self.hook.reserve_instances(None, 'p1', LARGE, False,
                                               ['u1'])
        # The reservation expired and another build took the cores.
        del self.client.allocations['u1']
        self.hook.reserve_instances(None, 'p1', flavor(vcpus=4), False,
                                    ['o1'])
        self.assertRaises(nova.TooManyInstances,
                          self.hook.confirm_instances, None, 'p1', LARGE,
                          False, reserved)
        self.assertEqual({'o1'}, set(self.client.allocations))

    def test_a_build_deleted_during_its_confirmation(self):
        # The reservation of u1 is gone (the user's delete freed it);
        # its fresh reservation is made, and the user's delete (Nova's
        # API frees again on instance.delete.end) comes before the
        # replacement: the confirmation makes nothing for u1 and does
        # not fail. Raising there failed the conductor before it found
        # the build request gone, and the deleted instance stayed in its
        # cell, in BUILD, for the user to see again.
        reserved = self.hook.reserve_instances(None, 'p1', SMALL, False,
                                               ['u1', 'u2'])
        del self.client.allocations['u1']
        put = self.client.put_allocation

        def put_then_delete(consumer_id, *args, **kwargs):
            allocation = put(consumer_id, *args, **kwargs)
            if consumer_id == 'u1' and kwargs.get('expires_in'):
                del self.client.allocations['u1']
            return allocation

        self.client.put_allocation = put_then_delete
        self.assertIsNone(self.hook.confirm_instances(None, 'p1', SMALL,
                                                      False, reserved))
        self.assertEqual({'u2'}, set(self.client.allocations))
        self.assertIsNone(self.client.allocations['u2']['expires_in'])

    def test_build_failure_cleanup_and_delete_are_idempotent(self):
        reserved = self.hook.reserve_instances(None, 'p1', SMALL, False,
                                               ['u1', 'u2'])
        self.hook.free_instances(None, reserved)
        self.hook.free_instances(None, reserved)
        self.assertEqual({}, self.client.allocations)
        self.hook.reserve_instances(None, 'p1', SMALL, False, ['u3'])
        self.assertTrue(self.hook.free_instance(None, self.instance('u3')))
        self.assertFalse(self.hook.free_instance(None, self.instance('u3')))


class TestResize(HookTestCase):

    def setUp(self):
        super().setUp()
        self.vm = self.instance('vm')
        self.hook.reserve_instances(None, 'p1', SMALL, False, ['vm'])
        self.hook.confirm_instances(None, 'p1', SMALL, False, ['vm'])

    def resize(self, new_flavor):
        self.hook.resize_instance(None, self.vm, new_flavor)
        self.vm.old_flavor, self.vm.new_flavor = self.vm.flavor, new_flavor

    def test_upsize_then_confirm(self):
        self.resize(LARGE)
        self.assertEqual({'instances': 1, 'cores': 8, 'ram': 8192},
                         self.client.resources_of('vm'))
        self.hook.confirm_resize(None, self.vm)
        self.assertEqual(8, self.client.resources_of('vm')['cores'])

    def test_upsize_then_revert(self):
        self.resize(LARGE)
        self.hook.revert_resize(None, self.vm)
        self.assertEqual(2, self.client.resources_of('vm')['cores'])

    def test_downsize_holds_the_old_flavor_until_confirmed(self):
        self.resize(flavor(vcpus=1, memory_mb=4096))
        self.assertEqual({'instances': 1, 'cores': 2, 'ram': 4096},
                         self.client.resources_of('vm'))
        self.hook.confirm_resize(None, self.vm)
        self.assertEqual({'instances': 1, 'cores': 1, 'ram': 4096},
                         self.client.resources_of('vm'))

    def test_refused_upsize_keeps_the_allocation(self):
        self.client.limits['p1']['cores'] = 6
        exc = self.assertRaises(nova.TooManyInstances,
                                self.hook.resize_instance, None, self.vm,
                                LARGE)
        self.assertEqual({'project_id': 'p1', 'resource': 'cores',
                          'scope': 'project', 'limit': 6, 'usage': 2,
                          'delta': 6}, exc.blocking[0])
        self.assertEqual(2, self.client.resources_of('vm')['cores'])

    def puts(self):
        return [call for call in self.client.calls if call[0] == 'put']

    def test_a_refused_prep_writes_nothing_back(self):
        self.client.limits['p1']['cores'] = 6
        before = len(self.puts())
        self.assertRaises(nova.TooManyInstances, self.hook.resize_instance,
                          None, self.vm, LARGE)
        self.assertEqual(before + 1, len(self.puts()))

    def test_a_prep_without_answer_is_raised_when_nothing_can_be_written(self):
        # The service cannot be reached for the prep, nor for writing
        # back what the instance held: Nova gets the prep's error (not
        # the write-back's), and the hook logs what may still happen.
        logger = self.useFixture(fixtures.FakeLogger())
        failures = []

        def unreachable(consumer_id, *args, **kwargs):
            failures.append(ks_exc.ConnectFailure('prep %d'
                                                  % len(failures)))
            raise failures[-1]
        self.client.put_allocation = unreachable
        exc = self.assertRaises(ks_exc.ConnectFailure,
                                self.hook.resize_instance, None, self.vm,
                                LARGE)
        self.assertEqual(2, len(failures))
        self.assertIs(failures[0], exc)
        self.assertIn('Could not make sure that the failed resize prep of '
                      'instance vm never applies', logger.output)
        self.assertEqual(2, self.client.resources_of('vm')['cores'])

    def _write_between_read_and_put(self, write):
        """Make ``write()`` run after the prep read the allocation and
        before its PUT reaches the ledger."""
        get = self.client.get_allocation
        calls = []

        def get_then_write(consumer_id):
            answer = get(consumer_id)
            if not calls:
                calls.append(consumer_id)
                write()
            return answer
        self.client.get_allocation = get_then_write

    def test_a_prep_after_another_write_writes_nothing(self):
        # The revert of a failed resize writes the allocation before the
        # prep's request lands: the prep changes nothing, and Nova gets
        # the 412 (its resize fails).
        self._write_between_read_and_put(
            lambda: self.hook.revert_resize(None, self.vm))
        exc = self.assertRaises(limits.ClientError,
                                self.hook.resize_instance, None, self.vm,
                                LARGE)
        self.assertEqual(limits.ALLOCATION_CHANGED, exc.code)
        self.assertEqual(2, self.client.resources_of('vm')['cores'])

    def test_a_prep_whose_retry_wrote_it_returns_the_allocation(self):
        # keystoneauth1's earlier try of the same prep wrote it: the 412
        # of the retry is no failure.
        wanted = {'instances': 1, 'cores': 8, 'ram': 8192}
        self._write_between_read_and_put(
            lambda: self.client.put_allocation('vm', 'p1', wanted))
        allocation = self.hook.resize_instance(None, self.vm, LARGE)
        self.assertEqual(wanted, allocation['resources'])

    def test_a_prep_of_an_instance_freed_meanwhile_makes_nothing(self):
        self._write_between_read_and_put(
            lambda: self.hook.free_instance(None, self.vm))
        self.assertIsNone(self.hook.resize_instance(None, self.vm, LARGE))
        self.assertNotIn('vm', self.client.allocations)


class _DeletedProjectClient(FakeLimitsClient):
    """The fake client whose service refuses growth in the projects of
    ``deleted`` as the real one does (409 limits.project_deleted)."""

    deleted = frozenset()

    def _refuse_growth(self, project_id, resources, consumer_id):
        held = self.allocations.get(consumer_id)
        old = (held['resources'] if held and
               held['project_id'] == project_id else {})
        if project_id in self.deleted and any(
                amount > old.get(name, 0)
                for name, amount in resources.items()):
            raise limits.ProjectDeleted(
                409, code=limits.PROJECT_DELETED,
                detail='Project %s was deleted in Keystone and is kept '
                       'only until the allocations below it are freed: '
                       'they can only be reduced, moved to another '
                       'project or deleted, not grown.' % project_id)

    def put_allocation(self, consumer_id, project_id, resources, **kwargs):
        self._refuse_growth(project_id, resources, consumer_id)
        return super().put_allocation(consumer_id, project_id, resources,
                                      **kwargs)

    def enforce(self, project_id, resources, consumer_id=None):
        self._refuse_growth(project_id, resources, consumer_id)
        return super().enforce(project_id, resources, consumer_id)


class TestProjectDeletedInKeystone(HookTestCase):
    """The project was deleted in Keystone while it held allocations
    (the limits service keeps it until they are freed): what a Nova
    user then gets is Nova's 403 for a refused quota, saying why, not a
    500 from an unexpected error, and the build keeps nothing."""

    def setUp(self):
        super().setUp()
        self.client = _DeletedProjectClient(
            {p: dict(v) for p, v in self.LIMITS.items()})
        self.hook = nova.NovaLimitsHook(self.client)
        self.vm = self.instance('vm')
        self.hook.reserve_instances(None, 'p1', SMALL, False, ['vm'])
        self.hook.confirm_instances(None, 'p1', SMALL, False, ['vm'])
        self.client.deleted = {'p1'}

    def assert_project_deleted(self, exc):
        self.assertIn('Project p1 was deleted in Keystone',
                      exc.format_message())
        self.assertNotIn('Quota exceeded', exc.format_message())

    def test_the_apis_check_of_a_build_is_refused(self):
        exc = self.assertRaises(
            nova.TooManyInstances, self.hook.enforce_num_instances_and_flavor,
            None, 'p1', SMALL, False, 1, 3)
        self.assert_project_deleted(exc)

    def test_a_build_is_refused_and_keeps_nothing(self):
        exc = self.assertRaises(nova.TooManyInstances,
                                self.hook.reserve_instances, None, 'p1',
                                SMALL, False, ['u1', 'u2'])
        self.assert_project_deleted(exc)
        self.assertEqual({'vm'}, set(self.client.allocations))

    def test_an_upsize_is_refused_a_downsize_and_a_delete_go_on(self):
        exc = self.assertRaises(nova.TooManyInstances,
                                self.hook.check_resize, None, self.vm, LARGE)
        self.assert_project_deleted(exc)
        exc = self.assertRaises(nova.TooManyInstances,
                                self.hook.resize_instance, None, self.vm,
                                LARGE)
        self.assert_project_deleted(exc)
        tiny = flavor(vcpus=1, memory_mb=1024)
        self.hook.check_resize(None, self.vm, tiny)
        self.hook.resize_instance(None, self.vm, tiny)
        self.vm.old_flavor, self.vm.new_flavor = self.vm.flavor, tiny
        self.hook.confirm_resize(None, self.vm)
        self.assertEqual({'instances': 1, 'cores': 1, 'ram': 1024},
                         self.client.resources_of('vm'))
        self.assertTrue(self.hook.free_instance(None, self.vm))


class TestProjectDeletedAnswer(testtools.TestCase):
    """The client's exception of the service's 409
    limits.project_deleted: a :class:`limits.OverLimit` (a refusal, with
    no blocking limits), so that every caller that handles a refusal
    handles this one."""

    def answer(self, error):
        response = requests.Response()
        response.status_code = 409
        response.headers['Content-Type'] = 'application/json'
        response._content = json.dumps({'errors': [error]}).encode()
        return limits.error_for(response)

    def test_project_deleted_is_a_refusal(self):
        exc = self.answer({'status': 409, 'code': 'limits.project_deleted',
                           'detail': 'Project p1 was deleted in Keystone.'})
        self.assertIsInstance(exc, limits.ProjectDeleted)
        self.assertIsInstance(exc, limits.OverLimit)
        self.assertEqual([], exc.blocking)
        self.assertEqual('Project p1 was deleted in Keystone.', exc.detail)

    def test_an_odd_code_is_a_client_error(self):
        for code in (['limits.project_deleted'], None, 'limits.other'):
            exc = self.answer({'status': 409, 'code': code})
            self.assertNotIsInstance(exc, limits.OverLimit)
            self.assertIsInstance(exc, limits.ClientError)


class TestNovasOwnException(HookTestCase):
    """Nova handles a refusal only as its own exception: the API answers
    403 for an ``OverQuota`` and the conductor's recheck cleans up the
    build for a ``TooManyInstances``; anything else is a 500 and a build
    left behind."""

    @testtools.skipUnless(importlib.util.find_spec('nova'),
                          'Nova is not installed')
    def test_inside_nova_a_refusal_is_novas_too_many_instances(self):
        from nova import exception as nova_exception
        self.hook.reserve_instances(None, 'p1', SMALL, False,
                                    ['a', 'b', 'c', 'd', 'e'])
        for call in (
                lambda: self.hook.enforce_num_instances_and_flavor(
                    None, 'p1', SMALL, False, 1, 1),
                lambda: self.hook.reserve_instances(
                    None, 'p1', SMALL, False, ['f'])):
            try:
                call()
            except nova_exception.TooManyInstances as exc:
                # What Nova's API puts in its 403, and the code it reads.
                self.assertIn('over a limit', exc.format_message())
                self.assertEqual(413, exc.kwargs['code'])
                self.assertEqual('cores', exc.kwargs['overs'])
                self.assertEqual('cores', exc.blocking[0]['resource'])
                self.assertIsInstance(exc, nova_exception.OverQuota)
            else:
                self.fail('not refused')

    def test_without_nova_a_plain_exception(self):
        with mock.patch.dict(sys.modules, {'nova': None}):
            self.assertIs(Exception, nova._too_many_instances_base())


class TestNovasObjects(HookTestCase):
    """The hook given Nova's own objects (Nova is in the test
    environment), not stand-ins."""

    @testtools.skipUnless(importlib.util.find_spec('nova'),
                          'Nova is not installed')
    def test_novas_request_spec_without_is_bfv(self):
        # Nova's RequestSpec from before the field existed: reading
        # is_bfv raises ObjectActionError (Nova asks "'is_bfv' in spec").
        from nova import objects
        objects.register_all()
        nova_flavor = objects.Flavor(vcpus=2, memory_mb=2048, root_gb=20,
                                     ephemeral_gb=0, swap=0)
        old_spec = objects.RequestSpec(flavor=nova_flavor)
        self.assertEqual(1, self.hook.enforce_num_instances_and_resources(
            None, 'p1', old_spec, 1, 1))
        self.assertEqual(2, self.hook.enforce_num_instances_and_resources(
            None, 'p1', objects.RequestSpec(flavor=nova_flavor, is_bfv=True),
            1, 2))


class TestConfiguration(testtools.TestCase):

    def test_from_conf(self):
        conf = cfg.ConfigOpts()
        conf([])
        nova.register_opts(conf)
        for name, value in (('endpoint_override', 'http://l:9870'),
                            ('nova_resource_names', 'unified'),
                            ('nova_count_disk', True),
                            ('nova_reservation_expires_in', 60)):
            conf.set_override(name, value, limits.GROUP)
        hook = nova.NovaLimitsHook.from_conf(conf)
        self.assertEqual('http://l:9870',
                         hook.client.adapter.get_endpoint())
        self.assertEqual(60, hook.reservation_expires_in)
        self.assertIn('class:DISK_GB', hook.resources(SMALL))

    def conf_from_file(self, text):
        path = self.useFixture(fixtures.TempDir()).join('nova.conf')
        with open(path, 'w') as config_file:
            config_file.write(text)
        conf = cfg.ConfigOpts()
        conf(['--config-file', path])
        return conf

    def test_a_reservation_of_seconds_is_refused_at_start(self):
        """``nova_reservation_expires_in`` below a minute is an error of
        the configuration, not a reservation that expires between two
        requests of one build."""
        for seconds in (1, 59):
            conf = self.conf_from_file(
                '[arbiter_limits]\nendpoint_override = http://l:9870\n'
                'nova_reservation_expires_in = %d\n' % seconds)
            error = self.assertRaises(cfg.ConfigFileValueError,
                                      nova.NovaLimitsHook.from_conf, conf)
            self.assertIn('nova_reservation_expires_in', str(error))
        conf = self.conf_from_file(
            '[arbiter_limits]\nendpoint_override = http://l:9870\n'
            'nova_reservation_expires_in = 60\n')
        self.assertEqual(
            60, nova.NovaLimitsHook.from_conf(conf).reservation_expires_in)

    def test_the_minimum_is_explained_in_the_help(self):
        [(group, opts)] = nova.list_opts()
        [opt] = [o for o in opts if o.dest == 'nova_reservation_expires_in']
        self.assertEqual(60, opt.type.min)
        self.assertIn('At least 60', opt.help)

    def test_list_opts(self):
        [(group, opts)] = nova.list_opts()
        self.assertEqual('arbiter_limits', group)
        self.assertEqual(['nova_resource_names', 'nova_count_disk',
                          'nova_reservation_expires_in'],
                         [opt.dest for opt in opts])
