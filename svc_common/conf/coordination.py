"""The ``[coordination]`` option group: how engine hosts elect a leader."""

from oslo_config import cfg

GROUP = 'coordination'

_OPTS = [
    cfg.StrOpt(
        'backend_url', default='file://$state_path/coordination',
        help='tooz URL of the coordination backend through which the '
             'engine processes of one service elect the one that runs the '
             'once-per-cloud periodic work. The default, a directory of '
             'lock files, only coordinates processes of one host; with '
             'engines on several hosts use a shared backend, for example '
             'etcd3+http://etcd:2379, redis://redis:6379 or '
             'zookeeper://zk:2181.'),
    cfg.FloatOpt(
        'election_interval', default=5.0, min=0.1,
        help='Seconds between two attempts of a follower to become the '
             'leader, and between two checks by the leader that it still '
             'is. When the leader stops, another engine takes over within '
             'about this time (plus the backend\'s own lease time, e.g. '
             'the tooz lock timeout of Redis or etcd, if the leader died '
             'without releasing its lock).'),
]


def register_opts(conf):
    conf.register_opts(_OPTS, group=GROUP)


def list_opts():
    return [(GROUP, _OPTS)]
