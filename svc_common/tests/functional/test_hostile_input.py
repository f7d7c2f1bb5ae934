"""Hostile input against every write endpoint of every service.

The write endpoints (``POST``, ``PUT``, ``PATCH``, ``DELETE``) are found by
walking each service's pecan controller tree, so an endpoint a service
adds is driven here without editing this file.  Every case must answer a
4xx in the error shape of DESIGN.md and change no row of the service's
database (every table is compared before and after each request), on
SQLite and on PostgreSQL.

Generic cases need nothing but the endpoint: deep nesting, NUL characters
and lone surrogates in the path, the query and the body, bodies that are
not JSON or not UTF-8, a wrong media type, duplicate keys, non-JSON
numbers, a malformed microversion header, pecan's ``_method`` override,
and the path's IDs given in the query or the body instead of the path.

Where a service has example objects and valid bodies here (limits_svc),
each field of each valid body is also replaced in turn by hostile values
(a NUL, a lone surrogate, a trailing newline, an overlong string, ``5.0``,
``1e18``, ``-0.0``, ``2**53``, ``NaN`` ...): those would be written if
validation let them through.
"""

import inspect
import json
import os
import urllib.parse
import warnings

import pecan
from pecan import rest
import pecan.util
import sqlalchemy
import testtools

from svc_common.tests.fixtures import api as api_fixture
from svc_common.tests.fixtures import backends

WRITE_METHODS = ('post', 'put', 'patch', 'delete')

#: Passes every policy rule: system admin and service at once.
EVERYTHING = api_fixture.identity(['admin', 'member', 'reader', 'service'],
                                  system=True)

# Raw JSON literals a Python value cannot be dumped as.
_RAW = {'__NAN__': 'NaN', '__INFINITY__': 'Infinity',
        '__HUGE_FLOAT__': '1e400', '__LONE_SURROGATE__': '"\\ud800"',
        '__NUL__': '"\\u0000"'}


def _dumps(value):
    text = json.dumps(value)
    for placeholder, literal in _RAW.items():
        text = text.replace('"%s"' % placeholder, literal)
    return text.encode('utf-8')


class Endpoint(object):
    """One write endpoint: ``method`` on ``template`` (``{}`` for each ID
    of the path), whose handler takes the arguments ``arg_names``."""

    def __init__(self, method, template, arg_names):
        self.method = method
        self.template = template
        self.arg_names = tuple(arg_names)

    @property
    def key(self):
        return (self.method, self.template)

    def __repr__(self):
        return '%s %s' % self.key


def _arguments(method):
    return [p.name for p in inspect.signature(method).parameters.values()
            if p.kind == p.POSITIONAL_OR_KEYWORD]


def _children(controller):
    for name in sorted(dir(controller)):
        if name.startswith('_'):
            continue
        child = getattr(controller, name, None)
        if (child is None or inspect.isroutine(child) or
                inspect.isclass(child) or
                isinstance(child, (str, bytes, int, float, tuple, list,
                                   dict, set, frozenset))):
            continue
        if any(pecan.util.iscontroller(getattr(child, attr, None))
               for attr in dir(child) if not attr.startswith('_')):
            yield name, child


def write_endpoints(controller, path='', parent_args=0, seen=None):
    """Every write endpoint under ``controller`` mounted at ``path``.

    RestControllers are read as pecan routes them: ``post``/``put``/
    ``patch``/``delete`` take the path's IDs as positional arguments (the
    parents' first), and a controller nested in a RestController sits
    after the IDs its parent's ``get_one`` takes.
    """
    seen = set() if seen is None else seen
    if id(controller) in seen:
        return []
    seen.add(id(controller))
    found = []
    is_rest = isinstance(controller, rest.RestController)
    if is_rest:
        for method in WRITE_METHODS:
            handler = getattr(controller, method, None)
            if not pecan.util.iscontroller(handler):
                continue
            names = _arguments(handler)
            own = max(len(names) - parent_args, 0)
            found.append(Endpoint(method.upper(),
                                  path + '/{}' * own, names))
    for name, child in _children(controller):
        if is_rest:
            get_one = getattr(controller, 'get_one', None)
            own = (len(_arguments(get_one)) - parent_args
                   if get_one is not None else 1)
            found.extend(write_endpoints(
                child, '%s%s/%s' % (path, '/{}' * own, name),
                parent_args + own, seen))
        else:
            found.extend(write_endpoints(child, '%s/%s' % (path, name),
                                         parent_args, seen))
    return found


def service_write_endpoints(spec):
    return write_endpoints(spec.module('api.root').RootController())


# -- Per-service examples: objects to aim at, and valid bodies. -----------

def _seed_limits(app):
    """Objects of limits_svc for the endpoints' IDs to name."""
    def post(path, body):
        return app.post_json(path, body, headers=EVERYTHING).json

    post('/v1/projects', {'id': 'root'})
    post('/v1/projects', {'id': 'leaf', 'parent_id': 'root'})
    post('/v1/projects', {'id': 'spare'})
    registered = post('/v1/registered_limits', {
        'service_id': 'nova', 'resource_name': 'cores',
        'default_limit': 100})['registered_limit']
    limit = post('/v1/limits', {
        'project_id': 'leaf', 'service_id': 'nova',
        'resource_name': 'cores', 'resource_limit': 50})['limit']
    app.put_json('/v1/allocations/vm-1',
                 {'project_id': 'leaf', 'resources': {'cores': 2}},
                 headers=EVERYTHING)
    return {
        '/v1/projects/{}': ['spare'],
        '/v1/registered_limits/{}': [registered['id']],
        '/v1/limits/{}': [limit['id']],
        '/v1/allocations/{}': ['vm-1'],
        '/v1/usages/{}': ['leaf'],
    }


_LIMITS_BODIES = {
    ('POST', '/v1/projects'): {
        'id': 'new-1', 'name': 'New', 'parent_id': 'root',
        'domain_id': 'default'},
    ('PATCH', '/v1/projects/{}'): {'name': 'Renamed', 'parent_id': 'root'},
    ('POST', '/v1/registered_limits'): {
        'service_id': 'nova', 'region_id': 'r1', 'resource_name': 'ram',
        'default_limit': 5, 'description': 'd'},
    ('PATCH', '/v1/registered_limits/{}'): {
        'default_limit': 5, 'description': 'd'},
    ('POST', '/v1/limits'): {
        'project_id': 'leaf', 'service_id': 'nova', 'region_id': 'r1',
        'resource_name': 'ram', 'resource_limit': 5, 'scope': 'project',
        'description': 'd'},
    ('PATCH', '/v1/limits/{}'): {'resource_limit': 5, 'description': 'd'},
    ('PUT', '/v1/allocations/{}'): {
        'project_id': 'leaf', 'resources': {'cores': 1}, 'expires_in': 60},
    ('POST', '/v1/enforce'): {
        'project_id': 'leaf', 'resources': {'cores': 1},
        'consumer_id': 'vm-1'},
    ('PUT', '/v1/usages/{}'): {'resources': {'cores': 1}},
}


def _seed_federation(app):
    """A VO with a group, a custom role, a member, a request and an
    invitation; a person with two identities; an IdP and a client."""
    def post(path, body):
        return app.post_json(path, body, headers=EVERYTHING).json

    # EVERYTHING's user is a person too, who may ask and accept.
    for person in ('alice', 'bob', EVERYTHING['X-User-Id']):
        post('/v1/users', {'id': person, 'issuer': 'https://idp.example',
                           'subject': person})
    identity = post('/v1/users/bob/identities', {
        'issuer': 'https://other.example', 'subject': 'b'})['identity']
    vo = post('/v1/vos', {'name': 'astro', 'managers': ['alice']})['vo']
    path = '/v1/vos/%s' % vo['id']
    group = post(path + '/groups', {'name': 'optics'})['group']
    role = post(path + '/roles', {'name': 'observer'})['role']
    member = post(path + '/memberships', {'user_id': 'bob',
                                          'role': 'member'})['membership']
    request = post(path + '/requests', {'reason': 'r'})['request']
    # A person has one pending request per VO: new requests go to a VO
    # where the caller has none.
    asked = post('/v1/vos', {'name': 'radio', 'managers': []})['vo']
    invitation = post(path + '/invitations', {
        'email': 'c@example.org', 'group_id': group['id']})['invitation']
    # The one valid token is the seeded invitation's.
    _FEDERATION_BODIES[('POST', '/v1/invitation_acceptances')]['token'] = (
        invitation['token'])
    idp = post('/v1/idps', {'name': 'home', 'issuer': 'https://idp.example',
                            'client_id': 'proxy'})['idp']
    client = post('/v1/clients', {
        'name': 'leaf', 'grant_types': ['client_credentials']})['client']
    return {
        '/v1/users/{}/identities': ['bob'],
        '/v1/users/{}/identities/{}': ['bob', identity['id']],
        '/v1/vos/{}': [vo['id']],
        '/v1/vos/{}/memberships': [vo['id']],
        '/v1/vos/{}/memberships/{}': [vo['id'], member['id']],
        '/v1/vos/{}/requests': [asked['id']],
        '/v1/vos/{}/requests/{}': [vo['id'], request['id']],
        '/v1/vos/{}/invitations': [vo['id']],
        '/v1/vos/{}/invitations/{}': [vo['id'], invitation['id']],
        '/v1/vos/{}/groups': [vo['id']],
        '/v1/vos/{}/groups/{}': [vo['id'], group['id']],
        '/v1/vos/{}/roles': [vo['id']],
        '/v1/vos/{}/roles/{}': [vo['id'], role['id']],
        '/v1/idps/{}': [idp['id']],
        '/v1/clients/{}': [client['id']],
    }


_FEDERATION_BODIES = {
    ('POST', '/v1/users'): {'id': 'carol', 'issuer': 'https://idp.example',
                            'subject': 'carol', 'name': 'Carol',
                            'email': 'carol@example.org'},
    ('POST', '/v1/users/{}/identities'): {'issuer': 'https://third.example',
                                          'subject': 'b3'},
    ('POST', '/v1/vos'): {'name': 'bio', 'description': 'd',
                          'managers': ['alice']},
    ('POST', '/v1/vos/{}/memberships'): {
        'user_id': 'alice', 'role': 'member', 'status': 'active',
        'lifetime_days': 30},
    ('PATCH', '/v1/vos/{}/memberships/{}'): {'status': 'suspended',
                                             'renew_days': 30},
    ('POST', '/v1/vos/{}/requests'): {'reason': 'r', 'role': 'member'},
    ('PATCH', '/v1/vos/{}/requests/{}'): {'status': 'approved'},
    ('POST', '/v1/vos/{}/invitations'): {'email': 'd@example.org',
                                         'role': 'member'},
    ('POST', '/v1/invitation_acceptances'): {'token': 'abc'},
    ('POST', '/v1/vos/{}/groups'): {'name': 'radio', 'description': 'd'},
    ('POST', '/v1/vos/{}/roles'): {'name': 'pi', 'description': 'd'},
    ('POST', '/v1/idps'): {
        'name': 'social', 'issuer': 'https://social.example',
        'client_id': 'proxy', 'scopes': ['openid', 'email'],
        'claim_mapping': {'email': 'mail'}, 'enabled': True,
        'discover': False, 'token_endpoint': 'https://social.example/t'},
    ('PATCH', '/v1/idps/{}'): {'name': 'renamed', 'client_id': 'p2',
                               'scopes': ['openid'], 'enabled': False},
    ('POST', '/v1/clients'): {
        'id': 'leaf-2', 'name': 'leaf 2',
        'grant_types': ['authorization_code', 'refresh_token'],
        'redirect_uris': ['https://leaf.example/cb'], 'scopes': ['openid']},
    ('PATCH', '/v1/clients/{}'): {'name': 'renamed', 'scopes': ['openid'],
                                  'grant_types': ['client_credentials']},
}

_IMAGE_PROPERTIES = {'os_distro': 'centos', 'os_version': '7',
                     'architecture': 'x86_64'}


def _seed_image_family(app):
    """A public family with two active images, one with a scheduled
    transition."""
    def post(path, body):
        return app.post_json(path, body, headers=EVERYTHING).json

    post('/v1/families', {'name': 'centos-7', 'visibility': 'public'})
    post('/v1/families/centos-7/images', {
        'image_id': 'img-1', 'version': '7.8',
        'properties': _IMAGE_PROPERTIES, 'state': 'active'})
    # A second image for the scheduled transition, so that removing
    # img-1 from the family leaves the transition there to delete.
    post('/v1/families/centos-7/images', {
        'image_id': 'img-3', 'version': '7.7',
        'properties': _IMAGE_PROPERTIES, 'state': 'active'})
    transition = post('/v1/images/img-3/transitions', {
        'to': 'deprecated', 'at': '2099-01-01T00:00:00Z',
        'reason': 'planned'})['scheduled']
    return {
        '/v1/families/{}': ['centos-7'],
        '/v1/families/{}/images': ['centos-7'],
        '/v1/families/{}/images/{}': ['centos-7', 'img-1'],
        '/v1/families/{}/latest': ['centos-7'],
        '/v1/images/{}': ['img-1'],
        '/v1/images/{}/usage': ['img-1'],
        '/v1/images/{}/transitions': ['img-1'],
        '/v1/images/{}/transitions/{}': ['img-3', transition['id']],
    }


_IMAGE_FAMILY_BODIES = {
    ('POST', '/v1/families'): {'name': 'rocky-9', 'visibility': 'public',
                               'keep_superseded': 2, 'description': 'd'},
    ('PATCH', '/v1/families/{}'): {'description': 'd',
                                   'keep_superseded': 3},
    ('POST', '/v1/families/{}/images'): {
        'image_id': 'img-2', 'version': '7.9',
        'properties': _IMAGE_PROPERTIES, 'state': 'beta'},
    ('POST', '/v1/images/{}/transitions'): {'to': 'deprecated',
                                            'reason': 'r'},
}

#: The caller of reaper_svc's hostile requests: its writes admit a
#: project member (pending requests belong to the token's project) or a
#: service (plans), which no system-scoped token is.
_REAPER_CALLER = api_fixture.identity(
    ['admin', 'member', 'reader', 'service'], 'p1')

_REAPER_CLOUD = os.path.join(os.path.dirname(__file__), '..', '..', '..',
                             'etc', 'reaper', 'simulated-cloud.yaml')


def _seed_reaper(app):
    """A queued pending request of reaper_svc for DELETE to aim at."""
    pending = app.post_json('/v1/pending', _REAPER_BODIES[
        ('POST', '/v1/pending')], headers=_REAPER_CALLER).json['pending']
    return {'/v1/pending/{}': [pending['id']]}


_REAPER_BODIES = {
    ('POST', '/v1/plans'): {
        'flavor': 'm1.large', 'count': 1, 'aggregates': ['batch'],
        'availability_zone': 'az1', 'required_traits': []},
    ('POST', '/v1/pending'): {
        'servers': [{'name': 'job', 'flavor': 'm1.large', 'image': 'img-1',
                     'networks': ['net-1'], 'count': 2}],
        'all_or_nothing': True, 'min_runtime': 3600,
        'deadline': '2099-01-01T00:00:00Z'},
}

#: package -> (seed function, valid bodies by endpoint key)
EXAMPLES = {'limits_svc': (_seed_limits, _LIMITS_BODIES),
            'federation_proxy': (_seed_federation, _FEDERATION_BODIES),
            'reaper_svc': (_seed_reaper, _REAPER_BODIES),
            'image_family_svc': (_seed_image_family, _IMAGE_FAMILY_BODIES)}

#: package -> the identity headers of the hostile requests, where
#: EVERYTHING (system scope) is not admitted to the write endpoints.
CALLERS = {'reaper_svc': _REAPER_CALLER}

#: package -> config overrides of its app (reaper_svc: a simulated cloud
#: with the flavors its examples name).
CONFIG = {'reaper_svc': {('preemption', 'simulated_cloud'): _REAPER_CLOUD}}


# -- Cases. -----------------------------------------------------------------

def _leaves(value, path=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, path + (key,))
    else:
        yield path, value


def _replaced(body, path, new):
    copy = json.loads(json.dumps(body))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return copy


def _renamed_key(body, path, new_key):
    copy = json.loads(json.dumps(body))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[new_key] = target.pop(path[-1])
    return copy


_INTEGER_MUTATIONS = (5.0, 1e18, -0.0, 2 ** 53, 2 ** 64, -2, True, '5',
                      '__NAN__', '__INFINITY__', '__HUGE_FLOAT__')


def field_mutations(body):
    """``(label, raw body)`` for each hostile value of each field."""
    for path, value in _leaves(body):
        field = '/'.join(path)
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            continue
        if isinstance(value, int):
            for new in _INTEGER_MUTATIONS:
                yield ('%s=%r' % (field, new),
                       _dumps(_replaced(body, path, new)))
            continue
        news = ['__NUL__', '__LONE_SURROGATE__', value + '\u0000',
                'x' * 5000]
        if path[-1] != 'description':
            news += [value + '\n', value + '\r', value + '\u0085']
        if path[-1] in ('id', 'resource_name') or path[-1].endswith('_id'):
            news += [' ' + value, value + '\t', '']
        for new in news:
            yield ('%s=%r' % (field, new),
                   _dumps(_replaced(body, path, new)))
        if len(path) > 1:
            # A member name that is data (resources/<name>).
            for new_key in (path[-1] + '\n', path[-1] + '\u0000'):
                yield ('%s renamed %r' % (field, new_key),
                       _dumps(_renamed_key(body, path, new_key)))


_GENERIC_BODIES = (
    ('deep array', b'[' * 2000 + b']' * 2000),
    ('deep object', b'{"a":' * 2000 + b'1' + b'}' * 2000),
    ('deep unterminated', b'[' * 2000),
    ('deep but parseable', b'[' * 100 + b']' * 100),
    ('not JSON', b'not json'),
    ('truncated JSON', b'{"id":'),
    ('NUL in a value', b'{"id": "a\\u0000b", "name": "\\u0000"}'),
    ('NUL in a key', b'{"a\\u0000": 1}'),
    ('lone surrogate', b'{"id": "\\ud800", "name": "\\udfff"}'),
    ('encoded surrogate', b'{"name": "\xed\xa0\x80"}'),
    ('invalid UTF-8', b'{"name": "\xff"}'),
    ('UTF-16', '{"id": "x"}'.encode('utf-16')),
    ('NaN', b'NaN'),
    ('Infinity member', b'{"amount": Infinity}'),
    ('huge float', b'{"amount": 1e400}'),
    ('huge integer', b'{"amount": ' + b'9' * 5000 + b'}'),
    ('duplicate keys', b'{"id": "a", "id": "b"}'),
)

_WRONG_SHAPES = (
    ('no body', b''),
    ('array', b'[]'),
    ('string', b'"x"'),
    ('null', b'null'),
    ('number', b'5'),
    ('unknown member', b'{"no_such_field": 1}'),
    ('float amount', b'{"amount": 5.0}'),
)

_MEDIA_TYPES = ('text/plain', 'multipart/form-data; boundary=x',
                'application/xml', 'application/json; charset=latin-1')


class _Request(object):
    def __init__(self, label, method, path, body=None, content_type=None,
                 headers=None):
        self.label = label
        self.method = method
        self.path = path
        self.body = body
        self.content_type = content_type
        self.headers = headers or {}


def _fill(template, ids):
    return template.format(*[urllib.parse.quote(i, safe='') for i in ids])


def endpoint_requests(spec, endpoint, ids_by_template, bodies):
    """The hostile requests aimed at ``endpoint``."""
    n_ids = endpoint.template.count('{}')
    ids = list(ids_by_template.get(endpoint.template, ['probe-1'] * n_ids))
    path = _fill(endpoint.template, ids)
    valid = bodies.get(endpoint.key)
    body = _dumps(valid) if valid is not None else b'{}'
    method = endpoint.method

    def req(label, *args, **kwargs):
        return _Request('%r: %s' % (endpoint, label), *args, **kwargs)

    for label, raw in _GENERIC_BODIES:
        yield req(label, method, path, raw, 'application/json')
    if method != 'DELETE':
        # A DELETE ignores a well-formed body; other methods need one of
        # the right shape.
        for label, raw in _WRONG_SHAPES:
            yield req(label, method, path, raw, 'application/json')
    for media_type in _MEDIA_TYPES:
        yield req('media type %s' % media_type, method, path, body,
                  media_type)
    for value in ('%s' % spec.service_type, '%s ' % spec.service_type,
                  '%s 1.0 x' % spec.service_type,
                  '%s one.two' % spec.service_type,
                  '%s 1.0, %s 9.9' % (spec.service_type, spec.service_type),
                  '%s 99.0' % spec.service_type):
        yield req('microversion %r' % value, method, path, body,
                  'application/json', {'OpenStack-API-Version': value})
    for query in ('x=%00', 'marker=%00', 'project_id=%00', '%00=x',
                  'marker=%ff', 'name=%ED%A0%80', '_method=delete',
                  '_method=patch', 'a=1;_method=delete'):
        yield req('query %s' % query, method, '%s?%s' % (path, query), body,
                  'application/json')
    if valid is not None:
        for label, raw in field_mutations(valid):
            yield req(label, method, path, raw, 'application/json')
    if n_ids:
        for bad in ('\x00', ids[-1] + '\x00', '\ud800', ids[-1] + '\n',
                    ids[-1] + '\r\n', ' ' + ids[-1]):
            quoted = urllib.parse.quote(
                bad.encode('utf-8', 'surrogatepass'), safe='')
            bad_path = endpoint.template.format(
                *[urllib.parse.quote(i, safe='') for i in ids[:-1]] +
                [quoted])
            yield req('path ID %r' % bad, method, bad_path, body,
                      'application/json')
        # The path's IDs anywhere but in the path.
        short = endpoint.template.rsplit('/{}', 1)[0].format(*ids[:-1])
        name = endpoint.arg_names[-1]
        moved = dict(valid or {}, **{name: ids[-1]})
        yield req('ID in the query', method, '%s?%s=%s' % (
            short, name, urllib.parse.quote(ids[-1], safe='')), body,
            'application/json')
        yield req('ID in the body', method, short, _dumps(moved),
                  'application/json')


def tables(engine):
    """Every table of the database, as SQLAlchemy reads them."""
    metadata = sqlalchemy.MetaData()
    with warnings.catch_warnings():
        # Expression-based indexes are not reflected; rows are all we read.
        warnings.simplefilter('ignore', sqlalchemy.exc.SAWarning)
        metadata.reflect(engine)
    return metadata.sorted_tables


def snapshot(engine, all_tables):
    """Every row of every table, in a comparable form."""
    with engine.connect() as conn:
        return {table.name: sorted(repr(tuple(row)) for row in
                                   conn.execute(table.select()))
                for table in all_tables}


class _HostileInputTests(object):
    """Mixed into one ``testtools.TestCase`` per service and database."""

    SPEC = None

    def database_url(self):
        raise NotImplementedError()

    def setUp(self):
        super().setUp()
        overrides = dict(CONFIG.get(self.SPEC.package, {}))
        overrides[('database', 'connection')] = self.database_url()
        self.fixture = self.useFixture(api_fixture.ServiceApp(
            self.SPEC, overrides=overrides))
        self.app = self.fixture.app
        self.caller = CALLERS.get(self.SPEC.package, EVERYTHING)
        self.engine = sqlalchemy.create_engine(
            self.fixture.conf.database.connection)
        self.addCleanup(self.engine.dispose)

    def _problems(self, request, resp):
        status = resp.status_int
        if not 400 <= status < 500:
            return ['answered %d: %s' % (status, resp.body[:300])]
        try:
            errors = resp.json['errors']
            error = errors[0]
        except (ValueError, KeyError, IndexError, TypeError):
            return ['%d without the error shape: %s' % (status,
                                                        resp.body[:300])]
        problems = []
        for key in ('status', 'code', 'title', 'detail', 'request_id'):
            if not error.get(key):
                problems.append('error without %s: %s' % (key, error))
        if error.get('status') != status:
            problems.append('error status %s on a %d' % (error.get('status'),
                                                         status))
        if not str(error.get('code')).startswith(self.SPEC.namespace + '.'):
            problems.append('error code %s' % error.get('code'))
        if error.get('request_id') != resp.headers.get(
                'X-OpenStack-Request-Id'):
            problems.append('request_id %s' % error.get('request_id'))
        return problems

    def _send(self, request):
        headers = dict(self.caller, **request.headers)
        if request.content_type:
            headers['Content-Type'] = request.content_type
        return self.app.request(request.path, method=request.method,
                                body=request.body or b'', headers=headers,
                                expect_errors=True)

    def test_write_endpoints_refuse_hostile_input(self):
        seed, bodies = EXAMPLES.get(self.SPEC.package, (None, {}))
        ids = seed(self.app) if seed else {}
        all_tables = tables(self.engine)
        before = snapshot(self.engine, all_tables)
        failures = []
        count = 0
        for endpoint in service_write_endpoints(self.SPEC):
            for request in endpoint_requests(self.SPEC, endpoint, ids,
                                             bodies):
                count += 1
                resp = self._send(request)
                problems = self._problems(request, resp)
                after = snapshot(self.engine, all_tables)
                if after != before:
                    changed = sorted(t for t in after
                                     if after[t] != before.get(t))
                    problems.append('changed rows of %s' % changed)
                    before = after
                failures.extend('%s: %s' % (request.label, p)
                                for p in problems)
        if failures:
            self.fail('%d of %d hostile requests were mishandled:\n%s' % (
                len(failures), count, '\n'.join(failures[:60])))

    def test_malformed_microversion_header_everywhere(self):
        for path in ('/', '/v1'):
            for value in ('%s' % self.SPEC.service_type,
                          '%s 1.0, %s 1.1' % (self.SPEC.service_type,
                                              self.SPEC.service_type)):
                resp = self.app.get(path, headers=dict(EVERYTHING, **{
                    'OpenStack-API-Version': value}), expect_errors=True)
                self.assertEqual(400, resp.status_int, (path, value))
                self.assertEqual([], self._problems(None, resp))

    def test_valid_example_bodies_are_accepted(self):
        """The bodies the field mutations start from are valid: a refused
        mutation is refused for its hostile field."""
        seed, bodies = EXAMPLES.get(self.SPEC.package, (None, {}))
        if seed is None:
            self.skipTest('no examples for %s' % self.SPEC.package)
        ids = seed(self.app)
        for endpoint in service_write_endpoints(self.SPEC):
            valid = bodies.get(endpoint.key)
            if valid is None:
                continue
            n_ids = endpoint.template.count('{}')
            path = _fill(endpoint.template,
                         ids.get(endpoint.template, ['probe-1'] * n_ids))
            resp = self.app.request(
                path, method=endpoint.method, body=_dumps(valid),
                headers=dict(self.caller, **{
                    'Content-Type': 'application/json'}),
                expect_errors=True)
            self.assertLess(resp.status_int, 300,
                            '%r: %s' % (endpoint, resp.body))


backends.add_cases(globals(), 'TestHostileInput{service}On{backend}',
                   _HostileInputTests)


class TestDiscovery(testtools.TestCase):
    """The walk finds the write endpoints, or the tests above test
    nothing."""

    def test_limits_write_endpoints_are_found(self):
        from limits_svc import service
        found = {e.key for e in service_write_endpoints(service.SPEC)}
        self.assertTrue(found, 'no write endpoint of limits_svc found')
        for key in (('POST', '/v1/projects'),
                    ('PATCH', '/v1/projects/{}'),
                    ('DELETE', '/v1/projects/{}'),
                    ('POST', '/v1/limits'),
                    ('DELETE', '/v1/registered_limits/{}'),
                    ('PUT', '/v1/allocations/{}'),
                    ('DELETE', '/v1/allocations/{}'),
                    ('POST', '/v1/enforce'),
                    ('PUT', '/v1/usages/{}')):
            self.assertIn(key, found)

    def test_every_limits_body_endpoint_has_an_example(self):
        """A new body-taking endpoint of limits_svc is still driven with
        the generic cases; this says that it has no field mutations yet."""
        from limits_svc import service
        bodies = EXAMPLES['limits_svc'][1]
        missing = [e for e in service_write_endpoints(service.SPEC)
                   if e.method != 'DELETE' and e.key not in bodies]
        self.assertEqual([], missing)

    def test_nested_controllers_sit_after_their_parents_ids(self):
        class Leaf(rest.RestController):
            @pecan.expose('json')
            def put(self, parent_id, leaf_id):
                pass

        class Parent(rest.RestController):
            leaves = Leaf()

            @pecan.expose('json')
            def get_one(self, parent_id):
                pass

            @pecan.expose('json')
            def delete(self, parent_id):
                pass

        class Root(object):
            parents = Parent()

        self.assertEqual(
            [('DELETE', '/parents/{}'), ('PUT', '/parents/{}/leaves/{}')],
            sorted(e.key for e in write_endpoints(Root())))
