"""Schema pieces shared by limits_svc's request bodies.

They are svc_common's (:mod:`svc_common.schemas.parameter_types`), where
the rules about hostile input live; this module only names the ones the
limits API uses.
"""

from svc_common.schemas import parameter_types

#: Project, consumer, service and region IDs: 1 to 64 characters out of
#: ``A-Z a-z 0-9 _ . : @ -``.
ID = parameter_types.id_string('A-Za-z0-9_.:@-', max_length=64)
NULLABLE_ID = parameter_types.nullable(ID)
#: Resource names: 1 to 255 characters out of ``A-Z a-z 0-9 _ . : / -``.
RESOURCE_NAME = parameter_types.id_string('A-Za-z0-9_.:/-', max_length=255)
NAME = parameter_types.NAME
LIMIT_VALUE = parameter_types.LIMIT_VALUE
DESCRIPTION = parameter_types.DESCRIPTION
RESOURCES = {'type': 'object',
             'propertyNames': RESOURCE_NAME,
             'additionalProperties': parameter_types.AMOUNT,
             'maxProperties': 100}
