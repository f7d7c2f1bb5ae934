"""The ``[federation]`` option group."""

from oslo_config import cfg

GROUP = 'federation'


def _opts():
    return [
        cfg.URIOpt(
            'issuer', default='http://127.0.0.1:9873',
            help='OIDC issuer URL of this proxy, as the leaf Keystones '
                 'are configured to trust it. It must be the externally '
                 'reachable URL of the federation API.'),
    ]


def register_opts(conf):
    conf.register_opts(_opts(), group=GROUP)


def list_opts():
    return [(GROUP, _opts())]
