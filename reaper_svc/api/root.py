"""The pecan root of reaper_svc: ``/`` and ``/v1``."""

from reaper_svc.api import actions as actions_api
from reaper_svc.api import capacity as capacity_api
from reaper_svc.api import pending as pending_api
from reaper_svc.api import plans as plans_api
from svc_common.api import root


class V1Controller(root.V1Controller):
    RESOURCES = ('actions', 'capacity', 'pending', 'plans')

    actions = actions_api.ActionsController()
    capacity = capacity_api.CapacityController()
    pending = pending_api.PendingController()
    plans = plans_api.PlansController()


class RootController(root.RootController):

    def __init__(self):
        super().__init__(V1Controller())
