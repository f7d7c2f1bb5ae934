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
    ]


def register_opts(conf):
    conf.register_opts(_opts(), group=GROUP)


def list_opts():
    return [(GROUP, _opts())]
