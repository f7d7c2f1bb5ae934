"""``image-family-api``: see :mod:`svc_common.cmd.api`."""

from svc_common.cmd import api

from image_family_svc import service


def main():
    return api.serve(service.SPEC)
