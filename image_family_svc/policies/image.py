"""Policies of images: their state, successor, transitions and usage.

The target is the image's family (see :mod:`.family`); the ``service``
role reads states and usage for the Nova and Glance hooks.
"""

from image_family_svc.policies import family
from image_family_svc import service
from svc_common import personas
from svc_common import policy

NS = service.SPEC.namespace
PATH = '/v1/images'
ITEM = '/v1/images/{image_id}'
TRANSITIONS = ITEM + '/transitions'


def list_rules():
    return [
        policy.rule(NS, 'image:list', personas.RULE_READER_OR_SERVICE,
                    'List images of the visible families (by default the '
                    'latest of each).', [('GET', PATH)], policy.ANY_SCOPE),
        policy.rule(NS, 'image:get', personas.RULE_READER_OR_SERVICE,
                    'Show an image\'s family, state, successor, the '
                    'family\'s latest, scheduled transitions and usage.',
                    [('GET', ITEM)], policy.ANY_SCOPE),
        policy.rule(NS, 'image:usage', personas.RULE_READER_OR_SERVICE,
                    'Show how many servers use an image.',
                    [('GET', ITEM + '/usage')], policy.ANY_SCOPE),
        policy.rule(NS, 'image:transition:list',
                    personas.RULE_READER_OR_SERVICE,
                    'Show an image\'s transitions: who, when, why.',
                    [('GET', TRANSITIONS)], policy.ANY_SCOPE),
        policy.rule(NS, 'image:transition:create',
                    family.RULE_FAMILY_MANAGER,
                    'Move an image to another state, now or at a time.',
                    [('POST', TRANSITIONS)], policy.ANY_SCOPE),
        policy.rule(NS, 'image:transition:delete',
                    family.RULE_FAMILY_MANAGER,
                    'Cancel a scheduled transition.',
                    [('DELETE', TRANSITIONS + '/{transition_id}')],
                    policy.ANY_SCOPE),
    ]
