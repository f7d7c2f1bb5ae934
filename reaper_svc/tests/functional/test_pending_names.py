"""``POST /v1/pending`` refuses a server name Nova would refuse at the
build (see reaper_svc.tests.unit.test_server_names), and with the
``openstack`` driver an image or network named rather than given by its
ID: a 400 naming the field, nothing queued; what Nova takes is queued."""

import uuid

import fixtures
import testtools

from reaper_svc.api import cloud
from reaper_svc.drivers import openstack
from reaper_svc.drivers import simulated
from reaper_svc.tests.functional import base
from svc_common.tests.fixtures import api as af

IMAGE = str(uuid.uuid4())

PHYSICS = af.identity(['member', 'reader'], 'physics', user_id='alice')


class TestPendingNames(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.app = self.useFixture(base.ReaperApp()).app

    def submit(self, name, status):
        body = {'servers': [dict(base.SERVER, name='ok'),
                            dict(base.SERVER, name=name)]}
        return self.app.post_json('/v1/pending', body, headers=PHYSICS,
                                  status=status)

    def queued(self):
        return self.app.get('/v1/pending', headers=PHYSICS).json['pending']

    def test_names_nova_refuses(self):
        for name in ('job ', ' job', 'job \U0001F600', 'a\u2028b',
                     'zero\u200bwidth', 'nb\u00a0'):
            resp = self.submit(name, 400)
            error = resp.json['errors'][0]
            self.assertEqual('preemption.invalid_input', error['code'], name)
            self.assertIn('servers/1/name', error['detail'], name)
        self.assertEqual([], self.queued())

    def test_a_name_too_long_for_nova_to_number_its_servers(self):
        """Nova names the servers of a multi-create <name>-1 to
        <name>-<count> in 255 characters; a longer one is accepted by
        its API and the servers never appear (the build waited [nova]
        create_timeout, then failed)."""
        def submit(length, count, status):
            body = {'servers': [dict(base.SERVER, name='x' * length,
                                     count=count)]}
            return self.app.post_json('/v1/pending', body, headers=PHYSICS,
                                      status=status)

        error = submit(253, 10, 400).json['errors'][0]
        self.assertIn('servers/0/name', error['detail'])
        self.assertIn('at most 252 characters', error['detail'])
        self.assertEqual([], self.queued())
        submit(252, 10, 201)
        submit(253, 9, 201)
        submit(255, 1, 201)

    def test_names_nova_takes(self):
        for name in ('job 1', 'café', 'Задача', '作业', 'a\u00a0b'):
            self.submit(name, 201)
        self.assertEqual(5, len(self.queued()))


class _OpenStackFlavorsOnly(openstack.OpenStackCloud):
    """The ``openstack`` driver with its flavors stood in for (a test
    double: the real Nova of test_real_nova has no Neutron to take a
    network); its check of a spec is the driver's own."""

    def __init__(self, flavors):
        self._flavor_view = flavors

    def flavors(self):
        return self._flavor_view


class TestImageAndNetworksByID(testtools.TestCase):
    """With the ``openstack`` driver, ``POST /v1/pending`` refuses an
    image or a network given by its name (Nova's ``POST /servers`` takes
    UUIDs): it was queued and failed at its build."""

    def setUp(self):
        super().setUp()
        reaper = self.useFixture(base.ReaperApp())
        self.app = reaper.app
        with open(base.CLOUD) as source:
            sample = simulated.SimulatedCloud.from_yaml(source.read())
        double = _OpenStackFlavorsOnly(sample.flavors())
        self.useFixture(fixtures.MockPatchObject(cloud, 'driver',
                                                 lambda: double))

    def submit(self, status, **spec):
        body = {'servers': [dict(base.SERVER, image=IMAGE), dict(
            base.SERVER, **spec)]}
        return self.app.post_json('/v1/pending', body, headers=PHYSICS,
                                  status=status)

    def test_names_are_refused(self):
        for spec, field in (({'image': 'CentOS-7'}, 'servers/1/image'),
                            ({'image': IMAGE, 'networks': [IMAGE, 'public']},
                             'servers/1/networks/1')):
            error = self.submit(400, **spec).json['errors'][0]
            self.assertEqual('preemption.invalid_input', error['code'])
            self.assertIn(field, error['detail'])
        self.assertEqual([], self.app.get(
            '/v1/pending', headers=PHYSICS).json['pending'])

    def test_ids_are_queued(self):
        self.submit(201, image=IMAGE.upper(), networks=[IMAGE])
