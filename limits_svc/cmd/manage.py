"""``limits-manage``: see :mod:`svc_common.cmd.manage`."""

from svc_common.cmd import manage

from limits_svc import service


def main():
    return manage.main(service.SPEC)
