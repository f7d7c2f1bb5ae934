"""What every service's controllers do the same way.

The helpers read what the hooks of :mod:`svc_common.api.hooks` left on
``pecan.request``: the caller's ``context``, the service's ``spec`` (whose
``namespace`` prefixes every rule name), ``enforcer`` and ``db``.

:func:`authorize` takes the target the request acts on, always: a
project-scoped rule is only as good as the project it is checked against.
"""

import pecan

from svc_common import isotime
from svc_common import policy


def authorize(action, target, not_found=None):
    """Check rule ``<namespace>:<action>`` on ``target`` for the caller.

    :param target: :data:`svc_common.policy.SYSTEM` or
        :func:`svc_common.policy.project_target`; required.
    :param not_found: the error the handler raises when the object does
        not exist; raised instead of a 403 when the target is another
        project's, so that the caller cannot tell the two apart.  See
        :func:`svc_common.policy.authorize`.
    """
    req = pecan.request
    policy.authorize(req.enforcer, req.context,
                     '%s:%s' % (req.spec.namespace, action), target,
                     not_found=not_found)


def reader():
    """A read transaction of the service's database, for ``with``."""
    return pecan.request.db.reader.using(pecan.request.context)


def writer():
    """A write transaction of the service's database, for ``with``."""
    return pecan.request.db.writer.using(pecan.request.context)


def created(body):
    """Answer 201 with ``body``."""
    pecan.response.status = 201
    return body


def no_content():
    """Answer 204 without a body."""
    pecan.response.status = 204


def isoformat(value):
    """A naive UTC ``datetime`` (or None) as an ISO 8601 string with Z,
    in whole seconds: every service's answers write times so
    (:func:`svc_common.isotime.isoformat`)."""
    return isotime.isoformat(value)


def visible_project(ctx=None):
    """The one project whose objects the caller may list, or None for all
    (see :func:`svc_common.policy.visible_project`): a list filters on it
    whatever a ``project_id`` filter asks for."""
    return policy.visible_project(ctx or pecan.request.context)


def list_target(project_id=None, ctx=None):
    """The policy target of a list or of something every project shares.

    The caller's :func:`visible_project` when there is one; otherwise the
    project the request filters on, if it does; otherwise
    :data:`svc_common.policy.SYSTEM`.
    """
    project_id = visible_project(ctx) or project_id
    if not project_id:
        return policy.SYSTEM
    return policy.project_target(project_id)
