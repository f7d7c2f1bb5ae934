"""Policies of families, their members and their latest image.

Targets: a project's family targets its project; a system-owned family
the whole system.  Reads of a public family target the caller's own view
(any reader may read it), as lists do.
"""

from image_family_svc import service
from svc_common import personas
from svc_common import policy

NS = service.SPEC.namespace
PATH = '/v1/families'
ITEM = '/v1/families/{family_name}'
IMAGES = ITEM + '/images'

#: Who changes a family: a cloud administrator for system-owned (public)
#: families, a member of the owning project for the project's own.
RULE_FAMILY_MANAGER = '%s or %s' % (personas.RULE_SYSTEM_ADMIN,
                                    personas.RULE_PROJECT_MEMBER)


def list_rules():
    return [
        policy.rule(NS, 'family:list', personas.RULE_READER_OR_SERVICE,
                    'List the image families the caller may see (public '
                    'ones and its project\'s).', [('GET', PATH)],
                    policy.ANY_SCOPE),
        policy.rule(NS, 'family:get', personas.RULE_READER_OR_SERVICE,
                    'Show an image family.', [('GET', ITEM)],
                    policy.ANY_SCOPE),
        policy.rule(NS, 'family:create', RULE_FAMILY_MANAGER,
                    'Create an image family: system-owned public ones by '
                    'a cloud administrator, a project\'s by its members.',
                    [('POST', PATH)], policy.ANY_SCOPE),
        policy.rule(NS, 'family:update', RULE_FAMILY_MANAGER,
                    'Change an image family\'s description, visibility, '
                    'required properties or retention.',
                    [('PATCH', ITEM)], policy.ANY_SCOPE),
        policy.rule(NS, 'family:delete', RULE_FAMILY_MANAGER,
                    'Delete an image family without images.',
                    [('DELETE', ITEM)], policy.ANY_SCOPE),
        policy.rule(NS, 'family:latest', personas.RULE_READER_OR_SERVICE,
                    'Show the latest image of a family (default or beta '
                    'channel).', [('GET', ITEM + '/latest')],
                    policy.ANY_SCOPE),
        policy.rule(NS, 'family:image:list', personas.RULE_READER_OR_SERVICE,
                    'List the images of a family with their states and '
                    'dates.', [('GET', IMAGES)], policy.ANY_SCOPE),
        policy.rule(NS, 'family:image:add', RULE_FAMILY_MANAGER,
                    'Add an image to a family (its properties are checked '
                    'against the family\'s schema).', [('POST', IMAGES)],
                    policy.ANY_SCOPE),
        policy.rule(NS, 'family:image:remove', RULE_FAMILY_MANAGER,
                    'Take an image out of its family.',
                    [('DELETE', IMAGES + '/{image_id}')], policy.ANY_SCOPE),
    ]
