"""``limits-api``: see :mod:`svc_common.cmd.api`."""

from svc_common.cmd import api

from limits_svc import service


def main():
    return api.serve(service.SPEC)
