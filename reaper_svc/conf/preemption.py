"""The ``[preemption]`` option group."""

from oslo_config import cfg

GROUP = 'preemption'


def _opts():
    return [
        cfg.StrOpt(
            'notification_topic', default='reaper_notifications',
            help='Topic that Nova\'s routed scheduling notifications are '
                 'published to (see the arbiter-routing notifier driver); '
                 'the preemption engine listens on it.'),
    ]


def register_opts(conf):
    conf.register_opts(_opts(), group=GROUP)


def list_opts():
    return [(GROUP, _opts())]
