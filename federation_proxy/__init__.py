"""Federation proxy: upstream identity providers, virtual organisations
and an OIDC provider (federation)."""
