"""Policy enforcement: one oslo.policy enforcer per service.

:func:`make_enforcer` builds the enforcer of a service from its rules (the
shared personas first) with scope checking and the new defaults turned on.
:func:`authorize` is what handlers call: a refused check becomes a 403, or a
404 when the target belongs to a project the caller cannot see, so that a
refusal never tells whether another project's object exists.
"""

from oslo_policy import policy as oslo_policy

from svc_common import config
from svc_common import errors


def make_enforcer(conf, rules, policy_file=None):
    """An ``oslo_policy.policy.Enforcer`` for one service.

    :param conf: the service's ``ConfigOpts``.
    :param rules: the service's ``RuleDefault`` list, personas included
        (see :func:`svc_common.personas.base_rules`).
    """
    enforcer = oslo_policy.Enforcer(conf, policy_file=policy_file)
    enforcer.register_defaults(rules)
    return enforcer


def _outside_scope(context, target):
    """True when a project-scoped caller targets another project."""
    owner = target.get('project_id')
    return (owner is not None and not context.system_scope and
            owner != context.project_id)


def authorize(enforcer, context, action, target=None, hide_outside=True):
    """Check ``action`` for ``context`` on ``target`` or raise an ApiError.

    :param target: dict of target attributes; defaults to the caller's own
        project, for actions on collections.
    :param hide_outside: answer 404 rather than 403 when the target belongs
        to a project outside the caller's scope.
    :raises errors.NotFound: refused, and the target is outside the caller's
        scope.
    :raises errors.Forbidden: refused otherwise (including a token of the
        wrong scope type).
    """
    if target is None:
        target = {'project_id': context.project_id}
    try:
        enforcer.authorize(action, target, context, do_raise=True)
    except oslo_policy.InvalidScope:
        raise errors.Forbidden(
            'A token of this scope cannot perform %s.' % action,
            code='wrong_scope')
    except oslo_policy.PolicyNotAuthorized:
        if hide_outside and _outside_scope(context, target):
            raise errors.NotFound('No such object.')
        raise errors.Forbidden('Policy does not allow %s.' % action,
                               code='forbidden')


def enforcer_for_tools(spec):
    """The enforcer the ``oslopolicy-*`` tools load through entry points.

    Those tools call the entry point without arguments, so this parses the
    service's config from its default files only.
    """
    conf = config.build_conf(spec)
    return make_enforcer(conf, spec.module('policies').list_rules())
