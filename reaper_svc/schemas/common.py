"""Schema pieces the preemption API's resources share."""

from svc_common.schemas import parameter_types
from svc_common.schemas import response_types

#: A Placement resource class: standard (``VCPU``) or custom
#: (``CUSTOM_GPU``).
RESOURCE_CLASS = '^[A-Z0-9_]{1,255}$'

#: ``{resource class: amount}`` of one server, as a request gives it.
RESOURCES = {
    'type': 'object', 'minProperties': 1, 'maxProperties': 32,
    'patternProperties': {RESOURCE_CLASS: parameter_types.AMOUNT},
    'additionalProperties': False,
}

#: A flavor, named as the cloud driver knows it (Nova's flavor name or
#: ID).
FLAVOR = {'type': 'string', 'minLength': 1, 'maxLength': 255,
          'pattern': '^[^\\x00-\\x1f\\x7f-\\x9f]+$'}

#: A trait (``HW_CPU_X86_AVX2``, ``CUSTOM_...``).
TRAIT = {'type': 'string', 'pattern': '^[A-Z0-9_]{1,255}$'}

#: An aggregate or availability zone name.
ZONE = {'type': 'string', 'minLength': 1, 'maxLength': 255,
        'pattern': '^[^\\x00-\\x1f\\x7f-\\x9f]+$'}

#: A filter on a list whose values are plain words.
WORD = {'type': 'string', 'maxLength': 64,
        'pattern': '^[A-Za-z0-9_.:-]*$'}

#: The request an action or a plan makes room for, as stored.
RESPONSE_REQUEST = response_types.obj({
    'resources': response_types.AMOUNTS,
    'count': {'type': 'integer'},
    'hosts': {'type': ['array', 'null'], 'items': {'type': 'string'}},
    'aggregates': {'type': ['array', 'null'], 'items': {'type': 'string'}},
    'availability_zone': response_types.NULLABLE_STRING,
    'required_traits': {'type': 'array', 'items': {'type': 'string'}},
    'forbidden_traits': {'type': 'array', 'items': {'type': 'string'}},
}, optional=('hosts', 'aggregates', 'availability_zone',
             'required_traits', 'forbidden_traits'))
