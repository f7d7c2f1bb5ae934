"""Policies of /v1/allocations and /v1/enforce."""

from limits_svc.policies import base

PATH = '/v1/allocations'
ITEM = '/v1/allocations/{consumer_id}'


def list_rules():
    return [
        base.rule('allocation:list', base.READER_OR_SERVICE,
                  'List allocations (project readers: their own '
                  'project\'s).', 'GET', PATH),
        base.rule('allocation:get', base.READER_OR_SERVICE,
                  'Show a consumer\'s allocation.', 'GET', ITEM),
        base.rule('allocation:put', base.ADMIN_OR_SERVICE,
                  'Allocate, replace or confirm a consumer\'s allocation.',
                  'PUT', ITEM),
        base.rule('allocation:delete', base.ADMIN_OR_SERVICE,
                  'Free a consumer\'s allocation.', 'DELETE', ITEM),
        base.rule('enforce', base.CHECKER,
                  'Dry-run an allocation: would it fit every limit?',
                  'POST', '/v1/enforce'),
    ]
