"""Config options of image_family_svc, one module per option group."""

from svc_common import config

from image_family_svc.conf import glance
from image_family_svc.conf import image_family
from image_family_svc.conf import nova
from image_family_svc import service


def register_opts(conf):
    image_family.register_opts(conf)
    glance.register_opts(conf)
    nova.register_opts(conf)


def list_opts():
    return (config.common_list_opts(service.SPEC) + image_family.list_opts() +
            glance.list_opts() + nova.list_opts())
