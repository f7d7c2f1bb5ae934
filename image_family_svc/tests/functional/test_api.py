"""The image family API as a user sees it: families, membership, latest,
transitions (rollback, retention, scheduled), visibility."""

import datetime
import http.server
import threading
import time

import fixtures

import sqlalchemy as sa

from image_family_svc.cmd import engine
from image_family_svc.db import families as families_db
from image_family_svc.db import members
from image_family_svc.db import models
from image_family_svc.db import usage
from image_family_svc.tests.functional import base
from svc_common import context
from svc_common.db import database
from svc_common.tests.fixtures import postgresql
from svc_common.tests.functional import api_fixture as af

OWN = af.identity(['member', 'reader'], 'p1')
OTHER = af.identity(['member', 'reader'], 'p2')


class TestFamilies(base.ApiTestCase):

    def test_create_defaults(self):
        family = self.family('centos-7', description='CentOS 7')
        self.assertEqual('public', family['visibility'])
        self.assertIsNone(family['project_id'])
        self.assertEqual(['os_distro', 'os_version', 'architecture'],
                         family['properties_schema']['required'])

    def test_project_family_is_private_and_hidden_from_others(self):
        family = self.family('mine', headers=OWN)
        self.assertEqual(('p1', 'private'),
                         (family['project_id'], family['visibility']))
        names = [f['name'] for f in self.app.get(
            '/v1/families', headers=OTHER).json['families']]
        self.assertEqual([], names)
        resp = self.app.get('/v1/families/mine', headers=OTHER, status=404)
        self.assertEqual('image_family.family_not_found',
                         resp.json['errors'][0]['code'])

    def test_public_family_seen_but_not_changed_by_others(self):
        self.family('centos-7')
        self.app.get('/v1/families/centos-7', headers=OTHER)
        self.app.patch_json('/v1/families/centos-7', {'description': 'x'},
                            headers=OTHER, status=403)

    def test_duplicate_name(self):
        self.family('centos-7')
        resp = self.app.post_json('/v1/families', {'name': 'centos-7'},
                                  headers=base.ADMIN, status=409)
        self.assertEqual('image_family.family_exists',
                         resp.json['errors'][0]['code'])

    def test_invalid_properties_schema(self):
        resp = self.app.post_json(
            '/v1/families', {'name': 'x', 'properties_schema': {
                'type': 'nonsense'}}, headers=base.ADMIN, status=400)
        self.assertEqual('properties_schema', resp.json['errors'][0]['field'])

    def _listener(self):
        """A loopback HTTP server; the list of paths it was asked for."""
        asked = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                asked.append(self.path)
                self.send_error(404)

            def log_message(self, *args):
                pass

        server = http.server.HTTPServer(('127.0.0.1', 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 10)
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        return 'http://127.0.0.1:%d/x.json' % server.server_port, asked

    def test_remote_reference_in_properties_schema_never_fetched(self):
        # A family's schema made the service fetch any URL its owner (a
        # project member) chose when an image joined, and a failed fetch
        # was a 500.
        url, asked = self._listener()
        remote = {'type': 'object', 'properties': {
            'os_version': {'$ref': url}}}
        self.family('mine', headers=OWN)
        for resp in (
                self.app.post_json('/v1/families', {
                    'name': 'remote', 'properties_schema': remote},
                    headers=OWN, status=400),
                self.app.patch_json('/v1/families/mine', {
                    'properties_schema': remote}, headers=OWN, status=400)):
            self.assertEqual(('image_family.invalid_input',
                              'properties_schema'),
                             (resp.json['errors'][0]['code'],
                              resp.json['errors'][0]['field']))
        # A schema stored before this check is not followed either.
        self._store_schema('mine', remote)
        resp = self.app.post_json(
            '/v1/families/mine/images',
            {'image_id': 'img-1', 'properties': base.PROPS}, headers=OWN,
            status=400)
        self.assertEqual('image_family.invalid_properties',
                         resp.json['errors'][0]['code'])
        self.assertEqual([], asked)

    def test_nested_quantifier_pattern_runs_in_linear_time(self):
        # ^(a+)+$ is ECMA-262 and RE2 runs it; Python's re took hours on
        # fifty characters that do not match (time doubles per one).
        hostile = {'type': 'object', 'properties': {
            'os_version': {'type': 'string', 'pattern': '^(a+)+$'}}}
        self.family('mine', headers=OWN, properties_schema=hostile)
        resp = self.within(lambda: self.app.post_json(
            '/v1/families/mine/images',
            {'image_id': 'img-1',
             'properties': dict(base.PROPS, os_version='a' * 49 + 'b')},
            headers=OWN, status=400))
        self.assertEqual(('image_family.invalid_properties',
                          'properties/os_version'),
                         (resp.json['errors'][0]['code'],
                          resp.json['errors'][0]['field']))
        image = self.app.post_json(
            '/v1/families/mine/images',
            {'image_id': 'img-2',
             'properties': dict(base.PROPS, os_version='a' * 50)},
            headers=OWN).json['image']
        self.assertEqual('a' * 50, image['version'])

    def test_pattern_re2_cannot_run_is_refused(self):
        self.family('mine', headers=OWN)
        for field, schema in (
                ('properties_schema/properties/os_version/pattern',
                 {'properties': {'os_version': {'pattern': '^(?=7)'}}}),
                ('properties_schema/patternProperties/^(a)\\1$',
                 {'patternProperties': {'^(a)\\1$': {}}}),
                ('properties_schema/properties/os_version/pattern',
                 {'properties': {'os_version': {'pattern': '\\A7'}}}),
                ('properties_schema/definitions/v/pattern',
                 {'definitions': {'v': {'pattern': '(?i)x'}},
                  'properties': {'os_version': {
                      '$ref': '#/definitions/v'}}})):
            for resp in (
                    self.app.post_json('/v1/families', {
                        'name': 'refused', 'properties_schema': schema},
                        headers=OWN, status=400),
                    self.app.patch_json('/v1/families/mine', {
                        'properties_schema': schema}, headers=OWN,
                        status=400)):
                self.assertEqual(('image_family.invalid_input', field),
                                 (resp.json['errors'][0]['code'],
                                  resp.json['errors'][0]['field']))
        self.app.get('/v1/families/refused', headers=OWN, status=404)

    def test_ecma_pattern_python_re_refuses_is_accepted(self):
        # Named groups and \u{...} are ECMA-262; the meta-schema's
        # "regex" format (Python's re) refused them.
        schema = {'properties': {'os_version': {
            'type': 'string',
            'pattern': '^(?<major>[0-9]+)\\.[0-9]+\\u{1F600}?$'}}}
        self.family('mine', headers=OWN, properties_schema=schema)
        self.add('mine', 'img-1', '7.9', headers=OWN)
        resp = self.app.post_json(
            '/v1/families/mine/images',
            {'image_id': 'img-2',
             'properties': dict(base.PROPS, os_version='7.9\n')},
            headers=OWN, status=400)
        self.assertEqual('properties/os_version',
                         resp.json['errors'][0]['field'])

    def test_stored_pattern_re2_refuses_is_never_run(self):
        # A family stored before patterns were checked: Python's re would
        # run this one for hours against the value below.
        legacy = {'type': 'object', 'properties': {
            'os_version': {'type': 'string', 'pattern': '^(?=a)(a+)+$'}}}
        self.family('mine', headers=OWN)
        self._store_schema('mine', legacy)
        resp = self.within(lambda: self.app.post_json(
            '/v1/families/mine/images',
            {'image_id': 'img-1',
             'properties': dict(base.PROPS, os_version='a' * 49 + 'b')},
            headers=OWN, status=400))
        error = resp.json['errors'][0]
        self.assertEqual(('image_family.invalid_properties', 'properties'),
                         (error['code'], error['field']))
        self.assertIn('never run', error['detail'])
        self.app.get('/v1/images/img-1', headers=OWN, status=404)

    def _store_schema(self, name, schema):
        """Store ``schema`` as family ``name``'s, as a family created
        before the API refused it would hold it."""
        db = database.Database(self.fixture.conf)
        self.addCleanup(db.dispose)
        with db.engine.begin() as connection:
            connection.execute(sa.update(models.Family).where(
                models.Family.name == name).values(
                    properties_schema=schema))

    def _refused_on_create_and_update(self, schema, field):
        """Family creation and update both refuse ``schema`` with a 400
        naming ``field``; nothing is written."""
        self.family('mine', headers=OWN)
        before = self.app.get('/v1/families/mine',
                              headers=OWN).json['family']
        for resp in (
                self.within(lambda: self.app.post_json('/v1/families', {
                    'name': 'refused', 'properties_schema': schema},
                    headers=OWN, status=400)),
                self.within(lambda: self.app.patch_json(
                    '/v1/families/mine', {'properties_schema': schema},
                    headers=OWN, status=400))):
            error = resp.json['errors'][0]
            self.assertEqual(('image_family.invalid_input', field),
                             (error['code'], error['field']), error)
        self.app.get('/v1/families/refused', headers=OWN, status=404)
        self.assertEqual(before, self.app.get(
            '/v1/families/mine', headers=OWN).json['family'])
        return error

    def test_self_reference_refused(self):
        # Validation recursed until the stack ran out: a 500 at each
        # join.
        error = self._refused_on_create_and_update(
            {'definitions': {'a': {'$ref': '#/definitions/a'}},
             '$ref': '#/definitions/a'},
            'properties_schema/definitions/a/$ref')
        self.assertIn('leads back to itself', error['detail'])
        # Through other references and through structure alike.
        self.app.delete('/v1/families/mine', headers=OWN, status=204)
        self._refused_on_create_and_update(
            {'definitions': {
                'a': {'allOf': [{'$ref': '#/definitions/b'}]},
                'b': {'not': {'$ref': '#/definitions/a'}}},
             'properties': {'os_version': {'$ref': '#/definitions/a'}}},
            'properties_schema/definitions/b/not/$ref')

    def test_chained_references_refused_by_expanded_size(self):
        # Each level of anyOf over two references to the level below
        # doubled the work: 18 levels took 21 s to validate 5.
        self._refused_on_create_and_update(
            base.chained_schema(18), 'properties_schema/definitions/d6/anyOf')

    def test_reference_to_nothing_or_to_no_schema_refused(self):
        # Both were a 500 (PointerToNowhere, UnknownType) at each join.
        self._refused_on_create_and_update(
            {'properties': {'os_version': {'$ref': '#/definitions/v'}}},
            'properties_schema/properties/os_version/$ref')
        self.app.delete('/v1/families/mine', headers=OWN, status=204)
        self._refused_on_create_and_update(
            {'properties': {'os_version': {'$ref': '#/x'}},
             'x': {'type': 'version'}},
            'properties_schema/properties/os_version/$ref')

    def test_schema_over_64_kib_refused(self):
        error = self._refused_on_create_and_update(
            {'type': 'object', 'description': 'x' * 65536},
            'properties_schema')
        self.assertIn('65536', error['detail'])

    def test_schema_within_the_limits_accepted(self):
        schema = {'definitions': {'v': {'type': 'string', 'maxLength': 64}},
                  'type': 'object',
                  'properties': {name: {'$ref': '#/definitions/v'}
                                 for name in base.PROPS},
                  'required': sorted(base.PROPS)}
        self.family('mine', headers=OWN, properties_schema=schema)
        self.add('mine', 'img-1', '7.9', headers=OWN)
        resp = self.app.post_json(
            '/v1/families/mine/images',
            {'image_id': 'img-2',
             'properties': dict(base.PROPS, os_version='7' * 65)},
            headers=OWN, status=400)
        self.assertEqual('properties/os_version',
                         resp.json['errors'][0]['field'])

    def test_stored_hostile_references_are_never_run(self):
        # Families stored before these rules: the join was a 500
        # (RecursionError) or took 21 s (18 chained levels).
        self.family('mine', headers=OWN)
        for legacy in (
                {'definitions': {'a': {'$ref': '#/definitions/a'}},
                 '$ref': '#/definitions/a'},
                base.chained_schema(18)):
            self._store_schema('mine', legacy)
            resp = self.within(lambda: self.app.post_json(
                '/v1/families/mine/images',
                {'image_id': 'img-1', 'properties': base.PROPS},
                headers=OWN, status=400))
            error = resp.json['errors'][0]
            self.assertEqual(('image_family.invalid_properties',
                              'properties'),
                             (error['code'], error['field']))
            self.assertIn('never run', error['detail'])
            self.app.get('/v1/images/img-1', headers=OWN, status=404)

    def test_system_family_cannot_be_private(self):
        self.app.post_json('/v1/families', {'name': 'x',
                                            'visibility': 'private'},
                           headers=base.ADMIN, status=400)

    def test_delete_refused_while_images_remain(self):
        self.family('centos-7')
        self.add('centos-7', 'img-1', '7.9')
        self.app.delete('/v1/families/centos-7', headers=base.ADMIN,
                        status=409)
        self.app.delete('/v1/families/centos-7/images/img-1',
                        headers=base.ADMIN, status=204)
        self.app.delete('/v1/families/centos-7', headers=base.ADMIN,
                        status=204)
        self.app.get('/v1/families/centos-7', headers=base.ADMIN,
                     status=404)


class TestMembership(base.ApiTestCase):

    def setUp(self):
        super().setUp()
        self.family('centos-7')

    def test_properties_checked_against_schema(self):
        resp = self.app.post_json(
            '/v1/families/centos-7/images',
            {'image_id': 'img-1', 'properties': {'os_distro': 'centos'}},
            headers=base.ADMIN, status=400)
        self.assertEqual('image_family.invalid_properties',
                         resp.json['errors'][0]['code'])
        self.app.get('/v1/images/img-1', headers=base.ADMIN, status=404)

    def test_an_image_servers_use_stays_in_its_family(self):
        """Out of its family an image is not protected from deletion in
        Glance: removing an active image that servers use let its owner
        delete it at once, without walking its lifecycle."""
        self.add('centos-7', 'img-1', '7.1', state='active')
        db = database.Database(self.fixture.conf)
        ctx = context.admin_context()
        usage.server_created(db, ctx, 'vm-1', 'img-1')
        resp = self.app.delete('/v1/families/centos-7/images/img-1',
                               headers=base.ADMIN, status=409).json
        self.assertEqual(('image_family.image_in_use', 1), (
            resp['errors'][0]['code'], resp['errors'][0]['servers']))
        self.assertEqual('centos-7', self.image('img-1')['family'])
        usage.server_deleted(db, ctx, 'vm-1')
        self.app.delete('/v1/families/centos-7/images/img-1',
                        headers=base.ADMIN, status=204)
        self.app.get('/v1/images/img-1', headers=base.ADMIN, status=404)

    def test_version_from_os_version(self):
        image = self.app.post_json(
            '/v1/families/centos-7/images',
            {'image_id': 'img-1', 'properties': dict(base.PROPS,
                                                     os_version='7.9')},
            headers=base.ADMIN).json['image']
        self.assertEqual(('7.9', 'testing'), (image['version'],
                                              image['state']))

    def test_version_property_longer_than_a_version_refused(self):
        # A property value may be an integer of any size: as the version
        # it was stored as 301 characters (a 500 on PostgreSQL, whose
        # column holds 255).
        self.family('loose', properties_schema={})
        resp = self.app.post_json(
            '/v1/families/loose/images',
            {'image_id': 'img-1', 'properties': {'os_version': 10 ** 300}},
            headers=base.ADMIN, status=400).json
        self.assertEqual(('image_family.invalid_input',
                          'properties/os_version'),
                         (resp['errors'][0]['code'],
                          resp['errors'][0]['field']))
        self.app.get('/v1/images/img-1', headers=base.ADMIN, status=404)
        image = self.app.post_json(
            '/v1/families/loose/images',
            {'image_id': 'img-1', 'properties': {'os_version': 10 ** 254}},
            headers=base.ADMIN).json['image']
        self.assertEqual(str(10 ** 254), image['version'])

    def test_image_in_one_family_only(self):
        self.family('other')
        self.add('centos-7', 'img-1', '7.9')
        self.app.post_json('/v1/families/other/images',
                           {'image_id': 'img-1', 'properties': base.PROPS},
                           headers=base.ADMIN, status=409)

    def test_testing_images_hidden_from_outsiders(self):
        self.add('centos-7', 'img-1', '7.9')
        self.app.get('/v1/images/img-1', headers=OTHER, status=404)
        listed = self.app.get('/v1/families/centos-7/images',
                              headers=OTHER).json['images']
        self.assertEqual([], listed)
        self.move('img-1', 'beta')
        self.assertEqual('beta', self.image('img-1', headers=OTHER)['state'])

    def test_writes_of_a_hidden_image_answer_as_absent(self):
        # A testing image is absent to other projects (GET is a 404);
        # moving it or cancelling its scheduled transition was a 403,
        # which told them that it exists.
        self.add('centos-7', 'img-1', '7.9')
        scheduled = self.move('img-1', 'beta',
                              at='2099-01-01T00:00:00Z')['scheduled']
        resp = self.move('img-1', 'beta', headers=OTHER, status=404)
        self.assertEqual('image_family.image_not_found',
                         resp['errors'][0]['code'])
        self.app.delete('/v1/images/img-1/transitions/%s' % scheduled['id'],
                        headers=OTHER, status=404)
        # Once others see it, changing it is refused as before.
        self.move('img-1', 'beta')
        self.move('img-1', 'active', headers=OTHER, status=403)
        self.app.delete('/v1/images/img-1/transitions/%s' % scheduled['id'],
                        headers=OTHER, status=403)

    def test_history_is_paginated(self):
        for n in range(3):
            self.add('centos-7', 'img-%d' % n, '7.%d' % n)
        page = self.app.get('/v1/families/centos-7/images?limit=2',
                            headers=base.ADMIN).json
        self.assertEqual(['img-0', 'img-1'],
                         [i['image_id'] for i in page['images']])
        rest = self.app.get(page['links'][0]['href'],
                            headers=base.ADMIN).json
        self.assertEqual(['img-2'], [i['image_id'] for i in rest['images']])

    def test_next_page_after_its_marker_left_the_family(self):
        # The next page used to start again from the first image when
        # the last image of the page (the marker) had left the family.
        for n in range(4):
            self.add('centos-7', 'img-%d' % n, '7.%d' % n)
        page = self.app.get('/v1/families/centos-7/images?limit=2',
                            headers=base.ADMIN).json
        self.app.delete('/v1/families/centos-7/images/img-1',
                        headers=base.ADMIN, status=204)
        rest = self.app.get(page['links'][0]['href'],
                            headers=base.ADMIN).json
        self.assertEqual(['img-2', 'img-3'],
                         [i['image_id'] for i in rest['images']])

    def test_unknown_marker_is_quoted_in_the_refusal(self):
        # The marker was repeated as given: a right-to-left override
        # (U+202E) reached the detail as it was.
        self.add('centos-7', 'img-0', '7.0')
        resp = self.app.get(
            '/v1/families/centos-7/images?marker=ab%E2%80%AEcd',
            headers=base.ADMIN, status=400).json
        self.assertEqual(
            'Invalid field marker: image "ab\\u202ecd" is not in image '
            'family "centos-7".', resp['errors'][0]['detail'])

    def test_unknown_marker_refused(self):
        # It used to answer the first page, as if no marker was given.
        self.add('centos-7', 'img-0', '7.0')
        self.family('other')
        self.add('other', 'img-9', '9.0')
        for marker in ('no-such-image', 'img-9'):
            resp = self.app.get(
                '/v1/families/centos-7/images?marker=%s' % marker,
                headers=base.ADMIN, status=400).json
            self.assertEqual(('image_family.invalid_marker', 'marker'),
                             (resp['errors'][0]['code'],
                              resp['errors'][0]['field']))
        # Another project does not see a testing image, as a marker
        # either.
        self.family('mine', headers=OWN, visibility='public')
        self.add('mine', 'img-t', '1.0', headers=OWN)
        self.move('img-t', 'beta', headers=OWN)
        self.add('mine', 'img-u', '1.1', headers=OWN)
        self.assertEqual(['img-t'], [i['image_id'] for i in self.app.get(
            '/v1/families/mine/images', headers=OTHER).json['images']])
        self.app.get('/v1/families/mine/images?marker=img-u',
                     headers=OTHER, status=400)
        self.assertEqual(['img-u'], [i['image_id'] for i in self.app.get(
            '/v1/families/mine/images?marker=img-t',
            headers=OWN).json['images']])
        # Nor once it has left the family: its join in the history was
        # taken as the marker's place, which told other projects that
        # an image they never saw had been a member.
        for image_id in ('img-u', 'img-t'):
            self.app.delete('/v1/families/mine/images/%s' % image_id,
                            headers=OWN, status=204)
        self.app.get('/v1/families/mine/images?marker=img-u',
                     headers=OTHER, status=400)
        self.app.get('/v1/families/mine/images?marker=img-u',
                     headers=OWN, status=200)
        # One they saw keeps its place.
        self.app.get('/v1/families/mine/images?marker=img-t',
                     headers=OTHER, status=200)


class TestLifecycle(base.ApiTestCase):

    def setUp(self):
        super().setUp()
        self.family('centos-7')
        for n, version in enumerate(['7.8', '7.9', '7.10']):
            self.add('centos-7', 'img-%d' % n, version)

    def test_latest_is_newest_active_and_rollback(self):
        self.assertIsNone(self.latest('centos-7'))
        for n in range(3):
            self.move('img-%d' % n, 'active')
        self.assertEqual('img-2', self.latest('centos-7')['image_id'])
        moved = self.move('img-2', 'deprecated', reason='breaks cloud-init')
        self.assertEqual('img-1', moved['image']['successor_id'])
        self.assertEqual('img-1', moved['image']['latest_id'])
        self.assertEqual('img-1', self.latest('centos-7')['image_id'])
        # Un-deprecate: latest again, no successor.
        moved = self.move('img-2', 'active')
        self.assertIsNone(moved['image']['successor_id'])
        self.assertEqual('img-2', self.latest('centos-7')['image_id'])

    def test_beta_channel(self):
        self.move('img-0', 'active')
        self.move('img-2', 'beta')
        self.assertEqual('img-0', self.latest('centos-7')['image_id'])
        self.assertEqual('img-2',
                         self.latest('centos-7', 'beta')['image_id'])

    def test_default_image_list_is_one_latest_per_family(self):
        self.family('ubuntu-22.04')
        self.add('ubuntu-22.04', 'u-1', '22.04.1', state='active')
        self.move('img-0', 'active')
        self.move('img-1', 'active')
        images = self.app.get('/v1/images',
                              headers=OTHER).json['images']
        self.assertEqual(['img-1', 'u-1'], [i['image_id'] for i in images])
        every = self.app.get('/v1/images?latest=false&family=centos-7'
                             '&state=active', headers=base.ADMIN).json
        self.assertEqual(['img-0', 'img-1'],
                         [i['image_id'] for i in every['images']])

    def test_image_says_which_project_owns_its_family(self):
        # The Nova filter lets a project's family decide the boots of
        # that project's own images only (hooks.nova_filter.decides_for).
        self.family('own', headers=OWN)
        self.add('own', 'img-p1', '1.0', headers=OWN)
        self.assertEqual('p1', self.image('img-p1',
                                          headers=af.SERVICE)[
                                              'family_project_id'])
        self.assertIsNone(self.image('img-0')['family_project_id'])

    def test_invalid_transition(self):
        resp = self.move('img-0', 'deprecated', status=409)
        self.assertEqual('image_family.invalid_transition',
                         resp['errors'][0]['code'])
        self.assertEqual('testing', self.image('img-0')['state'])

    def test_obsolete_may_not_boot_and_history_says_who(self):
        self.move('img-0', 'active')
        self.move('img-0', 'obsolete', reason='CVE-2024-1')
        image = self.image('img-0')
        self.assertEqual(('obsolete', False),
                         (image['state'], image['may_boot']))
        history = self.app.get('/v1/images/img-0/transitions',
                               headers=base.ADMIN).json['transitions']
        self.assertEqual([(None, 'testing'), ('testing', 'active'),
                          ('active', 'obsolete')],
                         [(h['from'], h['to']) for h in history])
        self.assertEqual(('user-1', 'CVE-2024-1'),
                         (history[-1]['user_id'], history[-1]['reason']))

    def test_delete_unused_obsolete_image(self):
        self.move('img-0', 'obsolete')
        image = self.move('img-0', 'deleted')['image']
        self.assertEqual('deleted', image['state'])

    def test_retention_obsoletes_beyond_n(self):
        self.app.patch_json('/v1/families/centos-7', {'keep_superseded': 1},
                            headers=base.ADMIN)
        for n in range(3):
            self.move('img-%d' % n, 'active')
        states = [self.image('img-%d' % n)['state'] for n in range(3)]
        self.assertEqual(['obsolete', 'active', 'active'], states)
        self.assertEqual('img-2', self.image('img-0')['successor_id'])

    def test_scheduled_transition_happens_when_due(self):
        self.move('img-0', 'active')
        at = (datetime.datetime.now(datetime.timezone.utc) +
              datetime.timedelta(hours=1))
        answer = self.move('img-0', 'deprecated', at=at.isoformat(),
                           reason='planned')
        scheduled = answer['scheduled']
        self.assertEqual('pending', scheduled['status'])
        self.assertEqual('active', answer['image']['state'])
        self.assertEqual([scheduled['id']],
                         [s['id'] for s in answer['image']['scheduled']])
        db = database.Database(self.fixture.conf)
        self.addCleanup(db.dispose)
        engine.apply_schedule(db)
        self.assertEqual('active', self.image('img-0')['state'])
        later = (at + datetime.timedelta(minutes=1)).replace(tzinfo=None)
        events = engine.apply_schedule(db, now=later)
        self.assertEqual(['image_family.transition'],
                         [e.event_type for e in events])
        image = self.image('img-0')
        self.assertEqual(('deprecated', []),
                         (image['state'], image['scheduled']))
        history = self.app.get('/v1/images/img-0/transitions',
                               headers=base.ADMIN).json
        self.assertEqual(('scheduled', 'planned', 'user-1'),
                         (history['transitions'][-1]['cause'],
                          history['transitions'][-1]['reason'],
                          history['transitions'][-1]['user_id']))

    def test_scheduled_at_one_time_made_in_the_order_scheduled(self):
        # "deprecated", then "obsolete", scheduled for one time: the
        # later-scheduled one wins.  Their rows are read back in another
        # order than they were scheduled in (PostgreSQL puts a row where
        # a removed one left room), and their ids sort in that order too.
        self.move('img-0', 'active')
        db = database.Database(self.fixture.conf)
        self.addCleanup(db.dispose)
        at = families_db.now() + datetime.timedelta(hours=1)
        first = families_db.now()
        rows = [('00000000-0000-4000-8000-000000000000', 'obsolete',
                 first + datetime.timedelta(seconds=1)),
                ('ffffffff-ffff-4fff-bfff-ffffffffffff', 'deprecated',
                 first)]
        with db.writer.using(context.admin_context()) as session:
            for scheduled_id, to_state, created_at in rows:
                session.add(models.ScheduledTransition(
                    id=scheduled_id, image_id='img-0', to_state=to_state,
                    due_at=at, user_id='user-1', status=members.PENDING,
                    created_at=created_at))
                session.flush()
        self.assertEqual(['deprecated', 'obsolete'], [
            s['to'] for s in self.image('img-0')['scheduled']])
        engine.apply_schedule(db, now=at + datetime.timedelta(minutes=1))
        self.assertEqual('obsolete', self.image('img-0')['state'])
        history = self.app.get('/v1/images/img-0/transitions',
                               headers=base.ADMIN).json['transitions']
        self.assertEqual(['deprecated', 'obsolete'],
                         [t['to'] for t in history[-2:]])

    def test_scheduled_transition_cancelled(self):
        answer = self.move('img-0', 'active', at='2099-01-01T00:00:00Z')
        self.app.delete('/v1/images/img-0/transitions/%s'
                        % answer['scheduled']['id'], headers=base.ADMIN,
                        status=204)
        self.assertEqual([], self.image('img-0')['scheduled'])

    def test_pending_scheduled_transitions_are_bounded(self):
        # Each pending scheduled transition is shown in every view of
        # the image; there was no bound: 2000 of them made each view of
        # the image 344 kB.
        for minute in range(members.MAX_PENDING_SCHEDULED):
            self.move('img-0', 'active',
                      at='2099-01-01T00:%02d:00Z' % minute)
        resp = self.move('img-0', 'active', at='2099-01-01T01:00:00Z',
                         status=409)
        self.assertEqual('image_family.too_many_scheduled',
                         resp['errors'][0]['code'])
        image = self.image('img-0')
        self.assertEqual(members.MAX_PENDING_SCHEDULED,
                         len(image['scheduled']))
        # Cancelling one makes room again.
        self.app.delete('/v1/images/img-0/transitions/%s'
                        % image['scheduled'][0]['id'], headers=base.ADMIN,
                        status=204)
        self.move('img-0', 'active', at='2099-01-01T01:00:00Z')

    def test_transitions_list_only_the_scheduled_ones_waiting(self):
        # Scheduled transitions applied or failed stayed in the
        # "scheduled" of GET .../transitions for ever (the API reference
        # says it lists the pending ones, the CLI "at most 10"): an image
        # moved back and forth on a schedule grew that unpaginated list
        # without bound.
        self.move('img-0', 'active')
        db = database.Database(self.fixture.conf)
        self.addCleanup(db.dispose)
        start = datetime.datetime.now(datetime.timezone.utc)
        for n in range(2 * members.MAX_PENDING_SCHEDULED):
            at = start + datetime.timedelta(hours=1, minutes=n)
            self.move('img-0', 'deprecated' if n % 2 == 0 else 'active',
                      at=at.isoformat())
            engine.apply_schedule(db, now=(at + datetime.timedelta(
                seconds=1)).replace(tzinfo=None))
        # One that fails when due: the image is deprecated by then.
        at = start + datetime.timedelta(hours=2)
        self.move('img-0', 'deprecated', at=at.isoformat())
        self.move('img-0', 'deprecated')
        engine.apply_schedule(db, now=(at + datetime.timedelta(
            seconds=1)).replace(tzinfo=None))
        waiting = self.move('img-0', 'obsolete',
                            at='2099-01-01T00:00:00Z')['scheduled']
        listed = self.app.get('/v1/images/img-0/transitions',
                              headers=base.ADMIN).json
        self.assertEqual([(waiting['id'], 'pending')],
                         [(s['id'], s['status'])
                          for s in listed['scheduled']])
        self.assertEqual([waiting['id']],
                         [s['id'] for s in self.image('img-0')['scheduled']])

    def test_history_of_an_image_is_paginated(self):
        # An image may go back and forth (active, deprecated, active ...)
        # for ever; its whole history came in one answer.
        self.move('img-0', 'active')
        for _ in range(2):
            self.move('img-0', 'deprecated')
            self.move('img-0', 'active')
        path = '/v1/images/img-0/transitions'
        everything = self.app.get(path, headers=base.ADMIN).json
        self.assertEqual([None, 'testing', 'active', 'deprecated', 'active',
                          'deprecated'],
                         [t['from'] for t in everything['transitions']])
        self.assertEqual([], everything['links'])
        seen, href = [], path + '?limit=2'
        while href:
            page = self.app.get(href, headers=base.ADMIN).json
            self.assertLessEqual(len(page['transitions']), 2)
            seen += page['transitions']
            href = page['links'][0]['href'] if page['links'] else None
        self.assertEqual(everything['transitions'], seen)
        resp = self.app.get(path + '?marker=x', headers=base.ADMIN,
                            status=400).json
        self.assertEqual('marker', resp['errors'][0]['field'])

    def test_past_time_refused(self):
        resp = self.move('img-0', 'active', at='2000-01-01T00:00:00Z',
                         status=400)
        self.assertEqual('at', resp['errors'][0]['field'])

    def test_time_out_of_range_in_utc_refused(self):
        # Valid ISO 8601 times whose UTC time is outside the years 1 to
        # 9999 were a 500; nothing is scheduled.
        for at in ('9999-12-31T23:59:59-14:00', '0001-01-01T00:00:00+01:00'):
            resp = self.move('img-0', 'active', at=at, status=400)
            self.assertEqual(('image_family.invalid_input', 'at'),
                             (resp['errors'][0]['code'],
                              resp['errors'][0]['field']), at)
        self.assertEqual([], self.image('img-0')['scheduled'])


class _ScheduleClock(base.ApiTestCase):
    """A scheduled transition happens at its time by the database's
    clock, whatever the clock of the host that applies it or of the API
    host that took it.  The engine read its own host's clock: a host two
    hours ahead made an image obsolete two hours before the time its
    owners had announced, one behind two hours late (and an API host
    behind took a time already past)."""

    def setUp(self):
        super().setUp()
        self.family('centos-7')
        self.add('centos-7', 'img-0', '7.0', state='active')
        self.db = database.Database(self.fixture.conf)
        self.addCleanup(self.db.dispose)

    def host_clock(self, hours):
        """This process's clock moved by ``hours``."""
        moved = datetime.timedelta(hours=hours)
        real = families_db.now
        self.useFixture(fixtures.MockPatch(
            'image_family_svc.db.families.now', lambda: real() + moved))

    def test_engine_host_ahead_applies_nothing_early(self):
        at = (datetime.datetime.now(datetime.timezone.utc) +
              datetime.timedelta(hours=1))
        self.move('img-0', 'obsolete', at=at.isoformat())
        self.host_clock(2)
        engine.apply_schedule(self.db)
        self.assertEqual('active', self.image('img-0')['state'])

    def test_engine_host_behind_applies_what_is_due(self):
        at = (datetime.datetime.now(datetime.timezone.utc) +
              datetime.timedelta(seconds=1))
        self.move('img-0', 'obsolete', at=at.isoformat())
        self.host_clock(-2)
        deadline = time.monotonic() + 30
        while self.image('img-0')['state'] != 'obsolete':
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.2)
            engine.apply_schedule(self.db)

    def test_api_host_behind_refuses_a_past_time(self):
        self.host_clock(-2)
        at = (datetime.datetime.now(datetime.timezone.utc) -
              datetime.timedelta(hours=1))
        resp = self.move('img-0', 'obsolete', at=at.isoformat(), status=400)
        self.assertEqual('at', resp['errors'][0]['field'])

    def test_api_host_ahead_takes_a_time_to_come(self):
        self.host_clock(2)
        at = (datetime.datetime.now(datetime.timezone.utc) +
              datetime.timedelta(hours=1))
        self.assertEqual('pending', self.move(
            'img-0', 'obsolete', at=at.isoformat())['scheduled']['status'])


class TestScheduleClockSQLite(_ScheduleClock):
    pass


class TestScheduleClockPostgreSQL(_ScheduleClock):

    def setUp(self):
        url = self.useFixture(postgresql.Database()).url
        self.OVERRIDES = {('database', 'connection'): url}
        super().setUp()


class _ParallelPromotions(object):
    """Promotions of every image of one family at once leave exactly one
    latest: the newest active one."""

    IMAGES = 8

    def test_parallel_promotions_leave_one_latest(self):
        self.family('centos-7', keep_superseded=2)
        for n in range(self.IMAGES):
            self.add('centos-7', 'img-%02d' % n, '7.%d' % n)
        barrier = threading.Barrier(self.IMAGES)
        failures = []

        def promote(image_id):
            barrier.wait()
            resp = self.app.post_json(
                '/v1/images/%s/transitions' % image_id, {'to': 'active'},
                headers=base.ADMIN, expect_errors=True)
            if resp.status_int != 200:
                failures.append(resp.json)

        threads = [threading.Thread(target=promote, args=('img-%02d' % n,))
                   for n in range(self.IMAGES)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertEqual([], failures)
        newest = 'img-%02d' % (self.IMAGES - 1)
        family = self.app.get('/v1/families/centos-7',
                              headers=base.ADMIN).json['family']
        self.assertEqual(newest, family['latest_id'])
        states = {i['image_id']: i['state'] for i in self.app.get(
            '/v1/families/centos-7/images', headers=base.ADMIN).json[
            'images']}
        # The latest and the two newest superseded stay active.
        self.assertEqual(3, list(states.values()).count('active'))
        self.assertEqual('active', states[newest])
        self.assertEqual(self.IMAGES - 3,
                         list(states.values()).count('obsolete'))


class TestParallelPromotionsSQLite(_ParallelPromotions, base.ApiTestCase):
    pass


class TestParallelPromotionsPostgreSQL(_ParallelPromotions,
                                       base.ApiTestCase):

    def setUp(self):
        url = self.useFixture(postgresql.Database()).url
        self.OVERRIDES = {('database', 'connection'): url}
        super().setUp()


class _RaceOnPostgreSQL(base.ApiTestCase):
    """A request sent while another transaction holds a row it needs."""

    def setUp(self):
        url = self.useFixture(postgresql.Database()).url
        self.OVERRIDES = {('database', 'connection'): url}
        super().setUp()
        self.engine = sa.create_engine(url)
        self.addCleanup(self.engine.dispose)

    def _waiting_for_a_lock(self):
        with self.engine.connect() as conn:
            return conn.scalar(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE "
                "wait_event_type = 'Lock' AND "
                "datname = current_database()"))

    def while_held(self, hold, then, send):
        """The answer of ``send()``, sent while another transaction has
        run the SQL ``hold``; once ``send`` waits for a lock, that
        transaction runs ``then`` and commits."""
        answers = []
        with self.engine.connect() as other:
            other.execute(sa.text(hold))
            thread = threading.Thread(target=lambda: answers.append(send()))
            thread.start()
            for _ in range(200):
                if self._waiting_for_a_lock():
                    break
                thread.join(0.05)
            other.execute(sa.text(then))
            other.commit()
        thread.join(30)
        self.assertFalse(thread.is_alive())
        return answers[0]

    def count(self, table):
        with self.engine.connect() as conn:
            return conn.scalar(sa.text('SELECT count(*) FROM %s' % table))


class TestFamilyDeletedMeanwhilePostgreSQL(_RaceOnPostgreSQL):
    """A request that changes a family waits for the lock of a
    transaction that deletes it: once that commits, the family is gone,
    a 404. The request used to find the family first and lock it after:
    its write then hit a deleted row, a 500."""

    def setUp(self):
        super().setUp()
        self.family('centos-7')

    def _while_deleted(self, send):
        return self.while_held(
            "SELECT id FROM families WHERE name = 'centos-7' FOR UPDATE",
            "DELETE FROM families WHERE name = 'centos-7'", send)

    def assertGone(self, resp):
        self.assertEqual(404, resp.status_int, resp.body)
        self.assertEqual('image_family.family_not_found',
                         resp.json['errors'][0]['code'])

    def test_update(self):
        self.assertGone(self._while_deleted(lambda: self.app.patch_json(
            '/v1/families/centos-7', {'keep_superseded': 1},
            headers=base.ADMIN, expect_errors=True)))

    def test_add_image(self):
        self.assertGone(self._while_deleted(lambda: self.app.post_json(
            '/v1/families/centos-7/images',
            {'image_id': 'img-1', 'properties': base.PROPS},
            headers=base.ADMIN, expect_errors=True)))
        self.assertEqual(0, self.count('family_images'))

    def test_delete(self):
        self.assertGone(self._while_deleted(lambda: self.app.delete(
            '/v1/families/centos-7', headers=base.ADMIN,
            expect_errors=True)))


class TestScheduledAppliedMeanwhilePostgreSQL(_RaceOnPostgreSQL):

    def test_cancel_of_a_transition_applied_meanwhile_is_refused(self):
        # The engine applies a due transition (it holds the row, then
        # marks it done) while its owner cancels it. The cancel used to
        # answer 204 and delete the record of a transition that happened.
        self.family('centos-7')
        self.add('centos-7', 'img-0', '7.0')
        scheduled = self.move('img-0', 'active',
                              at='2099-01-01T00:00:00Z')['scheduled']
        resp = self.while_held(
            "SELECT id FROM scheduled_transitions FOR UPDATE",
            "UPDATE scheduled_transitions SET status = 'done'",
            lambda: self.app.delete(
                '/v1/images/img-0/transitions/%s' % scheduled['id'],
                headers=base.ADMIN, expect_errors=True))
        self.assertEqual(404, resp.status_int, resp.body)
        self.assertEqual('image_family.transition_not_found',
                         resp.json['errors'][0]['code'])
        self.assertEqual(1, self.count('scheduled_transitions'))


class TestSameImageJoinsTwoFamiliesPostgreSQL(_RaceOnPostgreSQL):

    def test_second_join_is_a_conflict(self):
        # Another request adds the image to another family and commits
        # while this one inserts it: this one used to fail on the
        # duplicate key, a 500.
        self.family('centos-7')
        self.family('rocky-9')
        resp = self.while_held(
            "INSERT INTO family_images (image_id, family_id, state, "
            "properties, joined_at, state_changed_at) SELECT 'img-1', id, "
            "'testing', '{}', now(), now() FROM families "
            "WHERE name = 'rocky-9'", 'SELECT 1',
            lambda: self.app.post_json(
                '/v1/families/centos-7/images',
                {'image_id': 'img-1', 'properties': base.PROPS},
                headers=base.ADMIN, expect_errors=True))
        self.assertEqual(409, resp.status_int, resp.body)
        self.assertEqual('image_family.image_in_family',
                         resp.json['errors'][0]['code'])
        self.assertEqual('rocky-9', self.image('img-1')['family'])


class _FamilyLimit(object):
    """A project owns at most [image_family] max_families_per_project
    families; any project member created families without end."""

    def setUp(self):
        super().setUp()
        self.fixture.conf.set_override('max_families_per_project', 2,
                                       'image_family')

    def test_a_project_owns_at_most_the_limit(self):
        self.family('p1-a', headers=OWN)
        self.family('p1-b', headers=OWN)
        resp = self.app.post_json('/v1/families', {'name': 'p1-c'},
                                  headers=OWN, status=409).json
        self.assertEqual(('image_family.too_many_families', 2),
                         (resp['errors'][0]['code'],
                          resp['errors'][0]['limit']))
        self.app.get('/v1/families/p1-c', headers=base.ADMIN, status=404)
        # Another project, and the cloud's families, are not counted.
        self.family('p2-a', headers=OTHER)
        for name in ('sys-a', 'sys-b', 'sys-c'):
            self.family(name)
        # Room again once one is deleted.
        self.app.delete('/v1/families/p1-a', headers=OWN, status=204)
        self.family('p1-c', headers=OWN)


class TestFamilyLimitSQLite(_FamilyLimit, base.ApiTestCase):
    pass


class TestFamilyLimitPostgreSQL(_FamilyLimit, _RaceOnPostgreSQL):

    def test_two_creations_at_once_do_not_pass_the_limit(self):
        # Another creation of p1's holds the project's count while this
        # one is sent; it commits p1's second family: this one must find
        # no room (it used to count before the other committed).
        self.family('p1-a', headers=OWN)
        resp = self.while_held(
            'SELECT pg_advisory_xact_lock(%d, hashtext(\'p1\'))'
            % families_db.PROJECT_LOCK_CLASS,
            "INSERT INTO families (id, name, project_id, visibility, "
            "properties_schema, created_at) VALUES ('f-b', 'p1-b', 'p1', "
            "'private', '{}', now())",
            lambda: self.app.post_json('/v1/families', {'name': 'p1-c'},
                                       headers=OWN, expect_errors=True))
        self.assertEqual(409, resp.status_int, resp.body)
        self.assertEqual(2, self.count('families'))


class _FamilyImagesLimit(object):
    """A project's family holds at most [image_family]
    max_images_per_project_family images added through the API; with the
    noop driver a project's members added any image ID without end."""

    def setUp(self):
        super().setUp()
        self.fixture.conf.set_override('max_images_per_project_family', 2,
                                       'image_family')
        self.family('own', headers=OWN)

    def add_own(self, image_id, status=201):
        return self.app.post_json(
            '/v1/families/own/images',
            {'image_id': image_id, 'properties': base.PROPS},
            headers=OWN, status=status).json

    def test_a_projects_family_holds_at_most_the_limit(self):
        self.add_own('img-1')
        self.add_own('img-2')
        resp = self.add_own('img-3', status=409)
        self.assertEqual(('image_family.too_many_images', 2),
                         (resp['errors'][0]['code'],
                          resp['errors'][0]['limit']))
        self.app.get('/v1/images/img-3', headers=base.ADMIN, status=404)
        # The cloud's families have no limit.
        self.family('centos-7')
        for n in range(3):
            self.add('centos-7', 'img-c%d' % n, '7.%d' % n)
        # Room again once one is taken out.
        self.app.delete('/v1/families/own/images/img-1', headers=OWN,
                        status=204)
        self.add_own('img-3')


class TestFamilyImagesLimitSQLite(_FamilyImagesLimit, base.ApiTestCase):
    pass


class TestFamilyImagesLimitPostgreSQL(_FamilyImagesLimit,
                                      _RaceOnPostgreSQL):

    def test_two_adds_at_once_do_not_pass_the_limit(self):
        # Another transaction holds the family's lock and adds its
        # second image: this add waits, then finds no room.
        self.add_own('img-1')
        resp = self.while_held(
            "SELECT id FROM families WHERE name = 'own' FOR UPDATE",
            "INSERT INTO family_images (image_id, family_id, state, "
            "properties, joined_at, state_changed_at) SELECT 'img-2', id, "
            "'testing', '{}', now(), now() FROM families "
            "WHERE name = 'own'",
            lambda: self.app.post_json(
                '/v1/families/own/images',
                {'image_id': 'img-3', 'properties': base.PROPS},
                headers=OWN, expect_errors=True))
        self.assertEqual(409, resp.status_int, resp.body)
        self.assertEqual(2, self.count('family_images'))
