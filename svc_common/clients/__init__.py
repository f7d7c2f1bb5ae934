"""REST clients of Arbiter services: :mod:`svc_common.clients.rest`."""
