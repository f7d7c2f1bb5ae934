"""The request context every service handler works with.

The context is an oslo.context ``RequestContext`` built from the identity
headers that keystonemiddleware's ``auth_token`` leaves in the WSGI
environment (or that :class:`NoAuthMiddleware` derives from the local-run
``X-User-Id`` / ``X-Project-Id`` / ``X-Roles`` / ``X-System-Scope``
headers).  It also carries oslo.db's transaction state, so a handler can
open a reader or writer transaction with it.
"""

from oslo_context import context as oslo_context
from oslo_db.sqlalchemy import enginefacade
import webob.exc


@enginefacade.transaction_context_provider
class RequestContext(oslo_context.RequestContext):
    """oslo.context's context plus oslo.db transaction state."""

    @property
    def is_system_scoped(self):
        return self.system_scope == 'all'


def from_environ(environ):
    """Build a :class:`RequestContext` from a WSGI environment."""
    return RequestContext.from_environ(environ)


def admin_context():
    """A system-scoped admin context for engines and command-line tools."""
    return RequestContext(roles=['admin', 'member', 'reader'],
                          system_scope='all', is_admin=True,
                          overwrite=False)


class NoAuthMiddleware(object):
    """Trust identity headers as given: for local runs and tests only.

    ``X-User-Id``, ``X-Project-Id``, ``X-Roles`` (comma separated) and
    ``X-System-Scope`` (``all``) are taken at face value.  Roles are not
    expanded: a real Keystone token already lists implied roles
    (``member`` arrives as ``member,reader``), so callers must present them
    the same way.  A request without ``X-User-Id`` is answered 401, as
    keystonemiddleware would answer a request without a token.
    """

    def __init__(self, application):
        self.application = application

    # Plain WSGI: a webob request and response around every request cost
    # more than the rest of this middleware.
    def __call__(self, environ, start_response):
        if not environ.get('HTTP_X_USER_ID'):
            return _unauthorized()(environ, start_response)
        scope = environ.pop('HTTP_X_SYSTEM_SCOPE', None)
        environ.pop('HTTP_OPENSTACK_SYSTEM_SCOPE', None)
        if scope:
            environ['HTTP_OPENSTACK_SYSTEM_SCOPE'] = scope
        environ['HTTP_X_IDENTITY_STATUS'] = 'Confirmed'
        return self.application(environ, start_response)


def _unauthorized():
    return webob.exc.HTTPUnauthorized(
        explanation='This request needs an identity: send X-User-Id '
                    '(noauth mode) or a Keystone token.')
