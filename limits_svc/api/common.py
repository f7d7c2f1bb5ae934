"""What every limits_svc controller does the same way."""

import pecan

from svc_common import errors
from svc_common import policy


def authorize(action, target=None, hide_outside=True):
    req = pecan.request
    policy.authorize(req.enforcer, req.context, 'limits:%s' % action,
                     target, hide_outside=hide_outside)


def reader():
    return pecan.request.db.reader.using(pecan.request.context)


def writer():
    return pecan.request.db.writer.using(pecan.request.context)


def require_local_mode(what):
    """Projects and limits are Keystone's in ``keystone`` mode."""
    if pecan.request.conf.limits.mode != 'local':
        raise errors.Conflict(
            '%s come from Keystone in keystone mode; change them there.'
            % what, code='managed_by_keystone')


def created(body):
    pecan.response.status = 201
    return body


def no_content():
    pecan.response.status = 204


def isoformat(value):
    return value.isoformat() + 'Z' if value is not None else None


def visible_project(ctx):
    """The one project a caller may list; None (all) for system-scoped
    callers and for services, whose token is scoped to their own service
    project."""
    if ctx.system_scope == 'all' or 'service' in ctx.roles:
        return None
    return ctx.project_id
