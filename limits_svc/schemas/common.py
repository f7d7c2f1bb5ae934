"""Schema pieces shared by limits_svc's request bodies."""

ID = {'type': 'string', 'minLength': 1, 'maxLength': 64,
      'pattern': '^[A-Za-z0-9_.:@-]+$'}
NULLABLE_ID = {'anyOf': [ID, {'type': 'null'}]}
RESOURCE_NAME = {'type': 'string', 'minLength': 1, 'maxLength': 255,
                 'pattern': '^[A-Za-z0-9_.:/-]+$'}
LIMIT_VALUE = {'type': 'integer', 'minimum': -1, 'maximum': 2 ** 62}
DESCRIPTION = {'anyOf': [{'type': 'string', 'maxLength': 2048},
                         {'type': 'null'}]}
RESOURCES = {'type': 'object',
             'propertyNames': RESOURCE_NAME,
             'additionalProperties': {'type': 'integer', 'minimum': 0,
                                      'maximum': 2 ** 62},
             'maxProperties': 100}
