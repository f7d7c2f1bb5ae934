"""ImageFamilyFilter with Nova's own objects (``RequestSpec``,
``HostState``, ``Destination``, ``CellMapping``) and the stand-in image
family service of :mod:`test_hooks_service` (the real API had not landed
when the filter was written).

The requests are built the way Nova builds them: a new build carries the
image and nothing of a move; the conductor sets
``requested_destination.cell`` for live and cold migration, evacuation
and unshelve and ``ignore_hosts`` for resize, migration and evacuation;
the API sets ``scheduler_hints['_nova_check_type'] = ['rebuild']`` for a
rebuild with a new image.
"""

import fixtures
from nova import objects
from nova.scheduler import host_manager
from oslo_config import cfg
from oslo_utils.fixture import uuidsentinel as uuids
import testtools

from image_family_svc.hooks import cached_lookup
from image_family_svc.hooks import nova_filter
from image_family_svc.tests.unit import test_hooks_service as fake
from svc_common.tests.fixtures import ports

objects.register_all()


def make_hosts(count=3):
    return [host_manager.HostState('host%d' % n, 'node%d' % n, uuids.cell1)
            for n in range(count)]


def new_build(image_id, owner=None, **fields):
    fields.setdefault('scheduler_hints', {})
    image = {'id': image_id, 'properties': {}}
    if owner is not None:
        image['owner'] = owner
    return objects.RequestSpec(
        image=objects.ImageMeta.from_dict(image),
        instance_uuid=uuids.instance, num_instances=1, **fields)


class FilterTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.service = self.useFixture(fake.FakeImageFamilyService())
        self.conf = cfg.ConfigOpts()
        self.conf([], project='nova')
        nova_filter.register_opts(self.conf)
        self.conf.set_override('endpoint_override', self.service.url,
                               group=nova_filter.GROUP)
        self.conf.set_override('auth_type', None, group=nova_filter.GROUP)
        self.cells = {}
        self.service.set_image(uuids.active, 'active')
        self.service.set_image(uuids.obsolete, 'obsolete', servers=2)
        self.service.set_image(uuids.deprecated, 'deprecated')
        self.service.set_image(uuids.deleted, 'deleted')
        self.service.set_image(uuids.pending, 'pending_delete')

    def make_filter(self, **overrides):
        for name, value in overrides.items():
            self.conf.set_override(name, value, group=nova_filter.GROUP)
        return nova_filter.ImageFamilyFilter(
            conf=self.conf, has_cell=lambda uuid: uuid in self.cells)

    def passing(self, filt, spec_obj, hosts=None):
        hosts = hosts if hosts is not None else make_hosts()
        return [host.host for host in filt.filter_all(hosts, spec_obj)]


class TestNewBuilds(FilterTestCase):

    def test_bootable_states_pass(self):
        filt = self.make_filter()
        for image_id in (uuids.active, uuids.deprecated):
            self.assertEqual(['host0', 'host1', 'host2'],
                             self.passing(filt, new_build(image_id)))

    def test_projects_family_decides_for_its_projects_images_only(self):
        # With the noop Glance driver a member of project p2 added the
        # cloud's image (owned by the admin project) to a family of p2's
        # and made it obsolete: nobody could boot it any more.
        self.service.set_image(uuids.taken, 'obsolete',
                               family_project_id='p2')
        filt = self.make_filter()
        self.assertEqual(['host0', 'host1', 'host2'], self.passing(
            filt, new_build(uuids.taken, owner='admin-project')))
        # p2's own image: p2's family decides.
        self.service.set_image(uuids.own, 'obsolete',
                               family_project_id='p2')
        self.assertEqual([], self.passing(filt, new_build(uuids.own,
                                                          owner='p2')))
        # An owner Nova does not know, and a system-owned family: the
        # family decides, as before.
        self.assertEqual([], self.passing(filt, new_build(uuids.taken)))
        self.assertEqual([], self.passing(
            filt, new_build(uuids.obsolete, owner='admin-project')))

    def test_states_that_may_not_boot_get_no_host(self):
        filt = self.make_filter()
        for image_id in (uuids.obsolete, uuids.pending, uuids.deleted):
            self.assertEqual([], self.passing(filt, new_build(image_id)))

    def test_image_in_no_family_passes(self):
        self.assertEqual(['host0', 'host1', 'host2'],
                         self.passing(self.make_filter(),
                                      new_build(uuids.unknown)))

    def test_request_without_image_passes_without_asking(self):
        spec_obj = objects.RequestSpec(instance_uuid=uuids.instance,
                                       image=None)
        self.assertTrue(self.make_filter().host_passes(make_hosts(1)[0],
                                                       spec_obj))
        self.assertEqual([], self.service.requests)

    def test_boot_to_a_chosen_host_is_still_a_new_build(self):
        # Microversion 2.74: host/node chosen, no cell.
        spec_obj = new_build(
            uuids.obsolete,
            requested_destination=objects.Destination(host='host1'))
        self.assertEqual([], self.passing(self.make_filter(), spec_obj))

    def test_host_passes_agrees(self):
        filt = self.make_filter()
        host = make_hosts(1)[0]
        self.assertFalse(filt.host_passes(host, new_build(uuids.obsolete)))
        self.assertTrue(filt.host_passes(host, new_build(uuids.active)))

    def test_rebuild_onto_an_obsolete_image_is_refused(self):
        spec_obj = new_build(uuids.obsolete, force_hosts=['host0'],
                             scheduler_hints={
                                 '_nova_check_type': ['rebuild']})
        # Nova runs the filter for a rebuild only when RUN_ON_REBUILD.
        self.assertTrue(nova_filter.ImageFamilyFilter.RUN_ON_REBUILD)
        self.assertEqual([], self.passing(self.make_filter(), spec_obj))
        # Even though the server exists in a cell.
        self.cells[uuids.instance] = uuids.cell1
        self.assertEqual([], self.passing(self.make_filter(), spec_obj))

    def test_rebuild_onto_an_active_image_passes(self):
        spec_obj = new_build(uuids.active, scheduler_hints={
            '_nova_check_type': ['rebuild']})
        self.assertEqual(['host0', 'host1', 'host2'],
                         self.passing(self.make_filter(), spec_obj))


class TestMoves(FilterTestCase):

    def test_live_and_cold_migration_evacuation_unshelve_in_cell(self):
        cell = objects.CellMapping(uuid=uuids.cell1, name='cell1')
        spec_obj = new_build(
            uuids.obsolete,
            requested_destination=objects.Destination(cell=cell))
        self.assertEqual(['host0', 'host1', 'host2'],
                         self.passing(self.make_filter(), spec_obj))

    def test_resize_or_evacuation_excluding_the_current_host(self):
        spec_obj = new_build(uuids.deleted, ignore_hosts=['host9'])
        self.assertEqual(['host0', 'host1', 'host2'],
                         self.passing(self.make_filter(), spec_obj))

    def test_move_known_only_from_the_cell_mapping(self):
        # A cross-cell resize to a chosen host that may be the same host:
        # no cell restriction and no ignored host in the request.
        spec_obj = new_build(
            uuids.obsolete,
            requested_destination=objects.Destination(host='host1'))
        filt = self.make_filter()
        self.assertEqual([], self.passing(filt, spec_obj))
        self.cells[uuids.instance] = uuids.cell1
        self.assertEqual(['host0', 'host1', 'host2'],
                         self.passing(filt, spec_obj))

    def test_cell_mapping_not_asked_for_bootable_images(self):
        asked = []
        filt = nova_filter.ImageFamilyFilter(conf=self.conf,
                                             has_cell=asked.append)
        self.passing(filt, new_build(uuids.active))
        self.assertEqual([], asked)


class TestCachingAndFailures(FilterTestCase):

    def test_one_call_per_request_not_per_host(self):
        filt = self.make_filter(cache_seconds=0)
        self.assertEqual([], self.passing(filt, new_build(uuids.obsolete),
                                          hosts=make_hosts(50)))
        self.assertEqual(1, len(self.service.requests))

    def test_answers_cached_across_requests(self):
        filt = self.make_filter(cache_seconds=60)
        for _ in range(5):
            self.passing(filt, new_build(uuids.active))
        self.assertEqual(1, len(self.service.requests))

    def test_no_cache_sees_a_state_change_at_once(self):
        filt = self.make_filter(cache_seconds=0)
        self.assertEqual(3, len(self.passing(filt, new_build(uuids.active))))
        self.service.set_image(uuids.active, 'obsolete')
        self.assertEqual([], self.passing(filt, new_build(uuids.active)))

    def test_fail_open_by_default(self):
        self.conf.set_override('endpoint_override', fake.closed_url(),
                               group=nova_filter.GROUP)
        filt = self.make_filter()
        self.assertEqual(['host0', 'host1', 'host2'],
                         self.passing(filt, new_build(uuids.obsolete)))

    def test_fail_closed(self):
        self.conf.set_override('endpoint_override', fake.closed_url(),
                               group=nova_filter.GROUP)
        filt = self.make_filter(fail_open=False)
        self.assertEqual([], self.passing(filt, new_build(uuids.active)))

    def test_a_service_that_never_answers_is_no_answer(self):
        # keystoneauth1 waits for ever by default: every scheduling
        # request waited on a hung service, and fail_open was never
        # asked.
        self.useFixture(fixtures.Timeout(30, gentle=True))
        self.useFixture(fixtures.MockPatchObject(
            cached_lookup, 'DEFAULT_TIMEOUT', 1))
        self.conf.set_override('endpoint_override',
                               self.useFixture(ports.HangingPort('/v1')).url,
                               group=nova_filter.GROUP)
        filt = self.make_filter(fail_open=False)
        self.assertEqual(1, self.conf[nova_filter.GROUP].timeout)
        self.assertEqual([], self.passing(filt, new_build(uuids.active)))

    def test_error_answer_fails_closed_when_configured(self):
        self.service.fail_with = 500
        filt = self.make_filter(fail_open=False)
        self.assertEqual([], self.passing(filt, new_build(uuids.active)))
        self.service.fail_with = None
        self.assertEqual(3, len(self.passing(filt, new_build(uuids.active))))


class TestLoading(testtools.TestCase):

    def test_nova_loads_it_by_its_dotted_name(self):
        from nova.scheduler import filters
        handler = filters.HostFilterHandler()
        classes = handler.get_matching_classes(
            ['image_family_svc.hooks.nova_filter.ImageFamilyFilter'])
        self.assertEqual([nova_filter.ImageFamilyFilter], classes)

    def test_options_for_the_config_generator(self):
        [(group, opts)] = nova_filter.list_opts()
        names = {opt.dest for opt in opts}
        self.assertEqual('image_family_filter', group)
        [timeout] = [opt for opt in opts if opt.dest == 'timeout']
        self.assertEqual(cached_lookup.DEFAULT_TIMEOUT, timeout.default)
        self.assertTrue({'cache_seconds', 'fail_open', 'endpoint_override',
                         'auth_type', 'auth_url'} <= names)
