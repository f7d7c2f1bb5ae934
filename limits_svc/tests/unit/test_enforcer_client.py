"""The REST client and the oslo.limit-compatible Enforcer, over a fake
transport.

A real keystoneauth1 session sends real ``requests`` requests into a
transport adapter that records them and answers with scripted responses,
so these tests see exactly what goes on the wire and how each answer is
mapped. Behaviour against the real service is in
``limits_svc/tests/functional/test_clients.py``.
"""

import json

from keystoneauth1 import session as ks_session
from oslo_config import cfg
from oslo_limit import exception as limit_exc
import requests
import testtools

from limits_svc.clients import enforcer
from limits_svc.clients import limits

URL = 'http://limits.example:9870'


class ScriptedTransport(requests.adapters.BaseAdapter):
    """Answers each request with the next scripted ``(status, body)``."""

    def __init__(self, *answers):
        super().__init__()
        self.answers = list(answers)
        self.sent = []

    def send(self, request, **kwargs):
        self.sent.append(request)
        status, body = self.answers.pop(0)
        resp = requests.Response()
        resp.status_code = status
        resp.request = request
        resp.url = request.url
        if isinstance(body, (dict, list)):
            resp._content = json.dumps(body).encode()
            resp.headers['Content-Type'] = 'application/json'
        else:
            resp._content = (body or '').encode()
            resp.headers['Content-Type'] = 'text/plain'
        return resp

    def close(self):
        pass

    def body(self, n=-1):
        return json.loads(self.sent[n].body)

    def path(self, n=-1):
        return self.sent[n].method, self.sent[n].path_url


def error(status, code, detail='nope', **extra):
    obj = {'status': status, 'code': code, 'title': 'Error',
           'detail': detail, 'request_id': 'req-1'}
    obj.update(extra)
    return status, {'errors': [obj]}


BLOCKING = [{'project_id': 'leaf', 'resource': 'cores', 'scope': 'project',
             'limit': 8, 'usage': 6, 'delta': 4},
            {'project_id': 'root', 'resource': 'cores', 'scope': 'subtree',
             'limit': 10, 'usage': 9, 'delta': 4}]


def allocation(consumer_id='vm-1', expires_at=None, **resources):
    return {'allocation': {'consumer_id': consumer_id, 'project_id': 'p1',
                           'resources': resources,
                           'expires_at': expires_at}}


class TransportTestCase(testtools.TestCase):

    def transport(self, *answers):
        self.wire = ScriptedTransport(*answers)
        http = requests.Session()
        http.mount('http://', self.wire)
        return ks_session.Session(auth=None, session=http)

    def client(self, *answers, **kwargs):
        return limits.LimitsClient(self.transport(*answers),
                                   endpoint_override=URL, **kwargs)


class TestLimitsClient(TransportTestCase):

    def test_put_allocation(self):
        client = self.client((200, allocation(cores=2)),
                             additional_headers={'X-Roles': 'service'})
        self.assertEqual({'consumer_id': 'vm-1', 'project_id': 'p1',
                          'resources': {'cores': 2}, 'expires_at': None},
                         client.put_allocation('vm-1', 'p1', {'cores': 2}))
        self.assertEqual(('PUT', '/v1/allocations/vm-1'), self.wire.path())
        self.assertEqual({'project_id': 'p1', 'resources': {'cores': 2}},
                         self.wire.body())
        self.assertEqual('service', self.wire.sent[0].headers['X-Roles'])
        self.assertEqual(URL + '/v1/allocations/vm-1', self.wire.sent[0].url)

    def test_put_reservation_sends_expires_in(self):
        client = self.client((200, allocation(expires_at='2030-01-01T00:00:'
                                                         '00Z', cores=2)))
        client.put_allocation('vm-1', 'p1', {'cores': 2}, expires_in=300)
        self.assertEqual(300, self.wire.body()['expires_in'])

    def test_over_limit_maps_to_over_limit_with_blocking(self):
        client = self.client(error(409, 'limits.over_limit',
                                   blocking=BLOCKING))
        exc = self.assertRaises(limits.OverLimit, client.put_allocation,
                                'vm-1', 'leaf', {'cores': 4})
        self.assertEqual((409, 'limits.over_limit', 'nope', 'req-1'),
                         (exc.status, exc.code, exc.detail, exc.request_id))
        self.assertEqual(BLOCKING, exc.blocking)

    def test_other_conflict_is_a_plain_client_error(self):
        client = self.client(error(409, 'limits.project_in_use'))
        exc = self.assertRaises(limits.ClientError, client.put_allocation,
                                'vm-1', 'leaf', {'cores': 4})
        self.assertNotIsInstance(exc, limits.OverLimit)
        self.assertEqual('limits.project_in_use', exc.code)

    def test_delete(self):
        client = self.client((204, None),
                             error(404, 'limits.allocation_not_found'),
                             error(404, 'limits.allocation_not_found'))
        self.assertTrue(client.delete_allocation('vm-1'))
        self.assertEqual(('DELETE', '/v1/allocations/vm-1'),
                         self.wire.path())
        self.assertFalse(client.delete_allocation('vm-1'))
        exc = self.assertRaises(limits.NotFound, client.delete_allocation,
                                'vm-1', missing_ok=False)
        self.assertEqual(404, exc.status)

    def test_get_allocation_missing_is_none(self):
        client = self.client((200, allocation(cores=1)),
                             error(404, 'limits.allocation_not_found'),
                             error(404, 'limits.not_found'))
        self.assertEqual({'cores': 1},
                         client.get_allocation('vm-1')['resources'])
        self.assertIsNone(client.get_allocation('vm-2'))
        # A 404 that is not "no allocation" (a wrong endpoint) raises.
        self.assertRaises(limits.NotFound, client.get_allocation, 'vm-3')

    def test_list_allocations_follows_next_links(self):
        page = [allocation('vm-%d' % n)['allocation'] for n in range(3)]
        next_link = [{'rel': 'next',
                      'href': URL + '/v1/allocations?limit=2&marker=vm-1'}]
        client = self.client((200, {'allocations': page[:2],
                                    'links': next_link}),
                             (200, {'allocations': page[2:], 'links': []}))
        self.assertEqual(['vm-0', 'vm-1', 'vm-2'], [
            a['consumer_id'] for a in client.list_allocations('p1', 2)])
        # The last page has no next link: no third request.
        self.assertEqual([
            ('GET', '/v1/allocations?project_id=p1&limit=2'),
            ('GET', '/v1/allocations?limit=2&marker=vm-1')],
            [self.wire.path(n) for n in range(2)])
        self.assertEqual(2, len(self.wire.sent))

    def test_enforce_usage_reconcile(self):
        client = self.client(
            (200, {'allowed': True, 'deltas': {'cores': 1},
                   'blocking': []}),
            (200, {'project_id': 'p1', 'subtree': True, 'projects': [
                {'project_id': 'p1', 'parent_id': None, 'depth': 0,
                 'resources': {}}]}),
            (200, {'project_id': 'p1', 'adjusted': {'cores': 2}}))
        self.assertTrue(client.enforce('p1', {'cores': 1},
                                       consumer_id='vm-1')['allowed'])
        self.assertEqual({'project_id': 'p1', 'resources': {'cores': 1},
                          'consumer_id': 'vm-1'}, self.wire.body(0))
        client.usage('p1', subtree=True)
        self.assertEqual(('GET', '/v1/projects/p1/usage?subtree=true'),
                         self.wire.path(1))
        client.reconcile_usage('p1', {'cores': 2})
        self.assertEqual(('PUT', '/v1/usages/p1'), self.wire.path(2))
        self.assertEqual({'resources': {'cores': 2}}, self.wire.body(2))

    def test_error_without_json_body(self):
        client = self.client((502, '<html>Bad Gateway</html>'))
        exc = self.assertRaises(limits.ClientError, client.usage, 'p1')
        self.assertEqual(502, exc.status)
        self.assertIsNone(exc.code)
        self.assertIn('Bad Gateway', exc.detail)

    def test_needs_a_session_or_adapter(self):
        self.assertRaises(ValueError, limits.LimitsClient)

    def test_from_conf(self):
        conf = cfg.ConfigOpts()
        conf([])
        limits.register_opts(conf)
        conf.set_override('endpoint_override', URL, limits.GROUP)
        client = limits.from_conf(conf)
        self.assertEqual('limits', client.adapter.service_type)
        self.assertEqual(URL, client.adapter.get_endpoint())
        self.assertIsNone(client.adapter.session.auth)


def answer(allowed, blocking=()):
    return 200, {'allowed': allowed, 'deltas': {}, 'blocking':
                 list(blocking)}


def report(**resources):
    return 200, {'project_id': 'leaf', 'subtree': False, 'projects': [
        {'project_id': 'leaf', 'parent_id': 'mid', 'depth': 0,
         'resources': resources}]}


def registered(*values):
    return 200, {'registered_limits': [
        {'id': str(n), 'service_id': 'nova', 'region_id': None,
         'resource_name': 'x', 'default_limit': value, 'description': None}
        for n, value in enumerate(values)], 'links': []}


class TestEnforcer(TransportTestCase):

    def enforcer(self, *answers, callback=None, reconcile=False):
        client = self.client(*answers)
        return enforcer.Enforcer(callback or (lambda project_id, names: {}),
                                 client=client, reconcile_usage=reconcile)

    def test_allowed_returns_none(self):
        enf = self.enforcer(answer(True))
        self.assertIsNone(enf.enforce('leaf', {'cores': 2, 'ram': 0}))
        self.assertEqual(('POST', '/v1/enforce'), self.wire.path())
        self.assertEqual({'project_id': 'leaf',
                          'resources': {'cores': 2, 'ram': 0}},
                         self.wire.body())

    def test_refusal_is_oslo_limit_project_over_limit(self):
        enf = self.enforcer(answer(False, BLOCKING))
        exc = self.assertRaises(limit_exc.ProjectOverLimit, enf.enforce,
                                'leaf', {'cores': 4})
        self.assertIs(limit_exc.ProjectOverLimit, type(exc))
        self.assertEqual('leaf', exc.project_id)
        self.assertEqual(
            [('cores', 8, 6, 4, 'leaf', 'project'),
             ('cores', 10, 9, 4, 'root', 'subtree')],
            [(i.resource_name, i.limit, i.current_usage, i.delta,
              i.project_id, i.scope) for i in exc.over_limit_info_list])
        for info in exc.over_limit_info_list:
            self.assertIsInstance(info, limit_exc.OverLimitInfo)

    def test_a_project_deleted_in_keystone_is_project_over_limit(self):
        """A growth refused in a project deleted in Keystone (409
        limits.project_deleted) is oslo.limit's ProjectOverLimit, as a
        service written for oslo.limit expects of any refusal (Nova
        turns it into TooManyInstances with str() of it, a 403); it was
        the client's ProjectDeleted alone, a 500 there. It is still the
        client's ProjectDeleted (the Nova hook's mapping), and lists the
        resources that would grow, their limit the project's usage."""
        detail = ('Project leaf was deleted in Keystone and is kept only '
                  'until the allocations below it are freed.')
        enf = self.enforcer(
            error(409, 'limits.project_deleted', detail=detail),
            report(cores={'own_limit': 8, 'subtree_limit': None,
                          'own_usage': 3, 'subtree_usage': 3}))
        exc = self.assertRaises(limit_exc.ProjectOverLimit, enf.enforce,
                                'leaf', {'cores': 2, 'ram': 0, 'gpus': 1})
        self.assertIsInstance(exc, limits.ProjectDeleted)
        self.assertEqual(detail, str(exc))
        self.assertEqual((409, 'limits.project_deleted', detail, 'req-1'),
                         (exc.status, exc.code, exc.detail, exc.request_id))
        self.assertEqual('leaf', exc.project_id)
        self.assertEqual(
            [('cores', 3, 3, 2, 'leaf', 'project'),
             ('gpus', 0, 0, 1, 'leaf', 'project')],
            [(i.resource_name, i.limit, i.current_usage, i.delta,
              i.project_id, i.scope) for i in exc.over_limit_info_list])
        for info in exc.over_limit_info_list:
            self.assertIsInstance(info, limit_exc.OverLimitInfo)
        self.assertEqual(('GET', '/v1/projects/leaf/usage?subtree=false'),
                         self.wire.path(1))

    def test_a_refused_reconciliation_is_project_over_limit(self):
        """With reconcile_usage, the service refuses to raise the usage
        of a project deleted in Keystone (409 limits.project_deleted):
        enforce() raises the same ProjectOverLimit, naming the count
        it could not record, and asks for no decision."""
        enf = self.enforcer(
            error(409, 'limits.project_deleted', detail='deleted'),
            report(cores={'own_limit': 8, 'subtree_limit': None,
                          'own_usage': 3, 'subtree_usage': 3},
                   ram={'own_limit': 8, 'subtree_limit': None,
                        'own_usage': 64, 'subtree_usage': 64}),
            callback=lambda project_id, names: {'cores': 5, 'ram': 32},
            reconcile=True)
        exc = self.assertRaises(limit_exc.ProjectOverLimit, enf.enforce,
                                'leaf', {'cores': 0, 'ram': 0})
        self.assertIsInstance(exc, limits.ProjectDeleted)
        self.assertEqual(
            [('cores', 3, 5, 0)],
            [(i.resource_name, i.limit, i.current_usage, i.delta)
             for i in exc.over_limit_info_list])
        self.assertEqual([('PUT', '/v1/usages/leaf'),
                          ('GET', '/v1/projects/leaf/usage?subtree=false')],
                         [self.wire.path(n) for n in range(2)])
        self.assertEqual(2, len(self.wire.sent))

    def test_a_project_not_known_yet_is_project_over_limit(self):
        """A growth in a project the service does not know yet (created
        in Keystone a moment ago, not copied yet: 404
        limits.project_not_found) is oslo.limit's ProjectOverLimit, what
        a service written for oslo.limit catches (Nova answers 403 with
        str() of it); it was the client's NotFound alone, a 500 there on
        the first boot of a new project. It is still the client's
        NotFound, says to try again, and lists the resources that would
        grow, with limit and usage 0. A check of nothing more goes on."""
        enf = self.enforcer(
            error(404, 'limits.project_not_found', detail='No project.'),
            error(404, 'limits.project_not_found', detail='No project.'))
        exc = self.assertRaises(limit_exc.ProjectOverLimit, enf.enforce,
                                'new', {'cores': 2, 'ram': 0, 'gpus': 1})
        self.assertIsInstance(exc, limits.NotFound)
        self.assertEqual((404, 'limits.project_not_found', 'No project.'),
                         (exc.status, exc.code, exc.detail))
        self.assertEqual(
            'Project new is not known to the limits service yet (a '
            'project created in Keystone a moment ago is copied to it '
            'within seconds): try again in a moment.', str(exc))
        self.assertEqual('new', exc.project_id)
        self.assertEqual(
            [('cores', 0, 0, 2, 'new', 'project'),
             ('gpus', 0, 0, 1, 'new', 'project')],
            [(i.resource_name, i.limit, i.current_usage, i.delta,
              i.project_id, i.scope) for i in exc.over_limit_info_list])
        self.assertIsNone(enf.enforce('new', {'cores': 0, 'ram': -1}))
        self.assertEqual(2, len(self.wire.sent))

    def test_a_reconciliation_in_a_project_not_known_yet(self):
        """With reconcile_usage, the reconciliation is what finds the
        project unknown: the same ProjectOverLimit, with the count the
        service could not record, and no decision asked."""
        enf = self.enforcer(
            error(404, 'limits.project_not_found'),
            callback=lambda project_id, names: {'cores': 3}, reconcile=True)
        exc = self.assertRaises(limit_exc.ProjectOverLimit, enf.enforce,
                                'new', {'cores': 1})
        self.assertIsInstance(exc, limits.NotFound)
        self.assertEqual([('cores', 0, 3, 1)], [
            (i.resource_name, i.limit, i.current_usage, i.delta)
            for i in exc.over_limit_info_list])
        self.assertEqual([('PUT', '/v1/usages/new')],
                         [self.wire.path(n) for n in range(1)])
        self.assertEqual(1, len(self.wire.sent))

    def test_other_not_found_is_raised_as_it_is(self):
        enf = self.enforcer(error(404, 'limits.not_found'))
        exc = self.assertRaises(limits.NotFound, enf.enforce, 'leaf',
                                {'cores': 1})
        self.assertNotIsInstance(exc, limit_exc.ProjectOverLimit)

    def test_negative_deltas_are_sent_as_zero(self):
        enf = self.enforcer(answer(True))
        enf.enforce('leaf', {'cores': -2, 'ram': 5})
        self.assertEqual({'cores': 0, 'ram': 5},
                         self.wire.body()['resources'])

    def test_boolean_deltas_are_integers_as_in_oslo_limit(self):
        # oslo.limit takes a bool for an int (True is 1); the service's
        # schema refuses JSON booleans, so True was a 400 ClientError.
        enf = self.enforcer(answer(True))
        enf.enforce('leaf', {'cores': True, 'ram': False})
        resources = self.wire.body()['resources']
        self.assertEqual({'cores': 1, 'ram': 0}, resources)
        self.assertNotIsInstance(resources['cores'], bool)

    def test_input_checks_as_oslo_limit(self):
        enf = self.enforcer()
        for project_id, deltas in ((None, {'cores': 1}), ('', {'cores': 1}),
                                   (1, {'cores': 1}), ('p', {}),
                                   ('p', []), ('p', {1: 1}),
                                   ('p', {'cores': 1.5})):
            self.assertRaises(ValueError, enf.enforce, project_id, deltas)
        self.assertRaises(ValueError, enf.calculate_usage, 'p', [])
        self.assertRaises(ValueError, enf.calculate_usage, 'p', [1])
        self.assertRaises(ValueError, enf.calculate_usage, 'p', None)
        self.assertEqual([], self.wire.sent)
        self.assertRaises(ValueError, enforcer.Enforcer, None,
                          client=object(), reconcile_usage=False)

    def test_reconcile_counts_then_enforces(self):
        calls = []

        def count(project_id, names):
            calls.append((project_id, names))
            return {'cores': 7, 'ram': 100, 'unasked': 1}

        enf = self.enforcer(
            (200, {'project_id': 'leaf', 'adjusted': {}}), answer(True),
            callback=count, reconcile=True)
        enf.enforce('leaf', {'ram': 1, 'cores': 1, 'gpus': 1})
        self.assertEqual([('leaf', ['cores', 'gpus', 'ram'])], calls)
        self.assertEqual(('PUT', '/v1/usages/leaf'), self.wire.path(0))
        self.assertEqual({'resources': {'cores': 7, 'ram': 100}},
                         self.wire.body(0))
        self.assertEqual(('POST', '/v1/enforce'), self.wire.path(1))

    def test_reconcile_option_read_from_conf(self):
        conf = cfg.ConfigOpts()
        conf([])
        enforcer.register_opts(conf)
        conf.set_override('reconcile_usage', True, limits.GROUP)
        enf = enforcer.Enforcer(lambda p, n: {}, client=object(), conf=conf)
        self.assertTrue(enf.reconcile_usage)

    def test_calculate_usage_and_limits(self):
        enf = self.enforcer(
            report(cores={'own_limit': 8, 'subtree_limit': None,
                          'own_usage': 3, 'subtree_usage': 3}),
            registered(20, -1),
            report(cores={'own_limit': 8, 'subtree_limit': 12,
                          'own_usage': 3, 'subtree_usage': 5}),
            registered())
        usage = enf.calculate_usage('leaf', ['cores', 'ram'])
        self.assertEqual({'cores': (8, 3), 'ram': (20, 0)}, usage)
        self.assertEqual(3, usage['cores'].usage)
        self.assertEqual(8, usage['cores'].limit)
        self.assertEqual(
            ('GET', '/v1/registered_limits?resource_name=ram'),
            self.wire.path(1))
        self.assertEqual([('gpus', 0), ('cores', 8)],
                         enf.get_project_limits('leaf', ['gpus', 'cores']))

    def test_registered_limits(self):
        enf = self.enforcer(registered(-1), registered(5, 3), registered())
        self.assertEqual([('a', -1), ('b', 3), ('c', 0)],
                         enf.get_registered_limits(['a', 'b', 'c']))

    def test_enforcer_class_by_configuration(self):
        conf = cfg.ConfigOpts()
        conf([])
        self.assertEqual('oslo_limit.limit',
                         enforcer.enforcer_class(conf).__module__)
        conf.set_override('enabled', True, limits.GROUP)
        self.assertIs(enforcer.Enforcer, enforcer.enforcer_class(conf))

    def test_session_and_endpoint_from_arguments(self):
        enf = enforcer.Enforcer(lambda p, n: {}, session=self.transport(
            answer(True)), endpoint_override=URL,
            additional_headers={'X-Roles': 'service'},
            reconcile_usage=False)
        enf.enforce('leaf', {'cores': 1})
        self.assertEqual(URL + '/v1/enforce', self.wire.sent[0].url)
        self.assertEqual('service', self.wire.sent[0].headers['X-Roles'])

    def test_list_opts(self):
        [(group, opts)] = enforcer.list_opts()
        names = [opt.dest for opt in opts]
        self.assertEqual('arbiter_limits', group)
        for name in ('enabled', 'reconcile_usage', 'endpoint_override',
                     'service_type', 'auth_type', 'auth_url', 'cafile'):
            self.assertIn(name, names)
        self.assertEqual(len(names), len(set(names)))
