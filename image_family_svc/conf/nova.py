"""The ``[nova]`` and ``[cinder]`` option groups: where the usage
reconciliation asks which servers use which image.

keystoneauth1's session, auth and adapter options each; the credentials
need a role that may list every project's servers (Nova's
``os_compute_api:servers:detail:get_all_tenants``, admin by default) and,
for Cinder, every project's volumes.
"""

from oslo_config import cfg

from image_family_svc.conf import client_timeout
from svc_common.clients import rest

NOVA = 'nova'
CINDER = 'cinder'


def _nova_opts():
    return [
        cfg.IntOpt(
            'page_size', default=500, min=1, max=1000,
            help='Servers asked for per page of GET /servers/detail '
                 '(Nova caps a page at [api] max_limit, 1000 by '
                 'default).'),
    ]


def _cinder_opts():
    return [
        cfg.StrOpt(
            'enabled', default='auto', choices=[
                ('auto', 'count them when the service catalog (or '
                         'endpoint_override) has a block-storage / '
                         'volumev3 endpoint, checked at each '
                         'reconciliation'),
                ('true', 'always count them; the reconciliation fails '
                         'when Cinder cannot be reached'),
                ('false', 'never ask Cinder')],
            help='Whether the usage reconciliation also counts '
                 'volume-backed servers, through the volume_image_metadata '
                 'of the volumes attached to them (GET /volumes/detail?'
                 'all_tenants=1 of Cinder\'s v3 API). Nova\'s servers '
                 'list does not name the image of a volume-backed '
                 'server.'),
        cfg.IntOpt(
            'page_size', default=500, min=1, max=1000,
            help='Volumes asked for per page.'),
    ]


def register_opts(conf):
    conf.register_opts(_nova_opts(), group=NOVA)
    conf.register_opts(_cinder_opts(), group=CINDER)
    for group in (NOVA, CINDER):
        rest.register_opts(conf, group)
        client_timeout.set_default(conf, group)


def list_opts():
    [(_, nova_client)] = rest.list_opts(NOVA)
    [(_, cinder_client)] = rest.list_opts(CINDER)
    return [(NOVA, _nova_opts() + client_timeout.with_default(nova_client)),
            (CINDER, _cinder_opts() + client_timeout.with_default(
                cinder_client))]
