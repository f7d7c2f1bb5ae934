"""/v1/projects: bodies of POST and PATCH, query of the list, answers
(a project, a page of projects, a usage report)."""

from limits_svc.schemas import common
from svc_common.schemas import parameter_types
from svc_common.schemas import response_types

CREATE = {
    'type': 'object',
    'properties': {
        'id': common.ID,
        'name': common.NAME,
        'parent_id': common.NULLABLE_ID,
        'domain_id': common.ID,
    },
    'required': ['id'],
    'additionalProperties': False,
}

UPDATE = {
    'type': 'object',
    'properties': {
        'name': common.NAME,
        'parent_id': common.NULLABLE_ID,
    },
    'minProperties': 1,
    'additionalProperties': False,
}

LIST_QUERY = {
    'type': 'object',
    'properties': dict(parameter_types.PAGINATION['properties'],
                       parent_id=common.ID),
}

# A path of ids (see limits_svc.db.tree.subtree_page): the report's
# project, then each project down to the last of the previous page.
# Each id as a marker may be (a project copied from Keystone may have
# characters the API's IDs do not), but for the /.
_ID_IN_PATH = '[^/\\x00-\\x1f\\x7f-\\x9f]{1,64}'
_MARKER_PATH = {
    'type': 'string',
    'maxLength': 65 * 129,
    'pattern': '^%s(/%s){1,128}$' % (_ID_IN_PATH, _ID_IN_PATH),
    'description': 'a path of project IDs joined by /, from the report\'s '
                   'project down to the last project of a page (as the '
                   'next links give it)',
}

# A project id: none holds a /.
_MARKER_ID = dict(parameter_types.PAGE_MARKER,
                  pattern='^[^/\\x00-\\x1f\\x7f-\\x9f]*$',
                  description='a project ID')


def _usage_query(marker):
    return {'type': 'object',
            'properties': dict(parameter_types.PAGINATION['properties'],
                               subtree={'type': 'boolean'}, marker=marker)}


#: The query, as the OpenAPI document gives it: the marker is a project
#: id, or the path the next links give.
USAGE_QUERY = _usage_query({'anyOf': [_MARKER_ID, _MARKER_PATH]})

#: The query as it is checked, by the marker's form (a path holds a /),
#: so that a refusal says what the marker misses.
USAGE_QUERY_OF_ID = _usage_query(_MARKER_ID)
USAGE_QUERY_OF_PATH = _usage_query(_MARKER_PATH)

PROJECT = response_types.obj({
    'id': {'type': 'string'},
    'name': response_types.NULLABLE_STRING,
    'parent_id': response_types.NULLABLE_STRING,
    'domain_id': {'type': 'string'},
    'created_at': response_types.TIMESTAMP,
    'updated_at': response_types.NULLABLE_TIMESTAMP,
    'left_keystone_at': response_types.NULLABLE_TIMESTAMP,
})

RESPONSE_PROJECT = response_types.member('project', PROJECT)
RESPONSE_PROJECTS = response_types.collection('projects', PROJECT)

_NULLABLE_INTEGER = {'type': ['integer', 'null']}

#: One project of a usage report, with each of its resources.
#: Limits and usage of one resource at one project.
RESOURCE_REPORT = response_types.obj({
    'own_limit': _NULLABLE_INTEGER,
    'subtree_limit': _NULLABLE_INTEGER,
    'own_usage': {'type': 'integer'},
    'subtree_usage': {'type': 'integer'},
})

USAGE_LEVEL = response_types.obj({
    'project_id': {'type': 'string'},
    'parent_id': response_types.NULLABLE_STRING,
    'depth': {'type': 'integer', 'minimum': 0},
    'resources': {'type': 'object',
                  'additionalProperties': RESOURCE_REPORT},
})

RESPONSE_USAGE = response_types.obj({
    'project_id': {'type': 'string'},
    'subtree': {'type': 'boolean'},
    'projects': {'type': 'array', 'items': USAGE_LEVEL},
    'links': response_types.LINKS,
})
