"""What the reaper reads in the notifications a real Nova 34 sent
(samples/nova34_novalidhost_delete.json), and in those of a multi-create
shaped as Nova's conductor sends them."""

import copy
import json
import os

import testtools

from reaper_svc import nova_notifications as nn

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
