"""The ``[glance]`` option group: how the ``glance`` driver reaches Glance.

keystoneauth1's session, auth and adapter options (``auth_type``,
``auth_url``, ``username`` ..., ``endpoint_override``,
``valid_interfaces``, ``region_name``) plus what the driver writes and
where it pre-seeds the image cache.
"""

from oslo_config import cfg

from image_family_svc.conf import client_timeout
from svc_common.clients import rest

GROUP = 'glance'


def _opts():
    return [
        cfg.StrOpt(
            'state_property', default='arbiter_family_state',
            help='Image property in which the glance driver writes the '
                 'image\'s lifecycle state (testing, beta, active, '
                 'deprecated, obsolete, pending_delete).'),
        cfg.StrOpt(
            'successor_property', default='arbiter_family_successor',
            help='Image property in which the glance driver writes the id '
                 'of the image\'s successor (removed when it has none).'),
        cfg.ListOpt(
            'cache_api_urls', default=[],
            help='Root URLs of each Glance API node (for example '
                 'http://glance-1.internal:9292), not of a load balancer '
                 'in front of them: a newly promoted latest image is '
                 'queued for the image cache of each node with PUT '
                 '/v2/cache/{image_id} (Glance 2023.2 and later; the node '
                 'must have [DEFAULT] image_cache_dir set). Empty: no '
                 'pre-seeding.'),
        cfg.BoolOpt(
            'delete_images', default=True,
            help='Delete an image through Glance\'s API when its lifecycle '
                 'reaches deleted (no server uses it any more). false: '
                 'only the image family record says deleted and the image '
                 'stays in Glance, hidden, for an operator to remove. '
                 'Turned on later, it also deletes in Glance the images '
                 'that reached deleted meanwhile.'),
        cfg.IntOpt(
            'delete_retry_batch', default=20, min=0,
            help='Deleted images whose deletion in Glance failed (Glance '
                 'down, an error, a timeout) that the engine\'s leader '
                 'tries to delete again at each pass (every '
                 '[image_family] schedule_interval seconds), those '
                 'deleted first first; an image some server uses is '
                 'skipped. 0: no retry (and the API and engine then '
                 'send each change to Glance even right after Glance '
                 'failed to answer, waiting for its timeout each time).'),
        cfg.IntOpt(
            'write_retry_batch', default=50, min=0,
            help='Images whose family, state or successor Glance may not '
                 'show yet (a write that failed or was not made, an image '
                 'that was still uploading) that the engine\'s leader '
                 'writes again at each pass (every [image_family] '
                 'schedule_interval seconds), at least a minute after '
                 'their change, those changed first first. Each costs a '
                 'GET of the image and, if it differs, a PATCH. 0: no '
                 'retry (and the API and engine then send each change to '
                 'Glance even right after Glance failed to answer, '
                 'waiting for its timeout each time).'),
    ]


def register_opts(conf):
    conf.register_opts(_opts(), group=GROUP)
    rest.register_opts(conf, GROUP)
    client_timeout.set_default(conf, GROUP)


def list_opts():
    return [(GROUP, _opts() + client_timeout.with_default(
        rest.list_opts(GROUP)[0][1]))]
