"""``image-family-status``: see :mod:`svc_common.cmd.status`."""

from svc_common.cmd import status

from image_family_svc import service


def main():
    return status.main(service.SPEC)
