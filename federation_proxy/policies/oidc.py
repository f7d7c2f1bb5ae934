"""Policy of the OIDC provider.

Only the authorization endpoint is behind a Keystone token (or, with
``noauth``, ``X-User-Id``): it issues a code for the person the token
names, who must be a person the proxy knows.  The other endpoints of
the provider authenticate their callers themselves (client secrets,
bearer access tokens) and have no rule.
"""

from federation_proxy.policies import community
from federation_proxy import service
from svc_common import policy


def list_rules():
    return [policy.rule(
        service.SPEC.namespace, 'oidc:authorize', community.IS_USER,
        'Authorize a relying party to obtain tokens for yourself (any '
        'person known to the proxy).', [('GET', '/oidc/authorize')],
        policy.ANY_SCOPE)]
