"""Option groups that every Arbiter service has."""
