"""What a handler returns, as the client receives it.

:class:`svc_common.deploy._PathArgumentsPecan` calls handlers and renders
their JSON itself (without pecan's per-request signature inspection);
these are the answers pecan gives, kept: a dict as JSON, a status set on
``pecan.response``, a ``webob`` response returned as it is, an empty
answer, ``pecan.override_template``, and a handler of another content
type through pecan's own path.
"""

import dataclasses

import pecan
from pecan import rest
import testtools
import webob
import webtest

from limits_svc import service
from svc_common.api import controller
from svc_common import config
from svc_common import deploy

SPEC = dataclasses.replace(service.SPEC)
HEADERS = {'X-User-Id': 'u', 'X-Roles': 'reader', 'X-Project-Id': 'p'}


class _Things(rest.RestController):

    @pecan.expose('json')
    def get_one(self, thing_id):
        pecan.response.headers['ETag'] = '"1"'
        return {'thing': {'id': thing_id, 'size': 1.5, 'tags': ['a']}}

    @pecan.expose('json')
    def post(self):
        return controller.created({'thing': {'id': 'new'}})

    @pecan.expose('json')
    def delete(self, thing_id):
        controller.no_content()

    @pecan.expose('json')
    def put(self, thing_id):
        return webob.Response(body=b'raw', status=202,
                              content_type='text/plain')

    @pecan.expose('json')
    def patch(self, thing_id):
        pecan.response.status = 200
        pecan.response.text = 'as set'
        return pecan.response


class _Text(object):

    @pecan.expose(content_type='text/plain')
    def index(self):
        return 'plain text'


class _Overridden(object):

    @pecan.expose('json')
    def index(self):
        pecan.override_template(None, 'text/plain')
        return 'not json'


class _V1(object):
    things = _Things()

    @pecan.expose('json')
    def index(self):
        return {}

    text = _Text()
    overridden = _Overridden()


class _Root(object):
    v1 = _V1()


class TestHandlerAnswers(testtools.TestCase):

    def setUp(self):
        super().setUp()
        conf = config.build_conf(SPEC, overrides={
            ('api', 'auth_strategy'): 'noauth'})
        self.app = webtest.TestApp(deploy.deploy(SPEC, conf, None, None,
                                                 root=_Root()))

    def test_dict_is_json_with_headers_set_by_the_handler(self):
        resp = self.app.get('/v1/things/t1', headers=HEADERS)
        self.assertEqual(200, resp.status_int)
        self.assertEqual('application/json', resp.content_type)
        self.assertEqual({'thing': {'id': 't1', 'size': 1.5,
                                    'tags': ['a']}}, resp.json)
        self.assertEqual('"1"', resp.headers['ETag'])

    def test_created(self):
        resp = self.app.post('/v1/things', headers=HEADERS)
        self.assertEqual(201, resp.status_int)
        self.assertEqual({'thing': {'id': 'new'}}, resp.json)

    def test_no_content_has_no_body_and_no_type(self):
        resp = self.app.delete('/v1/things/t1', headers=HEADERS)
        self.assertEqual(204, resp.status_int)
        self.assertEqual(b'', resp.body)
        self.assertNotIn('Content-Type', resp.headers)
        self.assertNotIn('Content-Length', resp.headers)

    def test_webob_response_is_sent_as_it_is(self):
        resp = self.app.put('/v1/things/t1', headers=HEADERS)
        self.assertEqual(202, resp.status_int)
        self.assertEqual('text/plain', resp.content_type)
        self.assertEqual(b'raw', resp.body)

    def test_pecan_response_returned_is_sent(self):
        resp = self.app.patch('/v1/things/t1', headers=HEADERS)
        self.assertEqual(b'as set', resp.body)

    def test_other_content_type_goes_through_pecan(self):
        resp = self.app.get('/v1/text', headers=HEADERS)
        self.assertEqual('text/plain', resp.content_type)
        self.assertEqual(b'plain text', resp.body)

    def test_override_template(self):
        resp = self.app.get('/v1/overridden', headers=HEADERS)
        self.assertEqual('text/plain', resp.content_type)
        self.assertEqual(b'not json', resp.body)
