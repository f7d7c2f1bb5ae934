"""Policy of the OIDC provider.

The provider has no rule.  Its endpoints authenticate their callers
themselves (client secrets, bearer access tokens), and the authorization
endpoint acts for the person of the proxy session only: a person the
proxy knows, by construction (see :mod:`federation_proxy.api.oidc`).
The module stays so that a rule can be added where it belongs.
"""


def list_rules():
    return []
