"""The service catalog of a token, behind keystonemiddleware.

No Arbiter service reads the caller's catalog, but
:func:`svc_common.deploy.deploy` leaves ``[keystone_authtoken]
include_service_catalog`` at keystonemiddleware's default (true): the
token cache's keys do not depend on it, so a token cached without its
catalog in a memcached other services share would reach them without it.
An operator whose services have a token cache of their own may set it
false: keystonemiddleware then validates tokens without their catalog
(``?nocatalog``) and writes no ``X-Service-Catalog`` header.  Real tokens
of a real Keystone on 127.0.0.1.
"""

import pecan
import webtest

from svc_common import deploy
from svc_common.tests.functional import policy_matrix as pm
from svc_common.tests.functional import test_policy_keystone


class _CatalogProbe(object):
    """Answers with the identity headers a handler would find."""

    @pecan.expose('json')
    def index(self):
        environ = pecan.request.environ
        return {'catalog': environ.get('HTTP_X_SERVICE_CATALOG'),
                'user_id': pecan.request.context.user_id}


class _ProbeRoot(object):
    v1 = _CatalogProbe()


class TestServiceCatalog(test_policy_keystone.TokenTestCase):

    def probe(self, **authtoken):
        options = self.people.authtoken_options(300)
        options.update(authtoken)
        fixture = self.useFixture(pm.TokenApp(self.SPEC, 'sqlite://',
                                              options))
        app = webtest.TestApp(deploy.deploy(
            self.SPEC, fixture.conf, enforcer=None, db=None,
            root=_ProbeRoot()))
        return app.get('/v1', headers=self.tokens['project_reader']).json

    def test_catalog_by_default(self):
        seen = self.probe()
        self.assertIsNotNone(seen['user_id'])
        self.assertIn('identity', seen['catalog'])

    def test_operator_may_leave_the_catalog_out(self):
        seen = self.probe(include_service_catalog='false')
        self.assertIsNotNone(seen['user_id'])
        self.assertIsNone(seen['catalog'])
