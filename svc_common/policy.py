"""Policy: the rule builder, the enforcer and the check every handler makes.

:func:`rule` builds a service's ``DocumentedRuleDefault`` in its namespace;
:func:`make_enforcer` builds the enforcer of a service from its rules (the
shared personas first) with scope checking and the new defaults turned on.
:func:`authorize` is the check: it takes an explicit target, either
:func:`project_target` (the project the request acts on or reads) or
:data:`SYSTEM` (the deployment as a whole), and refuses to run without
one, because a missing target silently becoming "the caller's own project"
is how a project-scoped rule ends up letting an admin of one project write
into another.
"""

import collections.abc
import logging
import time
import types

from oslo_config import cfg
from oslo_context import context as oslo_context
from oslo_policy import policy as oslo_policy

from svc_common import config
from svc_common import errors

#: The target of an action on the whole deployment (a list across projects,
#: a registered default, a root project): no project-scoped check string
#: matches it, since it names no ``project_id``.
SYSTEM = types.MappingProxyType({})

#: Values of ``scope_types``.
SYSTEM_SCOPE = ('system',)
ANY_SCOPE = ('system', 'project')


def rule(namespace, name, check_str, description, operations, scope_types):
    """A ``DocumentedRuleDefault`` named ``<namespace>:<name>``.

    :param operations: ``(method, path)`` pairs of the API calls the rule
        guards, e.g. ``[('GET', '/v1/widgets/{widget_id}')]``.
    :param scope_types: :data:`SYSTEM_SCOPE`, :data:`ANY_SCOPE` or another
        list of token scopes; required, so that every rule says it.
    """
    if not operations:
        raise ValueError('Rule %s:%s guards no operation.' % (namespace,
                                                              name))
    return oslo_policy.DocumentedRuleDefault(
        name='%s:%s' % (namespace, name), check_str=check_str,
        description=description, scope_types=list(scope_types),
        operations=[{'method': method, 'path': path}
                    for method, path in operations])


#: While a service has neither a policy file nor a policy directory, how
#: often (seconds) its enforcer looks for one again.
POLICY_SEARCH_INTERVAL = 1.0

#: How many allowed decisions an enforcer keeps (all are forgotten when
#: there are more).
MAX_KEPT_DECISIONS = 4096

_POLICY_LOG = logging.getLogger(oslo_policy.__name__)


def _leaf_check_type(check_str):
    """The class oslo.policy parses ``check_str`` into (its public
    parser: the classes themselves are not public)."""
    return type(oslo_policy.Rules.from_dict({'probe': check_str})['probe'])


#: Checks whose answer depends on the target and the credentials only:
#: ``role:``, a generic ``<field>:<value>``, ``@`` and ``!``.
_PURE_LEAF_CHECKS = frozenset(_leaf_check_type(text) for text in (
    'role:probe', 'arbiter_probe_field:%(probe)s', '@', '!'))


#: What :func:`_frozen` answers for a value it cannot make a key of.
_NOT_A_KEY = object()


def _frozen(value):
    """``value`` as a hashable key of its whole content (types included:
    ``True``, ``1`` and ``'1'`` differ), or :data:`_NOT_A_KEY` when it
    holds something else than JSON-like data."""
    kind = type(value)
    if value is None or kind in (str, int, float, bool):
        return (kind.__name__, value)
    if kind in (list, tuple):
        # Apart: oslo.policy's generic check walks a list item by item
        # and compares a tuple as its text.
        items = tuple(_frozen(item) for item in value)
        if any(item is _NOT_A_KEY for item in items):
            return _NOT_A_KEY
        return (kind.__name__, items)
    if kind is dict:
        items = []
        for name in sorted(value, key=str):
            frozen = _frozen(value[name])
            if frozen is _NOT_A_KEY or not isinstance(name, str):
                return _NOT_A_KEY
            items.append((name, frozen))
        return ('map', tuple(items))
    return _NOT_A_KEY


class Enforcer(oslo_policy.Enforcer):
    """oslo.policy's enforcer, without a search of the disk for a policy
    file at every check while there is none.

    oslo.policy's ``enforce`` starts with ``load_rules``, which, as long
    as it has found no policy file, looks for ``policy_file`` and each of
    ``policy_dirs`` in every configuration directory (oslo.config's
    ``find_file``: about 70 us and a dozen ``stat`` calls, at every
    request of a service running on its defaults).  Here, while the last
    look found neither the file nor a directory, the next one is made
    once :data:`POLICY_SEARCH_INTERVAL` has passed, so that a policy file
    written while the service runs applies within that second.  Once a
    file or a directory exists, every check calls oslo.policy's
    ``load_rules`` as before: a change of the file applies at the next
    check, as oslo.policy does it.

    :param clock: a monotonic clock in seconds (tests pass their own).
    """

    def __init__(self, conf, clock=time.monotonic, **kwargs):
        self._clock = clock
        self._search_after = None
        # Allowed decisions: {key: generation of the rules they were
        # made with}; see enforce().
        self._generation = 0
        self._allowed = {}
        self._cacheable = {}
        super().__init__(conf, **kwargs)

    def _nothing_to_load(self):
        """True when neither the policy file nor a policy directory
        exists (the search oslo.policy makes, through oslo.config)."""
        if self.policy_path:
            return False
        for name in [self.policy_file] + list(
                self.conf.oslo_policy.policy_dirs):
            try:
                if self.conf.find_file(name):
                    return False
            except cfg.ConfigFilesNotFoundError:
                continue
        return True

    def load_rules(self, force_reload=False):
        if (not force_reload and self._search_after is not None and
                self.rules and self._clock() < self._search_after):
            return
        generation, rules = self._generation, self.rules
        super().load_rules(force_reload=force_reload)
        if self._generation != generation or self.rules is not rules:
            # Rules were replaced, then completed with the defaults:
            # what was decided meanwhile is forgotten too.
            self._new_generation()
        if self.use_conf and self._nothing_to_load():
            self._search_after = self._clock() + POLICY_SEARCH_INTERVAL
        else:
            self._search_after = None

    def _new_generation(self):
        self._generation += 1
        self._search_after = None

    # What changes the rules makes the next check load them, and forgets
    # every decision.
    def clear(self):
        super().clear()
        self._new_generation()

    def set_rules(self, rules, overwrite=True, use_conf=False):
        super().set_rules(rules, overwrite=overwrite, use_conf=use_conf)
        self._new_generation()

    def register_default(self, default):
        super().register_default(default)
        self._new_generation()

    def enforce(self, rule, target, creds, do_raise=False, exc=None,
                *args, **kwargs):
        """oslo.policy's ``enforce``, which remembers what it allowed.

        oslo.policy evaluates a rule's check tree at every call, and asks
        Python for the signature of each check's ``__call__`` on the way
        (``inspect.getfullargspec``: four or five times for a persona
        rule, a sixth of a request's Python calls).  A rule made only of
        the checks whose answer depends on nothing but the target and the
        credentials (``role:``, ``rule:``, ``<field>:<value>``, ``@``,
        ``!``, ``and``, ``or``, ``not``; not ``http:`` nor any check a
        library registers) is a pure function of (rule name, target,
        credentials, the rules themselves, ``enforce_new_defaults``): an
        allowed decision is kept under a key of all but the rules (every
        value of the target and of the
        credentials, :meth:`oslo_context.context.RequestContext
        .to_policy_values`) together with the generation of the rules
        it was made with, and answered again while the generation holds.
        The generation changes whenever the rules do (a policy file or
        directory loaded or reloaded, rules set or registered, cleared).
        Refusals are never kept: each goes through oslo.policy, with its
        exception and its log.  Nothing is kept while oslo.policy logs at
        DEBUG (it logs every decision).
        """
        key = self._decision_key(rule, target, creds)
        if key is None:
            return super().enforce(rule, target, creds, do_raise, exc,
                                   *args, **kwargs)
        self.load_rules()
        generation = self._generation
        if self._allowed.get(key) == generation:
            return True
        result = super().enforce(rule, target, creds, do_raise, exc,
                                 *args, **kwargs)
        if (result is True and self._pure(rule, generation) and
                self._generation == generation):
            if len(self._allowed) >= MAX_KEPT_DECISIONS:
                self._allowed = {}
            self._allowed[key] = generation
        return result

    def _decision_key(self, rule, target, creds):
        """The key of a decision that may be kept, or None."""
        if not isinstance(rule, str) or _POLICY_LOG.isEnabledFor(
                logging.DEBUG):
            return None
        if isinstance(creds, oslo_context.RequestContext):
            creds = creds.to_policy_values()
        elif not isinstance(creds, collections.abc.MutableMapping):
            # oslo.policy refuses other mappings (InvalidContextObject):
            # they go to it every time.
            return None
        frozen_target = _frozen(target)
        frozen_creds = _frozen(dict(creds))
        if frozen_target is _NOT_A_KEY or frozen_creds is _NOT_A_KEY:
            return None
        return (rule, frozen_target, frozen_creds,
                self.conf.oslo_policy.enforce_new_defaults)

    def _pure(self, rule, generation):
        """Whether rule ``rule`` of this generation of the rules is made
        only of checks that read nothing but the target and the
        credentials."""
        # One table per generation, taken once: a purity worked out from
        # one generation's rules is never written into another's.
        table = self._cacheable
        if table.get('generation') != generation:
            table = {'generation': generation}
            self._cacheable = table
        found = table.get(rule)
        if found is None:
            try:
                found = self._pure_check(self.rules[rule], set())
            except KeyError:
                found = False
            if self._generation != generation:
                # The rules changed while this was worked out.
                return False
            table[rule] = found
        return found

    def _pure_check(self, check, seen):
        if isinstance(check, (oslo_policy.AndCheck, oslo_policy.OrCheck)):
            return all(self._pure_check(sub, seen) for sub in check.rules)
        if isinstance(check, oslo_policy.NotCheck):
            return self._pure_check(check.rule, seen)
        if isinstance(check, oslo_policy.RuleCheck):
            if check.match in seen:
                return False
            try:
                named = self.rules[check.match]
            except KeyError:
                return True   # oslo.policy: a missing rule is False
            return self._pure_check(named, seen | {check.match})
        return type(check) in _PURE_LEAF_CHECKS


def make_enforcer(conf, rules, policy_file=None, clock=time.monotonic):
    """The :class:`Enforcer` of one service.

    :param conf: the service's ``ConfigOpts``.
    :param rules: the service's ``RuleDefault`` list, personas included
        (see :func:`svc_common.personas.base_rules`).
    :param clock: see :class:`Enforcer`.
    """
    enforcer = Enforcer(conf, clock=clock, policy_file=policy_file)
    enforcer.register_defaults(rules)
    return enforcer


def project_target(project_id):
    """The target of an action on, or a read of, project ``project_id``."""
    _check_project_id(project_id)
    return {'project_id': project_id}


def _check_project_id(project_id):
    # A None project_id would match a system-scoped token's project_id
    # (None) in "project_id:%(project_id)s".
    if not isinstance(project_id, str) or not project_id:
        raise ValueError('A policy target names its project with a '
                         'non-empty string, not %r.' % (project_id,))


def check_target(target):
    """Refuse anything but :data:`SYSTEM` or a target naming its project.

    :raises TypeError: ``target`` is not a mapping (e.g. None).
    :raises ValueError: a mapping without a usable ``project_id``.
    """
    if target is SYSTEM:
        return
    if not isinstance(target, collections.abc.Mapping):
        raise TypeError('authorize() needs a target: policy.SYSTEM or '
                        'policy.project_target(...), not %r.' % (target,))
    if 'project_id' not in target:
        raise ValueError('A policy target without project_id must be '
                         'policy.SYSTEM, not %r.' % (target,))
    _check_project_id(target['project_id'])


def visible_project(context):
    """The one project whose objects the caller may see, or None for all.

    System-scoped callers see every project; so do services (Nova and
    Glance hooks), whose token is scoped to their own service project.
    Everyone else sees the project of their token, and a caller whose
    token has no project (domain-scoped or unscoped) sees none:
    :data:`NO_PROJECT`, an id no project has, so that a list filtered on
    it is empty rather than everything.
    """
    if context.system_scope == 'all' or 'service' in context.roles:
        return None
    return context.project_id or NO_PROJECT


#: What :func:`visible_project` answers for a caller with no project.
NO_PROJECT = ''


def outside_scope(context, target):
    """True when the target is a project the caller cannot see."""
    owner = target.get('project_id')
    visible = visible_project(context)
    return owner is not None and visible is not None and owner != visible


def authorize(enforcer, context, action, target, not_found=None):
    """Check ``action`` for ``context`` on ``target`` or raise an ApiError.

    :param target: :data:`SYSTEM` or :func:`project_target`; there is no
        default (see :func:`check_target`).
    :param not_found: the error the handler would raise if the object did
        not exist (e.g. ``ProjectNotFound('No project "p2".')``).  A refusal
        of a project-scoped caller on another project's target raises it,
        so that the answer is the one for an absent object, byte for byte
        but the request id.  Without it such a refusal is a 403.
    :raises errors.Forbidden: refused (``code`` ``wrong_scope`` for a token
        of a scope type the rule does not accept).
    """
    check_target(target)
    try:
        enforcer.authorize(action, target, context, do_raise=True)
    except oslo_policy.InvalidScope:
        # Refused whatever the target: but a 403 here and a 404 for an
        # absent object would still tell the two apart.
        if not_found is not None and outside_scope(context, target):
            raise not_found from None
        raise errors.Forbidden(
            'A token of this scope cannot perform %s.' % action,
            code='wrong_scope')
    except oslo_policy.PolicyNotAuthorized:
        if not_found is not None and outside_scope(context, target):
            raise not_found from None
        raise errors.Forbidden('Policy does not allow %s.' % action,
                               code='forbidden')


def enforcer_for_tools(spec):
    """The enforcer the ``oslopolicy-*`` tools load through entry points.

    Those tools call the entry point without arguments, so this parses the
    service's config from its default files only.
    """
    conf = config.build_conf(spec)
    return make_enforcer(conf, spec.module('policies').list_rules())
