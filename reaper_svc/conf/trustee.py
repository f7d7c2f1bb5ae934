"""The ``[trustee]`` option group: the reaper's service user, to whom
users delegate through Keystone trusts when they submit pending
requests (see :mod:`reaper_svc.trusts`)."""

from oslo_config import cfg

GROUP = 'trustee'


def _opts():
    return [
        cfg.StrOpt(
            'auth_url',
            help='Keystone v3 URL (e.g. http://keystone/identity/v3) used '
                 'to take and use trusts. When unset, or when the API runs '
                 'with [api] auth_strategy = noauth, pending requests are '
                 'accepted without a trust ("trusted": false) and the '
                 'promoter builds them with the cloud driver\'s own '
                 'credentials.'),
        cfg.StrOpt(
            'username',
            help='Name of the reaper\'s service user: the trustee of every '
                 'trust, whom the promoter authenticates as to build a '
                 'request in its user\'s name.'),
        cfg.StrOpt(
            'password', secret=True,
            help='Password of the reaper\'s service user.'),
        cfg.StrOpt(
            'user_domain_id', default='default',
            help='Domain of the reaper\'s service user.'),
        cfg.ListOpt(
            'roles', default=[],
            help='Role names delegated in each trust. Empty (the '
                 'default): the roles the submitting user\'s token has on '
                 'the request\'s project. A user can delegate only roles '
                 'it has: a submission by a user without one of these '
                 'roles is refused.'),
        cfg.IntOpt(
            'leaked_trust_grace', default=3600, min=600,
            help='Seconds a trust whose trustee is the reaper\'s service '
                 'user must have been seen by the engine\'s leader, named '
                 'by no queued or building pending request, before the '
                 'leader deletes it as leaked (an API worker stopped '
                 'between taking the trust and queueing the request, or '
                 'Keystone failing its deletion when the request ended). '
                 'Keystone does not date trusts: the leader counts from '
                 'the first of its own passes that saw it unnamed (a host '
                 'that becomes the leader counts anew). Keep it well '
                 'above the longest submission (the API takes the trust, then '
                 'queues the request): a shorter grace could delete the '
                 'trust of a submission in flight, whose request would '
                 'then fail to build. Every trust of the service user '
                 'that no such request names is deleted: do not share '
                 'that user with another service that takes trusts to '
                 'it.'),
        cfg.IntOpt(
            'leaked_trust_interval', default=600, min=1,
            help='Seconds between the passes of the engine\'s leader that '
                 'look for leaked trusts (see leaked_trust_grace).'),
        cfg.IntOpt(
            'leaked_trusts_per_pass', default=100, min=1,
            help='The most leaked trusts one pass deletes; the others '
                 'are deleted by the next passes.'),
    ]


def register_opts(conf):
    conf.register_opts(_opts(), group=GROUP)


def list_opts():
    return [(GROUP, _opts())]
