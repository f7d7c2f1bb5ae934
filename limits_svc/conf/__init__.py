"""Config options of limits_svc, one module per option group."""

from svc_common import config

from limits_svc.conf import keystone
from limits_svc.conf import limits


def register_opts(conf):
    limits.register_opts(conf)
    keystone.register_opts(conf)


def list_opts():
    # Imported here: limits_svc.service imports the manage commands,
    # which import this package (through the Keystone client), and a
    # module-level import made ``import limits_svc.cmd.sync`` fail when
    # it came first.
    from limits_svc import service
    return (config.common_list_opts(service.SPEC) + limits.list_opts() +
            keystone.list_opts())
