"""The engine process every service can have: see
:mod:`svc_common.engine.runner` (listeners, periodic tasks, graceful stop)
and :mod:`svc_common.engine.leadership` (tooz leader election)."""
