"""Drive a service's real WSGI application in-process with webtest."""

import fixtures
import webtest

from svc_common import config
from svc_common.db import migration
from svc_common import wsgi_app


class ServiceApp(fixtures.Fixture):
    """The complete WSGI app of ``spec`` (middleware and all) on a fresh
    SQLite database, as ``.app`` (a ``webtest.TestApp``) and ``.conf``.

    :param auth_strategy: ``noauth`` (identity headers) or ``keystone``
        (keystonemiddleware ``auth_token``; no Keystone is contacted as
        long as requests carry no token).
    """

    def __init__(self, spec, auth_strategy='noauth', overrides=None):
        super().__init__()
        self.spec = spec
        self.auth_strategy = auth_strategy
        self.overrides = dict(overrides or {})

    def _setUp(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        overrides = {
            (None, 'state_path'): tmp,
            ('api', 'auth_strategy'): self.auth_strategy,
            ('keystone_authtoken', 'www_authenticate_uri'):
                'http://127.0.0.1:5000/v3',
        }
        overrides.update(self.overrides)
        self.conf = config.build_conf(self.spec, overrides=overrides)
        migration.upgrade(self.spec, self.conf.database.connection)
        self.wsgi = wsgi_app.make_application(self.spec, self.conf)
        self.app = webtest.TestApp(self.wsgi)


def identity(roles, project_id=None, system=False, user_id='user-1'):
    """noauth identity headers, roles listed as a token lists them."""
    headers = {'X-User-Id': user_id, 'X-Roles': ','.join(roles)}
    if project_id:
        headers['X-Project-Id'] = project_id
    if system:
        headers['X-System-Scope'] = 'all'
    return headers


SYSTEM_ADMIN = identity(['admin', 'member', 'reader'], system=True)
SYSTEM_READER = identity(['reader'], system=True)
PROJECT_ADMIN = identity(['admin', 'member', 'reader'], 'p1')
PROJECT_MEMBER = identity(['member', 'reader'], 'p1')
PROJECT_READER = identity(['reader'], 'p1')
SERVICE = identity(['service'], 'service-project')
NO_ROLES = identity([], 'p1')
