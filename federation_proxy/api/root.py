"""The pecan root of federation_proxy: ``/`` and ``/v1``."""

from federation_proxy.api import audit
from federation_proxy.api import login
from federation_proxy.api import oidc
from federation_proxy.api import registry
from federation_proxy.api import users
from federation_proxy.api import vos
from svc_common.api import root


class V1Controller(root.V1Controller):
    RESOURCES = ('users', 'vos', 'invitation_acceptances', 'audit',
                 'idps', 'clients')

    users = users.UsersController()
    vos = vos.VOsController()
    invitation_acceptances = audit.InvitationAcceptancesController()
    audit = audit.AuditController()
    idps = registry.IdPsController()
    clients = registry.ClientsController()
    # Before ``login``, which names the controller in this class body.
    logout = login.LogoutController()
    login = login.LoginController()


class RootController(root.RootController):

    def __init__(self):
        super().__init__(V1Controller())


oidc.wire(RootController)
