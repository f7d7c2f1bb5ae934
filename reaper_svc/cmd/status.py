"""``reaper-status``: see :mod:`svc_common.cmd.status`."""

from svc_common.cmd import status

from reaper_svc import service


def main():
    return status.main(service.SPEC)
