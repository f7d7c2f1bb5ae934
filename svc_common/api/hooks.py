"""Pecan hooks: the cross-cutting state every handler gets.

``ContextHook`` builds the request's
:class:`~svc_common.context.RequestContext`;
``ServiceHook`` hands the handler its service's config, policy enforcer,
database and notifier.  There is no business logic here.
"""

import pecan.hooks

from svc_common import context


class ContextHook(pecan.hooks.PecanHook):
    """``request.context``: who is calling, from the identity headers."""

    priority = 10

    def before(self, state):
        state.request.context = context.from_environ(state.request.environ)


class ServiceHook(pecan.hooks.PecanHook):
    """``request.conf``, ``.enforcer``, ``.db``, ``.notifier``, ``.spec``."""

    priority = 20

    def __init__(self, spec, conf, enforcer, db, notifier=None):
        self._attrs = {'spec': spec, 'conf': conf, 'enforcer': enforcer,
                       'db': db, 'notifier': notifier}

    def before(self, state):
        for name, value in self._attrs.items():
            setattr(state.request, name, value)
