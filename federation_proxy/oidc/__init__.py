"""The proxy's OpenID Connect provider, without HTTP and without a
database: protocol checks (:mod:`.protocol`), signing keys and their
rotation (:mod:`.keys`), and the tokens it issues and accepts
(:mod:`.tokens`).  :mod:`federation_proxy.api.oidc` serves them and
:mod:`federation_proxy.db.oidc` keeps their state.
"""
