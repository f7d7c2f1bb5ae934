"""Policies of the proxy's registries: upstream IdPs and relying-party
clients.  Both are the operator's: system admins change them, system
readers read them, and no VO role reaches them."""

from federation_proxy.policies import community
from svc_common import personas
from svc_common import policy


def _registry(kind, collection, what):
    path = '/v1/%s' % collection
    item = path + '/{%s_id}' % kind

    def rule(action, check, description, operations):
        return community._rule('%s:%s' % (kind, action), check, description,
                               operations, policy.SYSTEM_SCOPE)

    admin = personas.RULE_SYSTEM_ADMIN
    reader = personas.RULE_SYSTEM_READER
    return [
        rule('list', reader, 'List %s.' % what, [('GET', path)]),
        rule('get', reader, 'Show one of the %s.' % what, [('GET', item)]),
        rule('create', admin, 'Register one of the %s.' % what,
             [('POST', path)]),
        rule('update', admin, 'Change one of the %s.' % what,
             [('PATCH', item)]),
        rule('delete', admin, 'Remove one of the %s.' % what,
             [('DELETE', item)]),
    ]


def list_rules():
    return (_registry('idp', 'idps', 'the upstream identity providers') +
            _registry('client', 'clients',
                      'the relying-party clients of the OIDC provider'))
