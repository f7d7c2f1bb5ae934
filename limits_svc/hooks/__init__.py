"""Code that runs inside other services (Nova) and calls limits_svc."""
