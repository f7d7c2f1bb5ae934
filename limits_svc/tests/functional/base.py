"""A limits_svc app in-process, with helpers to build trees and limits."""

import testtools

from limits_svc import service
from svc_common.tests.fixtures import api as af


class LimitsApiTestCase(testtools.TestCase):

    OVERRIDES = None

    def setUp(self):
        super().setUp()
        self.fixture = self.useFixture(af.ServiceApp(
            service.SPEC, overrides=self.OVERRIDES))
        self.app = self.fixture.app

    def project(self, project_id, parent_id=None):
        body = {'id': project_id}
        if parent_id:
            body['parent_id'] = parent_id
        return self.app.post_json('/v1/projects', body,
                                  headers=af.SYSTEM_ADMIN).json['project']

    def registered_limit(self, resource, value, service_id='nova'):
        return self.app.post_json('/v1/registered_limits', {
            'service_id': service_id, 'resource_name': resource,
            'default_limit': value},
            headers=af.SYSTEM_ADMIN).json['registered_limit']

    def limit(self, project_id, resource, value, scope='project',
              service_id='nova'):
        return self.app.post_json('/v1/limits', {
            'project_id': project_id, 'service_id': service_id,
            'resource_name': resource, 'resource_limit': value,
            'scope': scope}, headers=af.SYSTEM_ADMIN).json['limit']

    def allocate(self, consumer, project_id, status=200, **resources):
        body = {'project_id': project_id, 'resources': resources}
        return self.app.put_json('/v1/allocations/%s' % consumer, body,
                                 headers=af.SERVICE, status=status)

    def tree(self):
        """root -> mid -> leaf, root -> other; cores limited at 3 levels."""
        self.project('root')
        self.project('mid', 'root')
        self.project('leaf', 'mid')
        self.project('other', 'root')
        self.registered_limit('cores', 100)
        self.limit('root', 'cores', 20, scope='subtree')
        self.limit('mid', 'cores', 12, scope='subtree')
        self.limit('leaf', 'cores', 8)
