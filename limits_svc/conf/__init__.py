"""Config options of limits_svc, one module per option group."""

from svc_common import config

from limits_svc.conf import keystone
from limits_svc.conf import limits
from limits_svc import service


def register_opts(conf):
    limits.register_opts(conf)
    keystone.register_opts(conf)


def list_opts():
    return (config.common_list_opts(service.SPEC) + limits.list_opts() +
            keystone.list_opts())
