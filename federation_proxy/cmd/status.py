"""``federation-status``: see :mod:`svc_common.cmd.status`."""

from svc_common.cmd import status

from federation_proxy import service


def main():
    return status.main(service.SPEC)
