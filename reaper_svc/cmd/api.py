"""``reaper-api``: see :mod:`svc_common.cmd.api`."""

from svc_common.cmd import api

from reaper_svc import service


def main():
    return api.serve(service.SPEC)
