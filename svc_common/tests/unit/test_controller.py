"""svc_common.api.controller: the helpers every service's handlers use.

A small pecan app with the real hooks, error middleware and noauth
identity drives them the way a service's controllers do.
"""

import contextlib
import datetime

import fixtures
from oslo_config import cfg
from oslo_policy import opts as policy_opts
import pecan
from pecan import rest
import testtools
import webtest

from svc_common.api import controller
from svc_common.api import hooks
from svc_common import context
from svc_common import errors
from svc_common import personas
from svc_common import policy
from svc_common import service_spec
from svc_common.tests.functional import api_fixture as af

SPEC = service_spec.ServiceSpec(
    package='svc_common', prog='things', service_type='things',
    namespace='things', default_port=1, title='Things, for tests')

RULES = personas.base_rules() + [
    policy.rule('things', 'thing:list', personas.RULE_READER_OR_SERVICE,
                'List things.', [('GET', '/things')], policy.ANY_SCOPE),
    policy.rule('things', 'thing:get', personas.RULE_READER_OR_SERVICE,
                'Show a thing.', [('GET', '/things/{id}')],
                policy.ANY_SCOPE),
    policy.rule('things', 'thing:create', personas.RULE_PROJECT_ADMIN,
                'Create a thing.', [('POST', '/things')], policy.ANY_SCOPE),
    policy.rule('things', 'thing:delete', personas.RULE_PROJECT_ADMIN,
                'Delete a thing.', [('DELETE', '/things/{id}')],
                policy.ANY_SCOPE),
]

# thing id -> owning project
THINGS = {'t1': 'p1', 't2': 'p2'}


def _no_thing(thing_id):
    return errors.NotFound('No thing %s.' % thing_id, code='thing_not_found')


class ThingsController(rest.RestController):

    @pecan.expose('json')
    def get_all(self):
        project_id = pecan.request.params.get('project_id')
        controller.authorize('thing:list',
                             controller.list_target(project_id))
        only = controller.visible_project() or project_id
        with controller.reader() as ctx:
            user = ctx.user_id
        return {'things': sorted(t for t, owner in THINGS.items()
                                 if only in (None, owner)), 'reader': user}

    @pecan.expose('json')
    def get_one(self, thing_id):
        if thing_id not in THINGS:
            raise _no_thing(thing_id)
        controller.authorize('thing:get',
                             policy.project_target(THINGS[thing_id]),
                             not_found=_no_thing(thing_id))
        return {'thing': thing_id}

    @pecan.expose('json')
    def post(self):
        body = pecan.request.json
        controller.authorize('thing:create',
                             policy.project_target(body['project_id']))
        with controller.writer() as ctx:
            user = ctx.user_id
        return controller.created({'thing': 'new', 'writer': user})

    @pecan.expose('json')
    def delete(self, thing_id):
        # A handler that forgot its target: refused loudly, never defaulted.
        controller.authorize('thing:delete', None)
        controller.no_content()


class RootController(object):
    things = ThingsController()


class FakeDatabase(object):
    """``reader`` and ``writer`` that hand back the context they got."""

    class _Transaction(object):
        def using(self, ctx):
            return contextlib.nullcontext(ctx)

    reader = _Transaction()
    writer = _Transaction()


def make_app():
    conf = cfg.ConfigOpts()
    conf([])
    policy_opts.set_defaults(conf, enforce_scope=True,
                             enforce_new_defaults=True)
    enforcer = policy.make_enforcer(conf, RULES)
    app = pecan.make_app(RootController(), hooks=[
        hooks.ContextHook(),
        hooks.ServiceHook(SPEC, conf, enforcer, FakeDatabase())],
        force_canonical=False)
    return webtest.TestApp(errors.JsonErrorMiddleware(
        context.NoAuthMiddleware(app), SPEC.namespace))


class TestController(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.app = make_app()

    def test_rule_name_takes_the_namespace_of_the_spec(self):
        resp = self.app.get('/things', headers=af.NO_ROLES, status=403)
        self.assertEqual('Policy does not allow things:thing:list.',
                         resp.json['errors'][0]['detail'])

    def test_lists_show_the_callers_own_project(self):
        resp = self.app.get('/things?project_id=p2',
                            headers=af.PROJECT_READER)
        self.assertEqual(['t1'], resp.json['things'])
        self.assertEqual('user-1', resp.json['reader'])

    def test_system_and_service_callers_see_every_project(self):
        for headers in (af.SYSTEM_READER, af.SERVICE):
            self.assertEqual(['t1', 't2'], self.app.get(
                '/things', headers=headers).json['things'])
        self.assertEqual(['t2'], self.app.get(
            '/things?project_id=p2', headers=af.SYSTEM_READER).json['things'])

    def test_other_projects_thing_is_answered_as_absent(self):
        other = self.app.get('/things/t2', headers=af.PROJECT_READER,
                             status=404).json['errors'][0]
        absent = self.app.get('/things/t9', headers=af.PROJECT_READER,
                              status=404).json['errors'][0]
        self.assertEqual('things.thing_not_found', other['code'])
        self.assertEqual('No thing t2.', other['detail'])
        self.assertEqual({'status', 'code', 'title', 'detail', 'request_id'},
                         set(other))
        self.assertEqual(other['title'], absent['title'])
        self.app.get('/things/t1', headers=af.PROJECT_READER, status=200)

    def test_created_answers_201_in_a_writer_transaction(self):
        resp = self.app.post_json('/things', {'project_id': 'p1'},
                                  headers=af.PROJECT_ADMIN, status=201)
        self.assertEqual({'thing': 'new', 'writer': 'user-1'}, resp.json)

    def test_project_rule_is_checked_on_the_named_project(self):
        resp = self.app.post_json('/things', {'project_id': 'p2'},
                                  headers=af.PROJECT_ADMIN, status=403)
        self.assertEqual('things.forbidden', resp.json['errors'][0]['code'])

    def test_a_missing_target_is_an_error_not_a_default(self):
        # The caller is an admin of p1; a default to its own project would
        # have let the delete through (204).
        log = self.useFixture(fixtures.FakeLogger())
        resp = self.app.delete('/things/t1', headers=af.PROJECT_ADMIN,
                               status=500)
        self.assertEqual('things.internal_error',
                         resp.json['errors'][0]['code'])
        self.assertIn('authorize() needs a target', log.output)
        self.assertRaises(TypeError, controller.authorize, 'thing:delete')


class TestIsoformat(testtools.TestCase):

    def test_naive_utc_gets_a_z(self):
        self.assertEqual('2024-05-01T12:30:00Z', controller.isoformat(
            datetime.datetime(2024, 5, 1, 12, 30)))
        self.assertIsNone(controller.isoformat(None))
