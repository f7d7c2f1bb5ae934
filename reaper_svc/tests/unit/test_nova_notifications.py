"""What the reaper reads in the notifications a real Nova 34 sent
(samples/nova34_novalidhost_delete.json), and in those of a multi-create
shaped as Nova's conductor sends them."""

import copy
import json
import os

import oslo_messaging
import testtools

from reaper_svc.cmd import engine
from reaper_svc import nova_notifications as nn
from svc_common.messaging import idempotency

SAMPLES = os.path.join(os.path.dirname(__file__), 'samples',
                       'nova34_novalidhost_delete.json')


def samples():
    with open(SAMPLES) as source:
        return {m['event_type']: m['payload'] for m in json.load(source)}


def multi_create(event_type, count):
    """The ``count`` failures Nova sends for one boot of ``count``
    servers: one per instance, each with the boot's (the first
    instance's) request spec (nova.conductor.manager._bury_in_cell0
    passes ``request_specs[0]`` for every instance)."""
    payloads = []
    for index in range(count):
        payload = copy.deepcopy(samples()[event_type])
        instance = '00000000-0000-0000-0000-%012d' % index
        if event_type == nn.VERSIONED_FAILURE:
            data = payload['nova_object.data']
            spec = data['request_spec']['nova_object.data']
            data['instance_uuid'] = instance
            spec['instance_uuid'] = '00000000-0000-0000-0000-%012d' % 0
            spec['num_instances'] = count
        else:
            payload['instance_id'] = instance
            payload['request_spec']['num_instances'] = count
            payload['request_spec']['instance_properties']['uuid'] = (
                '00000000-0000-0000-0000-%012d' % 0)
        payloads.append(payload)
    return payloads


class TestSchedulingFailure(testtools.TestCase):

    def test_versioned_novalidhost(self):
        failure = nn.scheduling_failure(nn.VERSIONED_FAILURE,
                                        samples()[nn.VERSIONED_FAILURE])
        self.assertEqual(
            ('e415390a-8655-47c9-b715-e5076718ca1f',
             'e415390a-8655-47c9-b715-e5076718ca1f', 1),
            (failure.instance_uuid, failure.boot_id, failure.count))
        self.assertTrue(failure.resources['VCPU'] > 0)

    def test_legacy_and_versioned_are_one_boot(self):
        legacy = nn.scheduling_failure(nn.LEGACY_FAILURE,
                                       samples()[nn.LEGACY_FAILURE])
        versioned = nn.scheduling_failure(nn.VERSIONED_FAILURE,
                                          samples()[nn.VERSIONED_FAILURE])
        self.assertEqual(versioned.boot_id, legacy.boot_id)
        self.assertEqual(versioned.resources, legacy.resources)

    def test_the_failures_of_a_multi_create_name_one_boot(self):
        for event_type in (nn.VERSIONED_FAILURE, nn.LEGACY_FAILURE):
            failures = [nn.scheduling_failure(event_type, payload)
                        for payload in multi_create(event_type, 3)]
            self.assertEqual(3, len({f.instance_uuid for f in failures}))
            self.assertEqual({'00000000-0000-0000-0000-%012d' % 0},
                             {f.boot_id for f in failures})
            self.assertEqual({3}, {f.count for f in failures})

    def test_forced_hosts(self):
        payload = copy.deepcopy(samples()[nn.VERSIONED_FAILURE])
        spec = payload['nova_object.data']['request_spec'][
            'nova_object.data']
        self.assertIsNone(nn.scheduling_failure(
            nn.VERSIONED_FAILURE, payload).hosts)
        spec['force_hosts'] = 'cmp3'
        self.assertEqual(frozenset(['cmp3']), nn.scheduling_failure(
            nn.VERSIONED_FAILURE, payload).hosts)
        spec['force_hosts'] = None
        spec['requested_destination'] = {
            'nova_object.name': 'DestinationPayload',
            'nova_object.data': {'host': 'cmp2', 'node': 'cmp2.example.org',
                                 'aggregates': None}}
        self.assertEqual(frozenset(['cmp2', 'cmp2.example.org']),
                         nn.scheduling_failure(nn.VERSIONED_FAILURE,
                                               payload).hosts)

    def test_flavor_traits(self):
        payload = copy.deepcopy(samples()[nn.VERSIONED_FAILURE])
        flavor = payload['nova_object.data']['request_spec'][
            'nova_object.data']['flavor']['nova_object.data']
        flavor['extra_specs'] = {'trait:HW_CPU_X86_AVX2': 'required',
                                 'trait:CUSTOM_GPU': 'forbidden'}
        failure = nn.scheduling_failure(nn.VERSIONED_FAILURE, payload)
        self.assertEqual((frozenset(['HW_CPU_X86_AVX2']),
                          frozenset(['CUSTOM_GPU'])),
                         (failure.required_traits, failure.forbidden_traits))

    def test_other_reasons_are_no_failure(self):
        payload = copy.deepcopy(samples()[nn.VERSIONED_FAILURE])
        payload['nova_object.data']['reason']['nova_object.data'][
            'exception'] = 'MaxRetriesExceeded'
        self.assertIsNone(nn.scheduling_failure(nn.VERSIONED_FAILURE,
                                                payload))
        legacy = dict(samples()[nn.LEGACY_FAILURE], reason='Timeout')
        self.assertIsNone(nn.scheduling_failure(nn.LEGACY_FAILURE, legacy))
        self.assertIsNone(nn.scheduling_failure(
            'instance.update', samples()[nn.VERSIONED_FAILURE]))

    def test_deleted_instance(self):
        uuid = nn.deleted_instance('instance.delete.end',
                                   samples()['instance.delete.end'])
        self.assertTrue(uuid)
        self.assertIsNone(nn.deleted_instance(
            'instance.update', samples()['instance.delete.end']))


def _versioned(change):
    """The sample versioned failure with ``change(data, spec, flavor)``
    applied."""
    payload = copy.deepcopy(samples()[nn.VERSIONED_FAILURE])
    data = payload['nova_object.data']
    spec = data['request_spec']['nova_object.data']
    change(data, spec, spec['flavor']['nova_object.data'])
    return payload


def _legacy(change):
    payload = copy.deepcopy(samples()[nn.LEGACY_FAILURE])
    spec = payload['request_spec']
    change(payload, spec, spec['instance_type'])
    return payload


class TestMalformed(testtools.TestCase):
    """Payloads of the types the reaper reads but not of Nova's shape
    raise MalformedNotification, which the engine acknowledges; before,
    they raised AttributeError, TypeError or ValueError, which
    oslo.messaging requeues (and RabbitMQ redelivers at once, for
    ever)."""

    def test_failures_of_the_wrong_shape(self):
        def setter(where, key, value):
            def change(data, spec, flavor):
                {'data': data, 'spec': spec, 'flavor': flavor}[where][
                    key] = value
            return change

        cases = {
            'payload a string': (nn.VERSIONED_FAILURE, 'garbage'),
            'payload a list': (nn.LEGACY_FAILURE, ['x']),
            'request_spec a string': (nn.VERSIONED_FAILURE, _versioned(
                setter('data', 'request_spec', 'spec'))),
            'flavor a list': (nn.VERSIONED_FAILURE, _versioned(
                setter('spec', 'flavor', [1, 2]))),
            'vcpus a string': (nn.VERSIONED_FAILURE, _versioned(
                setter('flavor', 'vcpus', '4'))),
            'memory negative': (nn.VERSIONED_FAILURE, _versioned(
                setter('flavor', 'memory_mb', -512))),
            'root_gb a float': (nn.VERSIONED_FAILURE, _versioned(
                setter('flavor', 'root_gb', 1.5))),
            'extra_specs a list': (nn.VERSIONED_FAILURE, _versioned(
                setter('flavor', 'extra_specs', ['trait:X']))),
            'extra spec value a list': (nn.VERSIONED_FAILURE, _versioned(
                setter('flavor', 'extra_specs', {'trait:X': ['required']}))),
            'num_instances a string': (nn.VERSIONED_FAILURE, _versioned(
                setter('spec', 'num_instances', 'three'))),
            'instance uuid a number': (nn.VERSIONED_FAILURE, _versioned(
                setter('data', 'instance_uuid', 12345))),
            'instance uuid too long': (nn.VERSIONED_FAILURE, _versioned(
                setter('data', 'instance_uuid', 'u' * 256))),
            # The boot's id (the action's trigger id) when the
            # instance's own uuid is well formed: taken unchecked.
            'request spec uuid an object': (nn.VERSIONED_FAILURE,
                                            _versioned(setter(
                                                'spec', 'instance_uuid',
                                                {'id': 'u'}))),
            'request spec uuid too long': (nn.VERSIONED_FAILURE, _versioned(
                setter('spec', 'instance_uuid', 'u' * 256))),
            'legacy properties uuid a number': (nn.LEGACY_FAILURE, _legacy(
                lambda data, spec, flavor: spec['instance_properties']
                .update(uuid=7))),
            'project_id an object': (nn.VERSIONED_FAILURE, _versioned(
                setter('spec', 'project_id', {'id': 'p'}))),
            'project_id too long': (nn.VERSIONED_FAILURE, _versioned(
                setter('spec', 'project_id', 'p' * 65))),
            'force_hosts a list': (nn.VERSIONED_FAILURE, _versioned(
                setter('spec', 'force_hosts', ['cmp1']))),
            'legacy swap a string': (nn.LEGACY_FAILURE, _legacy(
                setter('flavor', 'swap', 'big'))),
            'legacy instance_type a string': (nn.LEGACY_FAILURE, _legacy(
                setter('spec', 'instance_type', 'm1.tiny'))),
        }
        for label, (event_type, payload) in sorted(cases.items()):
            self.assertRaises(nn.MalformedNotification,
                              nn.scheduling_failure, event_type, payload)

    def test_deletes_of_the_wrong_shape(self):
        for payload in ('garbage', [1], {'nova_object.data': 'x'},
                        {'nova_object.data': {'uuid': ['a']}},
                        {'instance_id': 7}, {'uuid': 'u' * 256}):
            self.assertRaises(nn.MalformedNotification,
                              nn.deleted_instance, 'instance.delete.end',
                              payload)

    def test_other_event_types_are_not_read(self):
        self.assertIsNone(nn.scheduling_failure('instance.update', 'x'))
        self.assertIsNone(nn.deleted_instance('instance.update', 'x'))

    def test_nova_shapes_still_read(self):
        # What Nova leaves empty is not malformed.
        failure = nn.scheduling_failure(nn.VERSIONED_FAILURE, _versioned(
            lambda data, spec, flavor: flavor.update(
                swap=None, ephemeral_gb=None, extra_specs=None)))
        self.assertEqual(1, failure.resources['VCPU'])
        self.assertIsNone(nn.scheduling_failure(nn.VERSIONED_FAILURE, None))
        self.assertIsNone(nn.deleted_instance('instance.delete.end', None))


class _Reaper(object):
    def __init__(self):
        self.calls = []

    def handle_failure(self, failure):
        self.calls.append(('failure', failure.instance_uuid))

    def server_deleted(self, server_id):
        self.calls.append(('deleted', server_id))


class TestEngineEndpoint(testtools.TestCase):

    def test_malformed_notification_is_acknowledged(self):
        reaper = _Reaper()
        endpoint = engine.NovaEndpoint(
            reaper, idempotency.InMemoryProcessedMessages())
        payload = _versioned(lambda data, spec, flavor: flavor.update(
            vcpus='4'))
        with self.assertLogs(engine.LOG.logger, 'WARNING') as logs:
            result = endpoint.error({}, 'nova-conductor:ctl',
                                    nn.VERSIONED_FAILURE, payload,
                                    {'message_id': 'm-1'})
        self.assertNotEqual(oslo_messaging.NotificationResult.REQUEUE,
                            result)
        self.assertIn('malformed', logs.output[0])
        self.assertEqual([], reaper.calls)
        # A well-formed one is still acted on.
        endpoint.error({}, 'nova-conductor:ctl', nn.VERSIONED_FAILURE,
                       samples()[nn.VERSIONED_FAILURE],
                       {'message_id': 'm-2'})
        self.assertEqual(
            [('failure', 'e415390a-8655-47c9-b715-e5076718ca1f')],
            reaper.calls)

    def test_message_ids_that_cannot_be_recorded(self):
        self.assertIsNone(nn.message_id({}))
        self.assertIsNone(nn.message_id(None))
        self.assertEqual('m-1', nn.message_id({'message_id': 'm-1'}))
        for metadata in ({'message_id': ['m']}, {'message_id': 7},
                         {'message_id': ''}, 'm-1',
                         {'message_id': 'm' * (nn.MAX_MESSAGE_ID_LENGTH
                                               + 1)}):
            self.assertRaises(nn.MalformedNotification, nn.message_id,
                              metadata)
