"""The ``[keystone]`` option group: how limits_svc reads Keystone.

In ``keystone`` mode, ``limits-manage sync`` and ``limits-engine`` read
projects, registered limits and limits with these credentials (a user with
the ``reader`` role at system scope is enough), using keystoneauth1's
usual auth and session options.
"""

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

GROUP = 'keystone'

#: Seconds to wait for each answer of Keystone when ``[keystone]`` sets no
#: ``timeout`` (keystoneauth1 waits for ever: a Keystone that never
#: answered held a sync, and so the engine's graceful stop and its leader
#: lock, and ``limits-manage sync``, for ever).
DEFAULT_TIMEOUT = 60


def _opts():
    return [
        cfg.StrOpt(
            'subtree_marker', default='[subtree]',
            help='Keystone\'s limits have no scope. A Keystone project '
                 'limit whose description contains this text caps the sum '
                 'over the project\'s whole subtree; any other limit caps '
                 'the project\'s own usage.'),
        cfg.ListOpt(
            'notification_topics', default=['notifications'],
            help='Topics on which Keystone publishes its notifications; '
                 'limits-engine listens for identity.project.*, '
                 'identity.limit.* and identity.registered_limit.* there.'),
        cfg.StrOpt(
            'notification_exchange', default='keystone',
            help='AMQP exchange Keystone publishes its notifications to '
                 '(Keystone\'s control_exchange).'),
        cfg.IntOpt(
            'resync_interval', default=600, min=0,
            help='Seconds between full resyncs from Keystone done by '
                 'limits-engine even without notifications (0: never). '
                 'Keystone sends no notification when a limit or a '
                 'registered limit changes, so this is how such changes '
                 'arrive without a manual "limits-manage sync".'),
    ]


def register_opts(conf):
    conf.register_opts(_opts(), group=GROUP)
    ks_loading.register_session_conf_options(conf, GROUP)
    ks_loading.register_auth_conf_options(conf, GROUP)
    ks_loading.register_adapter_conf_options(conf, GROUP)
    conf.set_default('timeout', DEFAULT_TIMEOUT, group=GROUP)


def list_opts():
    session_opts = ks_loading.get_session_conf_options()
    for opt in session_opts:
        if opt.dest == 'timeout':
            opt.default = DEFAULT_TIMEOUT
    return [(GROUP, _opts() + session_opts +
             ks_loading.get_auth_common_conf_options() +
             ks_loading.get_auth_plugin_conf_options('password') +
             ks_loading.get_adapter_conf_options())]
