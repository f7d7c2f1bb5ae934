"""Config options of reaper_svc, one module per option group."""

from svc_common import config

from reaper_svc.conf import clouds
from reaper_svc.conf import preemption
from reaper_svc.conf import trustee
from reaper_svc import service


def register_opts(conf):
    preemption.register_opts(conf)
    clouds.register_opts(conf)
    trustee.register_opts(conf)


def list_opts():
    return (config.common_list_opts(service.SPEC) + preemption.list_opts()
            + clouds.list_opts() + trustee.list_opts())
