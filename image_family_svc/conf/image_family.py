"""The ``[image_family]`` option group."""

from oslo_config import cfg

GROUP = 'image_family'


def _opts():
    return [
        cfg.ListOpt(
            'notification_topics', default=['notifications'],
            help='Topics on which Glance and Nova publish the image and '
                 'instance notifications this service follows.'),
    ]


def register_opts(conf):
    conf.register_opts(_opts(), group=GROUP)


def list_opts():
    return [(GROUP, _opts())]
