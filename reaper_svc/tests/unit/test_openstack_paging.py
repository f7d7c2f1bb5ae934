"""The openstack driver reads every page of Nova's flavors and
hypervisors, as it does of servers.

At the driver's microversion (2.73) Nova returns at most its ``[api]
max_limit`` flavors (``GET /flavors/detail``) and hypervisors (``GET
/os-hypervisors/detail``) a page, 1000 by default, with a ``next``
link.  The driver read the first page only: on a cloud of more flavors
(private ones included) the promoter failed the pending requests of a
flavor on a later page ("The cloud has no flavor ...") and the create
could not find it; on a cloud of more compute nodes, a node on a later
page whose compute service's host has another name (Ironic, fully
qualified names) was taken for a disabled and down host.

Nova and Placement are stood in for (a test double answering pages as
Nova 34's API does, ``limit`` capped at ``max_limit`` and a ``next``
link on a full page): a real Nova with more than a thousand flavors or
compute nodes is out of reach of these tests, and its page limit is not
under their control.
"""

import types

import testtools

from reaper_svc.drivers import openstack


class _Answer(object):

    def __init__(self, body):
        self.body = body

    def json(self):
        return self.body


class _Cloud(openstack.OpenStackCloud):
    """Nova paging flavors and hypervisors at ``max_limit``; Placement
    with one root provider per hypervisor."""

    def __init__(self, flavors, nodes, max_limit=2):
        self.conf = types.SimpleNamespace(
            nova=types.SimpleNamespace(page_size=1000, create_timeout=60),
            placement=types.SimpleNamespace(concurrency=2))
        self.preemptible_spec = 'arbiter:preemptible'
        self.priority_spec = 'arbiter:priority'
        self.flavor_list = [{'id': 'f%03d' % n, 'name': name, 'ram': 512,
                             'vcpus': 1, 'disk': 0, 'extra_specs': {}}
                            for n, name in enumerate(flavors)]
        # Ironic: each node its UUID, every one of service host 'ironic'.
        self.hypervisors = [{'id': 'h%03d' % n, 'hypervisor_hostname': node,
                             'service': {'host': 'ironic'}}
                            for n, node in enumerate(nodes)]
        self.max_limit = max_limit
        self.posted = []

    def _page(self, items, key, path, params):
        ids = [item['id'] for item in items]
        start = ids.index(params['marker']) + 1 if 'marker' in params else 0
        limit = min(params.get('limit', self.max_limit), self.max_limit)
        page = items[start:start + limit]
        body = {key: page}
        if len(page) == limit:
            body[key + '_links'] = [{'rel': 'next', 'href': (
                '%s?marker=%s' % (path, page[-1]['id']))}]
        return _Answer(body)

    def _nova(self, method, path, **kwargs):
        params = dict(kwargs.get('params') or {})
        if path == '/flavors/detail':
            return self._page(self.flavor_list, 'flavors', path, params)
        if path == '/os-hypervisors/detail':
            return self._page(self.hypervisors, 'hypervisors', path, params)
        if path == '/os-services':
            return _Answer({'services': [{'host': 'ironic',
                                          'status': 'enabled',
                                          'state': 'up'}]})
        if path == '/os-aggregates':
            return _Answer({'aggregates': []})
        if path == '/servers' and method == 'POST':
            self.posted.append(kwargs['json']['server'])
            raise _Posted()
        if path == '/servers/detail':
            return _Answer({'servers': []})
        raise AssertionError('unexpected %s %s' % (method, path))

    def _placement(self, path):
        if path == '/resource_providers':
            return {'resource_providers': [
                {'uuid': h['hypervisor_hostname'],
                 'name': h['hypervisor_hostname']}
                for h in self.hypervisors]}
        if path.endswith('/inventories'):
            return {'inventories': {'VCPU': {'total': 4}}}
        if path.endswith('/usages'):
            return {'usages': {'VCPU': 0}}
        return {'traits': []}

    def guaranteed(self, servers):
        return list(servers)


class _Posted(Exception):
    """The create was sent (what it sent is in ``posted``)."""


class TestPaging(testtools.TestCase):

    FLAVORS = ['tiny', 'small', 'medium', 'large', 'huge']

    def test_every_flavor_is_seen(self):
        cloud = _Cloud(self.FLAVORS, [])
        self.assertEqual(sorted(self.FLAVORS), sorted(cloud.flavors()))

    def test_a_flavor_on_a_later_page_is_built(self):
        cloud = _Cloud(self.FLAVORS, [])
        self.assertRaises(_Posted, cloud.create, 'p', 'job', 'huge', 1, 1,
                          image='img')
        self.assertEqual('f004', cloud.posted[0]['flavorRef'])

    def test_every_node_is_enabled_and_up(self):
        nodes = ['node-%d' % n for n in range(5)]
        cluster = _Cloud([], nodes).cluster()
        self.assertEqual(
            {node: (True, True, 'ironic') for node in nodes},
            {name: (host.enabled, host.up, host.service_host)
             for name, host in cluster.hosts.items()})
