"""REST clients of the limits service over keystoneauth1 sessions.

:mod:`limits_svc.clients.limits` is the allocation client that hooks use;
:mod:`limits_svc.clients.enforcer` is an oslo.limit-compatible ``Enforcer``
built on it.
"""
