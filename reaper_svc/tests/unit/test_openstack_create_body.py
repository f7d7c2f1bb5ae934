"""The create the openstack driver sends is one Nova's API accepts.

The driver sent a pending request's networks as Nova got them from the
user, a list of network ids, where Nova's ``POST /servers`` takes a
list of objects (``{"uuid": ...}``) or ``"none"``/``"auto"``: Nova
answered 400 and every pending request that named a network failed
("The cloud refused the build").  The body is checked here against
Nova 34's own JSON schema of the create at the driver's microversion
(2.73: ``create_v267``), with Nova's answers stood in for by a test
double (the real Nova of test_real_nova has no Neutron, so it cannot
take a network).
"""

import types
import uuid

import jsonschema
from nova.api.openstack.compute.schemas import servers as nova_servers
import testtools

from reaper_svc.drivers import openstack

IMAGE = str(uuid.uuid4())
NETWORKS = [str(uuid.uuid4()), str(uuid.uuid4())]


class _Answer(object):

    def __init__(self, body):
        self.body = body

    def json(self):
        return self.body


class _Nova(openstack.OpenStackCloud):
    """Records the create's body; its servers are built at once."""

    def __init__(self):
        self.conf = types.SimpleNamespace(nova=types.SimpleNamespace(
            page_size=1000, create_timeout=60))
        self.bodies = []

    def _nova(self, method, path, **kwargs):
        if path == '/flavors/detail':
            return _Answer({'flavors': [{'id': 'f1', 'name': 'm1'}]})
        if method == 'POST':
            self.bodies.append(kwargs['json'])
            return _Answer({'reservation_id': 'r-1'})
        return _Answer({'servers': [{'id': 'new-1', 'status': 'ACTIVE'}]})


class TestCreateBody(testtools.TestCase):

    def sent(self, **kwargs):
        nova = _Nova()
        self.assertEqual(['new-1'], nova.create(
            'p', 'job', 'm1', 1, 1, image=IMAGE,
            metadata={'arbiter:pending_request': 'r'}, **kwargs))
        [body] = nova.bodies
        jsonschema.validate(body, nova_servers.create_v267)
        return body['server']

    def test_networks_are_sent_as_nova_takes_them(self):
        self.assertEqual([{'uuid': n} for n in NETWORKS],
                         self.sent(networks=NETWORKS)['networks'])

    def test_no_network_is_none(self):
        self.assertEqual('none', self.sent(networks=[])['networks'])
        self.assertEqual('none', self.sent()['networks'])
