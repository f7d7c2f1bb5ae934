"""``[DEFAULT] state_path``: where a service keeps local files."""

from oslo_config import cfg

state_path_opt = cfg.StrOpt(
    'state_path', default='/var/lib/arbiter',
    help='Directory for the files a service keeps on this host, such as the '
         'SQLite database of the embedded default configuration.')


def register_opts(conf):
    conf.register_opt(state_path_opt)


def list_opts():
    return [('DEFAULT', [state_path_opt])]
