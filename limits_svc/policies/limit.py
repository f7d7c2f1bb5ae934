"""Policies of /v1/registered_limits and /v1/limits."""

from limits_svc.policies import base


def _crud(kind, path, what):
    item = path + '/{limit_id}'
    return [
        base.rule('%s:list' % kind, base.READER_OR_SERVICE,
                  'List %s.' % what, 'GET', path),
        base.rule('%s:get' % kind, base.READER_OR_SERVICE,
                  'Show one of the %s.' % what, 'GET', item),
        base.rule('%s:create' % kind, base.ADMIN,
                  'Create one of the %s (local mode).' % what, 'POST', path,
                  ['system']),
        base.rule('%s:update' % kind, base.ADMIN,
                  'Change one of the %s (local mode).' % what, 'PATCH', item,
                  ['system']),
        base.rule('%s:delete' % kind, base.ADMIN,
                  'Delete one of the %s (local mode).' % what, 'DELETE',
                  item, ['system']),
    ]


def list_rules():
    return (_crud('registered_limit', '/v1/registered_limits',
                  'registered (default) limits') +
            _crud('limit', '/v1/limits', 'project limits'))
