"""Config options of federation_proxy, one module per option group."""

from svc_common import config

from federation_proxy.conf import federation
from federation_proxy import service


def register_opts(conf):
    federation.register_opts(conf)


def list_opts():
    return config.common_list_opts(service.SPEC) + federation.list_opts()
