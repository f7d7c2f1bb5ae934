"""The ``[nova]`` and ``[placement]`` option groups of the ``openstack``
cloud driver.

Each group holds keystoneauth1's session, auth and adapter options
(``auth_type``, ``auth_url``, ``username`` ..., ``cafile``, ``timeout``,
``service_type``, ``valid_interfaces``, ``region_name``,
``endpoint_override`` ...), as in Nova's own ``[placement]`` group, plus
what the driver itself needs.
"""

from oslo_config import cfg

from svc_common.clients import rest

NOVA = 'nova'
PLACEMENT = 'placement'


def _nova_opts():
    return [
        cfg.IntOpt(
            'page_size', default=1000, min=1,
            help='Servers (and flavors, and hypervisors) asked of Nova '
                 'per page when the reaper lists them; Nova answers at '
                 'most its [api] max_limit a page and the reaper reads '
                 'every page.'),
        cfg.IntOpt(
            'create_timeout', default=300, min=1,
            help='Seconds the openstack driver waits for servers it '
                 'builds (pending requests) to leave BUILD before it '
                 'reports the build as failed.'),
    ]


def _placement_opts():
    return [
        cfg.IntOpt(
            'concurrency', default=8, min=1,
            help='Resource providers whose inventories and usages are read '
                 'from Placement at the same time when the reaper takes a '
                 'snapshot of the cloud.'),
    ]


#: Seconds the driver waits for an answer of Nova or Placement when the
#: group sets no ``timeout``: keystoneauth1's default is none, and a
#: service that took the connection and never answered held the
#: engine's planning (every trigger waits for it) or an API worker for
#: ever.
DEFAULT_TIMEOUT = 60


def register_opts(conf):
    conf.register_opts(_nova_opts(), group=NOVA)
    conf.register_opts(_placement_opts(), group=PLACEMENT)
    for group in (NOVA, PLACEMENT):
        rest.register_opts(conf, group)
        conf.set_default('timeout', DEFAULT_TIMEOUT, group=group)


def _with_timeout(options):
    for opt in options:
        if opt.dest == 'timeout':
            opt.default = DEFAULT_TIMEOUT
    return options


def list_opts():
    [(_, nova_auth)] = rest.list_opts(NOVA)
    [(_, placement_auth)] = rest.list_opts(PLACEMENT)
    return [(NOVA, _nova_opts() + _with_timeout(nova_auth)),
            (PLACEMENT, _placement_opts() + _with_timeout(placement_auth))]
