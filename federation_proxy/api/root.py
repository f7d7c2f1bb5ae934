"""The pecan root of federation_proxy: ``/`` and ``/v1``."""

import pecan

from federation_proxy.api import audit
from federation_proxy.api import login
from federation_proxy.api import oidc
from federation_proxy.api import registry
from federation_proxy.api import session_auth
from federation_proxy.api import settings
from federation_proxy.api import users
from federation_proxy.api import vos
from svc_common.api import openapi
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


class OpenApiController(root.OpenApiController):
    """``GET /v1/openapi.json`` with the session cookie's name of the
    serving process's issuer: ``__Host-federation_session`` under an
    https issuer (see :mod:`federation_proxy.api.cookies`).  The document
    svc_common builds, once per process, knows no configuration and names
    the plain cookie; generated clients sent that one, which the proxy
    does not read under https."""

    @pecan.expose(generic=True, template='json')
    def index(self):
        """Only GET is allowed; other methods answer 405."""
        pecan.abort(405)

    @index.when(method='GET', template='json')
    def index_get(self):
        document = dict(openapi.document(pecan.request.spec))
        components = dict(document['components'])
        components['securitySchemes'] = dict(
            components['securitySchemes'],
            **session_auth.openapi_security_schemes(settings.issuer()))
        document['components'] = components
        return document


# In place of svc_common's document controller.  ``openapi.json`` is no
# Python name; set as pecan.route sets such a path part (pecan.route
# itself refuses a name that the base class already has).
setattr(V1Controller, openapi.DOCUMENT_PATH.rsplit('/', 1)[1],
        OpenApiController())


class RootController(root.RootController):

    def __init__(self):
        super().__init__(V1Controller())


oidc.wire(RootController)
