"""The pecan root of limits_svc: ``/`` and ``/v1``."""

from limits_svc.api import allocations as allocations_api
from limits_svc.api import limits as limits_api
from limits_svc.api import projects as projects_api
from svc_common.api import root


class V1Controller(root.V1Controller):
    RESOURCES = ('projects', 'registered_limits', 'limits', 'allocations',
                 'enforce', 'usages')

    projects = projects_api.ProjectsController()
    registered_limits = limits_api.RegisteredLimitsController()
    limits = limits_api.ProjectLimitsController()
    allocations = allocations_api.AllocationsController()
    enforce = allocations_api.EnforceController()
    usages = allocations_api.UsagesController()


class RootController(root.RootController):

    def __init__(self):
        super().__init__(V1Controller())
