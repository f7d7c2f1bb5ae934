"""``federation-api``: see :mod:`svc_common.cmd.api`."""

from svc_common.cmd import api

from federation_proxy import service


def main():
    return api.serve(service.SPEC)
