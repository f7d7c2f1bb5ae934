"""The glance driver's requests, against a stand-in of Glance's image API
(the real Glance is driven in
:mod:`image_family_svc.tests.functional.test_end_to_end`), and the
parsing of Nova's and Cinder's answers for the usage reconciliation."""

import contextlib
import json
import logging
import uuid

import fixtures
from keystoneauth1 import exceptions as ks_exc
import testtools

from image_family_svc.clients import compute
from image_family_svc.db import glance_writes
from image_family_svc import glance
from image_family_svc import lifecycle as lc
from image_family_svc import notifications
from image_family_svc import service
from svc_common import config


class Response(object):
    def __init__(self, status_code, body=None, url=''):
        self.status_code = status_code
        self._body = body
        self.url = url
        self.text = json.dumps(body) if body is not None else ''
        self.headers = {'Content-Type': 'application/json'}
        self.request = None

    def json(self):
        return self._body


class FakeGlance(object):
    """Glance's image API as a keystoneauth1 adapter sees it."""

    def __init__(self, images=None, cache_status=202):
        self.images = images or {}
        self.calls = []
        self.cache_status = cache_status

    def request(self, url, method, raise_exc=True, **kwargs):
        self.calls.append((method, url, kwargs.get('json')))
        if '/v2/cache/' in url:
            return Response(self.cache_status, url=url)
        image_id = url.rsplit('/', 1)[-1]
        image = self.images.get(image_id)
        if image is None:
            return Response(404, {'message': 'not found'}, url)
        if method == 'GET':
            return Response(200, dict(image), url)
        if method == 'DELETE':
            del self.images[image_id]
            return Response(204, url=url)
        if method == 'PATCH':
            for op in kwargs['json']:
                name = op['path'][1:]
                if op['op'] == 'remove':
                    del image[name]
                else:
                    image[name] = op['value']
            return Response(200, dict(image), url)
        raise AssertionError(method)

    def writes(self):
        return [c for c in self.calls if c[0] != 'GET']


class FakeLedger(object):
    """The database's side of the driver
    (:class:`image_family_svc.db.glance_writes.Ledger`): each image's
    committed state and record."""

    def __init__(self):
        self.states = {}
        self.tokens = {}
        self.checks = {}
        self.held = []
        self.gone = []

    @contextlib.contextmanager
    def locked(self, image_id):
        self.held.append(image_id)
        yield

    def current(self, image_id):
        return self.tokens.get(image_id), self.states.get(image_id)

    def done(self, image_id, token):
        if self.tokens.get(image_id) == token:
            del self.tokens[image_id]

    def postpone(self, image_id, token):
        pass

    def deleted(self, image_id):
        self.gone.append(image_id)

    def still_uploading(self, image_id, token):
        """The checks in a row that found the image uploading."""
        if self.tokens.get(image_id) != token:
            return None
        self.checks[image_id] = self.checks.get(image_id, 0) + 1
        return self.checks[image_id]

    def commit(self, event):
        """What the database holds once ``event`` is committed."""
        payload = event.payload
        image_id = payload['image_id']
        if event.event_type == notifications.LEAVE:
            self.states.pop(image_id, None)
        else:
            self.states[image_id] = glance_writes.ImageState(
                payload['family'], payload.get('to_state',
                                               payload.get('state')),
                payload.get('successor_id'))
        self.tokens[image_id] = uuid.uuid4().hex
        self.checks.pop(image_id, None)


def transition(image_id, from_state, to_state, successor=None,
               latest=None):
    return notifications.Event(notifications.TRANSITION, {
        'image_id': image_id, 'family': 'centos-7', 'from_state': from_state,
        'to_state': to_state, 'successor_id': successor,
        'latest_id': latest})


class TestGlanceApiDriver(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = config.build_conf(service.SPEC, overrides={
            ('image_family', 'glance_driver'): 'glance',
            ('glance', 'cache_api_urls'): ['http://g1:9292',
                                           'http://g2:9292/']})
        self.glance = FakeGlance({'img-1': {'id': 'img-1',
                                            'status': 'active',
                                            'os_hidden': False,
                                            'arbiter_family': 'centos-7'},
                                  'img-2': {'id': 'img-2',
                                            'status': 'active',
                                            'os_hidden': False}})
        self.ledger = FakeLedger()
        self.driver = glance.GlanceApiDriver(self.conf, self.ledger,
                                             adapter=self.glance)

    def apply(self, event, driver=None):
        """``event`` committed, then handed to the driver."""
        self.ledger.commit(event)
        (driver or self.driver).event(event)

    def test_load_driver_by_name_once_per_conf(self):
        db = object.__new__(type('Db', (), {}))
        driver = glance.load_driver(self.conf, db)
        self.assertIsInstance(driver, glance.GlanceApiDriver)
        self.assertIs(db, driver.ledger.db)
        self.assertIs(driver, glance.load_driver(self.conf, db))
        noop = config.build_conf(service.SPEC)
        self.assertIsInstance(glance.load_driver(noop, db),
                              glance.NoopDriver)

    def test_writes_the_committed_state_not_the_events(self):
        # The engine hands over a join after the API process committed
        # (and wrote) the image's promotion: Glance keeps saying active.
        self.apply(transition('img-2', 'testing', 'active'))
        self.driver.event(notifications.Event(notifications.JOIN, {
            'image_id': 'img-2', 'family': 'centos-7', 'state': 'testing'}))
        self.assertEqual('active',
                         self.glance.images['img-2']['arbiter_family_state'])
        self.assertEqual(['img-2', 'img-2'], self.ledger.held)
        self.assertEqual({}, self.ledger.tokens)

    def test_record_stays_until_glance_is_written(self):
        self.glance.images['img-2']['status'] = 'saving'
        self.apply(notifications.Event(notifications.JOIN, {
            'image_id': 'img-2', 'family': 'centos-7', 'state': 'testing'}))
        self.assertIn('img-2', self.ledger.tokens)
        self.glance.images['img-2']['status'] = 'active'
        self.assertEqual(
            [{'op': 'add', 'path': '/arbiter_family', 'value': 'centos-7'},
             {'op': 'add', 'path': '/arbiter_family_state',
              'value': 'testing'}], self.driver.sync('img-2'))
        self.assertEqual({}, self.ledger.tokens)

    def test_killed_image_is_never_written(self):
        self.glance.images['img-2']['status'] = 'killed'
        self.apply(notifications.Event(notifications.JOIN, {
            'image_id': 'img-2', 'family': 'centos-7', 'state': 'testing'}))
        self.assertEqual([], self.glance.writes())
        self.assertEqual({}, self.ledger.tokens)

    def test_deleted_image_is_not_written(self):
        self.apply(transition('img-1', 'pending_delete', lc.DELETED))
        self.assertEqual([], self.driver.sync('img-1'))

    def test_join_writes_state_and_family(self):
        self.apply(notifications.Event(notifications.JOIN, {
            'image_id': 'img-2', 'family': 'centos-7', 'state': 'testing'}))
        self.assertEqual({'id': 'img-2', 'status': 'active',
                          'os_hidden': False,
                          'arbiter_family': 'centos-7',
                          'arbiter_family_state': 'testing'},
                         self.glance.images['img-2'])

    def test_image_being_uploaded_is_not_patched(self):
        self.glance.images['img-2']['status'] = 'saving'
        self.apply(notifications.Event(notifications.JOIN, {
            'image_id': 'img-2', 'family': 'centos-7', 'state': 'testing'}))
        self.assertEqual([], self.glance.writes())

    def test_deprecate_hides_and_names_successor(self):
        self.apply(transition('img-1', 'active', 'deprecated',
                              successor='img-2', latest='img-2'))
        image = self.glance.images['img-1']
        self.assertTrue(image['os_hidden'])
        self.assertEqual('deprecated', image['arbiter_family_state'])
        self.assertEqual('img-2', image['arbiter_family_successor'])
        # Deprecating the latest hands "latest" to img-2: pre-seeded.
        self.assertEqual(
            [('PUT', 'http://g1:9292/v2/cache/img-2', None),
             ('PUT', 'http://g2:9292/v2/cache/img-2', None)],
            [c for c in self.glance.writes() if c[0] == 'PUT'])

    def test_obsolete_is_hidden_never_deactivated(self):
        self.apply(transition('img-1', 'deprecated', 'obsolete'))
        self.assertTrue(self.glance.images['img-1']['os_hidden'])
        self.assertEqual(['PATCH'], [c[0] for c in self.glance.writes()])
        self.assertNotIn('deactivate', str(self.glance.calls))

    def test_promotion_to_latest_is_precached_on_every_node(self):
        self.apply(transition('img-2', 'testing', 'active',
                              latest='img-2'))
        puts = [c[1] for c in self.glance.writes() if c[0] == 'PUT']
        self.assertEqual(['http://g1:9292/v2/cache/img-2',
                          'http://g2:9292/v2/cache/img-2'], puts)

    def test_active_but_not_latest_is_not_precached(self):
        self.apply(transition('img-2', 'testing', 'active',
                              latest='img-1'))
        self.assertNotIn('PUT', [c[0] for c in self.glance.writes()])

    def test_node_without_cache_is_skipped(self):
        self.glance.cache_status = 404
        self.assertEqual([], self.driver.precache('img-1'))

    def test_unreachable_cache_node_is_skipped_not_an_outage(self):
        """A cache node that does not answer (down for maintenance) is
        skipped, as one without a cache is: the next nodes still queue
        the image, and the process goes on writing Glance.  It raised
        out of the promotion's event: the nodes after it were not asked,
        and the process rested (OUTAGE_REST) as if Glance were away,
        leaving the next minute's changes to the engine's retries."""

        class NodeDown(FakeGlance):
            def request(self, url, method, **kwargs):
                if url.startswith('http://g1:9292'):
                    self.calls.append((method, url, None))
                    raise ks_exc.ConnectFailure('Unable to establish '
                                                'connection to %s' % url)
                return super().request(url, method, **kwargs)

        node_down = NodeDown(self.glance.images)
        driver = glance.GlanceApiDriver(self.conf, self.ledger,
                                        adapter=node_down,
                                        clock=lambda: 0.0)
        with fixtures.FakeLogger(level=logging.WARNING) as log:
            self.apply(transition('img-2', 'testing', 'active',
                                  latest='img-2'), driver)
        self.assertEqual(['http://g1:9292/v2/cache/img-2',
                          'http://g2:9292/v2/cache/img-2'],
                         [c[1] for c in node_down.calls if c[0] == 'PUT'])
        self.assertIn('http://g1:9292', log.output)
        # Glance itself answers: the next change is written at once.
        self.apply(transition('img-1', 'active', 'deprecated'), driver)
        self.assertTrue(self.glance.images['img-1']['os_hidden'])
        self.assertNotIn('img-1', self.ledger.tokens)

    def test_undeprecate_clears_hidden_and_successor(self):
        self.glance.images['img-1'].update(
            os_hidden=True, arbiter_family_state='deprecated',
            arbiter_family_successor='img-2')
        self.apply(transition('img-1', 'deprecated', 'active',
                              latest='img-1'))
        image = self.glance.images['img-1']
        self.assertFalse(image['os_hidden'])
        self.assertNotIn('arbiter_family_successor', image)

    def test_unchanged_state_sends_no_patch(self):
        self.glance.images['img-1'].update(
            os_hidden=True, arbiter_family_state='obsolete')
        self.apply(transition('img-1', 'deprecated', 'obsolete'))
        self.assertEqual([], self.glance.writes())

    def test_deleted_deletes_in_glance(self):
        self.apply(transition('img-1', 'pending_delete', 'deleted'))
        self.assertNotIn('img-1', self.glance.images)
        # Already gone: nothing to do, no error.
        self.apply(transition('img-1', 'pending_delete', 'deleted'))
        self.assertEqual(['img-1', 'img-1'], self.ledger.gone)

    def test_delete_images_off_keeps_the_image(self):
        self.conf.set_override('delete_images', False, group='glance')
        self.apply(transition('img-1', 'pending_delete', 'deleted'))
        self.assertIn('img-1', self.glance.images)
        self.assertEqual([], self.ledger.gone)

    def test_leave_removes_family_properties(self):
        self.glance.images['img-1'].update(
            os_hidden=True, arbiter_family_state='deprecated')
        self.apply(notifications.Event(notifications.LEAVE, {
            'image_id': 'img-1', 'family': 'centos-7'}))
        self.assertEqual({'id': 'img-1', 'status': 'active',
                          'os_hidden': False},
                         self.glance.images['img-1'])
        # An image deleted in Glance leaves quietly.
        self.apply(notifications.Event(notifications.LEAVE, {
            'image_id': 'gone', 'family': 'centos-7'}))

    def test_glance_error_is_raised(self):
        class Refusing(FakeGlance):
            def request(self, url, method, **kwargs):
                if method == 'PATCH':
                    return Response(403, {'message': 'no'}, url)
                return super().request(url, method, **kwargs)
        driver = glance.GlanceApiDriver(self.conf, self.ledger,
                                        adapter=Refusing(self.glance.images))
        self.assertRaises(glance.GlanceDriverError, self.apply,
                          transition('img-1', 'active', 'deprecated'),
                          driver)
        # The image's record stays, for the engine's retry.
        self.assertIn('img-1', self.ledger.tokens)

    def test_an_outage_is_logged_once_not_per_image(self):
        """Glance answering 503, then down, to the changes of several
        images: one warning, no traceback (there was one per image and
        change); the first answer after it, one info line.  A refusal of
        one image is no outage: its traceback names it."""
        log = self.useFixture(fixtures.FakeLogger(
            level=logging.INFO, format='%(levelname)s %(message)s'))
        away = [503]

        class Away(FakeGlance):
            def request(self, url, method, **kwargs):
                if away[0] == 503:
                    return Response(503, {'message': 'restarting'}, url)
                if away[0] == 'down':
                    raise ks_exc.ConnectFailure('Unable to establish '
                                                'connection to %s' % url)
                if method == 'PATCH' and 'img-2' in url:
                    return Response(403, {'message': 'no'}, url)
                return super().request(url, method, **kwargs)

        now = [0.0]
        driver = glance.GlanceApiDriver(self.conf, self.ledger,
                                        adapter=Away(self.glance.images),
                                        clock=lambda: now[0])
        events = [transition('img-1', 'active', 'deprecated'),
                  transition('img-2', 'testing', 'active')]
        for state in (503, 'down'):
            away[0] = state
            for event in events:
                self.ledger.commit(event)
                notifications.drive(driver, event)
                # (Within OUTAGE_REST the next change would not be sent.)
                now[0] += glance.OUTAGE_REST
        self.assertEqual(1, log.output.count('Writing to Glance failed'),
                         log.output)
        self.assertIn('WARNING Writing to Glance failed, a service it '
                      'depends on failed (GlanceDriverError: ',
                      log.output)
        self.assertNotIn('Traceback', log.output)
        away[0] = None
        for event in events:
            notifications.drive(driver, event)
        self.assertIn('INFO Writing to Glance succeeded again, after 4 '
                      'failure(s)', log.output)
        self.assertIn('ERROR The Glance driver failed on '
                      'image_family.transition of img-2', log.output)
        self.assertEqual(1, log.output.count('Traceback'))

    def test_changes_after_an_outage_are_left_to_the_retries(self):
        """For OUTAGE_REST seconds after a change failed because Glance
        was away, the next changes send nothing (each waited for
        Glance's timeout) and stay recorded; a refusal (a 500) is no
        outage and the next change is sent."""
        answers = []

        class Away(FakeGlance):
            def request(self, url, method, **kwargs):
                answers.append((method, url))
                if away[0]:
                    return Response(away[0], {'message': 'no'}, url)
                return super().request(url, method, **kwargs)

        away = [504]
        now = [0.0]
        driver = glance.GlanceApiDriver(self.conf, self.ledger,
                                        adapter=Away(self.glance.images),
                                        clock=lambda: now[0])
        first = transition('img-1', 'active', 'deprecated')
        self.assertRaises(glance.GlanceDriverError, self.apply, first,
                          driver)
        self.assertEqual(1, len(answers))
        away[0] = None
        now[0] += glance.OUTAGE_REST - 1
        self.apply(transition('img-2', 'testing', 'active'), driver)
        self.assertEqual(1, len(answers))
        self.assertEqual({'img-1', 'img-2'}, set(self.ledger.tokens))
        now[0] += 1
        self.apply(transition('img-2', 'active', 'deprecated'), driver)
        self.assertEqual([('GET', '/v2/images/img-2'),
                          ('PATCH', '/v2/images/img-2')], answers[1:])
        away[0] = 500
        self.assertRaises(glance.GlanceDriverError, self.apply,
                          transition('img-1', 'deprecated', 'active'),
                          driver)
        away[0] = None
        self.apply(transition('img-1', 'active', 'deprecated'), driver)
        self.assertNotIn('img-1', self.ledger.tokens)

    def test_no_rest_without_the_retries(self):
        """With a retry off, nothing would write a change left to it."""
        answers = []

        class Away(FakeGlance):
            def request(self, url, method, **kwargs):
                answers.append((method, url))
                return Response(503, {'message': 'restarting'}, url)

        for option in ('write_retry_batch', 'delete_retry_batch'):
            self.conf.set_override(option, 0, group='glance')
            self.addCleanup(self.conf.clear_override, option,
                            group='glance')
            driver = glance.GlanceApiDriver(
                self.conf, self.ledger, adapter=Away(self.glance.images),
                clock=lambda: 0.0)
            del answers[:]
            for _ in range(2):
                self.assertRaises(
                    glance.GlanceDriverError, self.apply,
                    transition('img-1', 'active', 'deprecated'), driver)
            self.assertEqual(2, len(answers))
            self.conf.clear_override(option, group='glance')

    def test_a_lasting_outage_is_recalled_and_a_500_is_no_outage(self):
        """Glance unreachable for 25 minutes (a TLS error, a missing
        catalog entry look the same): a reminder warning every 10
        minutes, where there was one warning and then silence.  A 500 to
        one image is Glance's answer to it, not an outage: its own
        traceback, and no outage line."""
        log = self.useFixture(fixtures.FakeLogger(
            level=logging.INFO, format='%(levelname)s %(message)s'))
        away = ['down']

        class Away(FakeGlance):
            def request(self, url, method, **kwargs):
                if away[0] == 'down':
                    raise ks_exc.ConnectFailure('Unable to establish '
                                                'connection to %s' % url)
                if method == 'PATCH':
                    return Response(500, {'message': 'bug'}, url)
                return super().request(url, method, **kwargs)

        now = [0.0]
        driver = glance.GlanceApiDriver(self.conf, self.ledger,
                                        adapter=Away(self.glance.images),
                                        clock=lambda: now[0])
        driver.outage_log.clock = lambda: now[0]
        event = transition('img-1', 'active', 'deprecated')
        self.ledger.commit(event)
        for _ in range(26):
            notifications.drive(driver, event)
            now[0] += 60
        self.assertEqual(1, log.output.count(
            'WARNING Writing to Glance failed'), log.output)
        self.assertEqual(2, log.output.count(
            'WARNING Writing to Glance is still failing'), log.output)
        self.assertIn('is still failing: 21 failures over 1200 s',
                      log.output)
        away[0] = None
        notifications.drive(driver, event)
        self.assertIn('ERROR The Glance driver failed on '
                      'image_family.transition of img-1', log.output)
        self.assertEqual(1, log.output.count('Traceback'))


class FakeNova(object):
    def __init__(self, servers):
        self.servers = servers
        self.params = []

    def get(self, path, params=None, raise_exc=True, **kwargs):
        self.params.append(dict(params))
        start = 0
        if params.get('marker'):
            start = [s['id'] for s in self.servers].index(
                params['marker']) + 1
        page = [s for s in self.servers
                if s['image'] == params['image']][start:start +
                                                  params['limit']]
        return Response(200, {'servers': page})


class TestUsageParsing(testtools.TestCase):

    def test_servers_of_image_follows_pages(self):
        servers = [{'id': 's%02d' % i, 'image': 'img',
                    compute.HOST: 'cmp1', 'status': 'ACTIVE'}
                   for i in range(7)]
        servers.append({'id': 'never-built', 'image': 'img',
                        compute.HOST: None, 'status': 'ERROR'})
        servers.append({'id': 'offloaded', 'image': 'img',
                        compute.HOST: None,
                        'status': 'SHELVED_OFFLOADED'})
        # Its build started (instance.create.start counted it), its
        # compute host has not claimed it yet.
        servers.append({'id': 'building', 'image': 'img',
                        compute.HOST: None, 'status': 'BUILD'})
        nova = FakeNova(servers)
        found = compute.servers_of_image(nova, 'img', page_size=3)
        self.assertEqual({'s%02d' % i for i in range(7)} |
                         {'offloaded', 'building'}, found)
        self.assertEqual(4, len(nova.params))
        self.assertEqual('1', str(nova.params[0]['all_tenants']))
        self.assertEqual('s02', nova.params[1]['marker'])

    def test_volume_backed_servers(self):
        volumes = [
            {'id': 'v1', 'volume_image_metadata': {'image_id': 'img-1'},
             'attachments': [{'server_id': 'srv-1'}]},
            {'id': 'v2', 'volume_image_metadata': {'image_id': 'img-1'},
             'attachments': [{'server_id': 'srv-2'},
                             {'server_id': None}]},
            # Not from an image, or attached to nothing: no server counts.
            {'id': 'v3', 'attachments': [{'server_id': 'srv-3'}]},
            {'id': 'v4', 'volume_image_metadata': {'image_id': 'img-2'},
             'attachments': []},
        ]
        self.assertEqual({'img-1': {'srv-1', 'srv-2'}},
                         compute.volume_backed_servers(volumes))
