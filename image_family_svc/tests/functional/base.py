"""An in-process image_family API on a fresh SQLite database, and the
requests the tests make."""

import fixtures
import testtools

from image_family_svc import service
from svc_common.tests.functional import api_fixture as af

ADMIN = af.SYSTEM_ADMIN
PROPS = {'os_distro': 'centos', 'os_version': '7', 'architecture': 'x86_64'}


def chained_schema(levels):
    """A schema whose level n is anyOf two references to level n - 1,
    over a type that 5 (or any image's properties) does not have."""
    definitions = {'d0': {'type': 'string'}}
    for level in range(1, levels + 1):
        below = {'$ref': '#/definitions/d%d' % (level - 1)}
        definitions['d%d' % level] = {'anyOf': [below, below]}
    return {'definitions': definitions,
            '$ref': '#/definitions/d%d' % levels}


#: Options every test's service has unless its OVERRIDES say otherwise:
#: no drain before a deletion (tests of the drain set it).
BASE_OVERRIDES = {('image_family', 'obsolete_drain_seconds'): 0}


class ApiTestCase(testtools.TestCase):

    OVERRIDES = {}

    def setUp(self):
        super().setUp()
        overrides = dict(BASE_OVERRIDES)
        overrides.update(self.OVERRIDES)
        self.fixture = self.useFixture(af.ServiceApp(service.SPEC,
                                                     overrides=overrides))
        self.app = self.fixture.app

    def within(self, call, seconds=10):
        """What ``call()`` returns, failing the test if it runs longer
        than ``seconds``.

        It runs in this (the main) thread under a SIGALRM: a regular
        expression that backtracks in Python's re holds the GIL, so a
        thread running it could not even be given up on, and Python's re
        checks for signals as it runs.
        """
        try:
            with fixtures.Timeout(seconds, gentle=True):
                return call()
        except fixtures.TimeoutException:
            self.fail('still running after %d s' % seconds)

    def family(self, name, headers=ADMIN, **body):
        body['name'] = name
        return self.app.post_json('/v1/families', body,
                                  headers=headers).json['family']

    def add(self, family, image_id, version, state='testing',
            headers=ADMIN, **props):
        properties = dict(PROPS, os_version=version, **props)
        return self.app.post_json(
            '/v1/families/%s/images' % family,
            {'image_id': image_id, 'version': version, 'state': state,
             'properties': properties}, headers=headers).json['image']

    def move(self, image_id, to, headers=ADMIN, status=200, **extra):
        body = dict(extra, to=to)
        return self.app.post_json('/v1/images/%s/transitions' % image_id,
                                  body, headers=headers, status=status).json

    def image(self, image_id, headers=ADMIN):
        return self.app.get('/v1/images/%s' % image_id,
                            headers=headers).json['image']

    def latest(self, family, channel=None, headers=ADMIN):
        path = '/v1/families/%s/latest' % family
        if channel:
            path += '?channel=' + channel
        return self.app.get(path, headers=headers).json['image']
