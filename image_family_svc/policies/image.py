"""Policies of images: their state, successor, transitions and usage.

The target is the image's family (see :mod:`.family`); the ``service``
role reads states and usage for the Nova and Glance hooks.  Who made a
transition and why is shown only to the family's owner by default
(``image:transition:show_actor``).
"""

from oslo_policy import policy as oslo_policy

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
                    'Show an image\'s transitions: what state, when.',
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
        # Not an operation of the API but what the answers of several
        # show (whose operations have their own rules): a plain
        # RuleDefault, so that the policy matrix and the OpenAPI document
        # keep one rule per operation.
        oslo_policy.RuleDefault(
            '%s:image:transition:show_actor' % NS, personas.RULE_ANY_READER,
            description='See who made an image\'s transitions, past and '
            'scheduled, and why: their user_id and reason, which are null '
            'for callers the rule refuses (they still see the states and '
            'times). Checked on the owner of the image\'s family: its '
            'project, or the system for a system-owned family. Applies '
            'wherever transitions are shown: GET %s and every view of an '
            'image (GET %s, GET %s, GET /v1/families/{family_name}/latest '
            'and /images).' % (TRANSITIONS, ITEM, PATH),
            scope_types=list(policy.ANY_SCOPE)),
    ]
