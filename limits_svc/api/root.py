"""The pecan root of limits_svc: ``/`` and ``/v1``."""

from svc_common.api import root


class V1Controller(root.V1Controller):
    RESOURCES = ()


class RootController(root.RootController):

    def __init__(self):
        super().__init__(V1Controller())
