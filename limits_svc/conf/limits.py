"""The ``[limits]`` option group."""

from oslo_config import cfg

GROUP = 'limits'


def _opts():
    return [
        cfg.StrOpt(
            'mode', default='local',
            choices=[('local', 'Projects and limits are managed through '
                               'this service\'s own API (embedded default).'),
                     ('keystone', 'Projects and limits are read from '
                                  'Keystone and kept current from its '
                                  'notifications.')],
            help='Where the project tree and the limits come from.'),
        cfg.StrOpt(
            'no_limit_policy', default='deny',
            choices=[('deny', 'A resource with no limit at all (no '
                              'registered default, no project limit) may '
                              'not be used: as oslo.limit behaves.'),
                     ('unlimited', 'A resource with no limit at all may be '
                                   'used without bound.')],
            help='What a resource that nothing limits means.'),
        cfg.IntOpt(
            'purge_interval', default=10, min=1,
            help='Seconds between two sweeps that free reservations '
                 '(allocations made with expires_in) whose time ran out. '
                 'Of several limits-engine processes, only the leader '
                 '(see [coordination]) sweeps.'),
    ]


def register_opts(conf):
    conf.register_opts(_opts(), group=GROUP)


def list_opts():
    return [(GROUP, _opts())]
