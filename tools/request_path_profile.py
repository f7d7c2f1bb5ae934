#!/usr/bin/env python3
"""What limits_svc's request path costs per request, in-process.

Not a service and not a test: a measuring tool for changes of the shared
request path (svc_common's middleware chain, keystonemiddleware's
settings, oslo.policy, pecan, jsonschema).  It builds limits_svc's
complete WSGI application (``svc_common.wsgi_app.make_application``, as
``limits_svc.wsgi`` does) on a SQLite database in a temporary directory,
with ``--auth keystone`` behind keystonemiddleware validating real tokens
of a private Keystone (``svc_common.tests.fixtures.keystone``: about 7 s
to start) and caching them in this process (or in a private memcached
with ``--memcached``), and calls it directly as a WSGI server would, one
request at a time: ``PUT /v1/allocations/{new consumer}`` by a user with
the ``service`` role (as Nova's hook), and ``GET`` of the same consumer.

It prints, per request, two figures that do not depend on the machine's
load, and one that does:

* Python function calls (cProfile's count, deterministic);
* the same count outside ``put_allocation`` / ``get_allocation`` (the
  request path without the ledger);
* CPU microseconds of this process (``time.process_time``), the lowest
  of ``--batches`` batches (a busy machine only adds to it);
* with ``--callgrind``, machine instructions per request, counted by
  valgrind's callgrind (the script runs itself under it, with the
  counting switched on for the measured requests only): the most
  precise figure, whatever the machine's load, at the price of a run
  some ten times slower.

Usage::

    .venv/bin/python tools/request_path_profile.py --auth keystone
    .venv/bin/python tools/request_path_profile.py --auth noauth --top 30
"""

import argparse
import cProfile
import glob
import io
import json
import os
import pstats
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import wsgiref.util

from limits_svc import service
from svc_common import config
from svc_common.db import migration
from svc_common import wsgi_app


def _environ(method, path, token_headers, body=None):
    environ = {'REQUEST_METHOD': method, 'PATH_INFO': path,
               'SCRIPT_NAME': '', 'QUERY_STRING': '',
               'SERVER_PROTOCOL': 'HTTP/1.1', 'REMOTE_ADDR': '127.0.0.1'}
    wsgiref.util.setup_testing_defaults(environ)
    environ.update(token_headers)
    data = b'' if body is None else json.dumps(body).encode()
    environ['wsgi.input'] = io.BytesIO(data)
    if data:
        environ['CONTENT_LENGTH'] = str(len(data))
        environ['CONTENT_TYPE'] = 'application/json'
    return environ


class Client(object):
    """Calls the WSGI application the way a server does."""

    def __init__(self, app):
        self.app = app

    def call(self, method, path, headers, body=None, expect=200):
        status = []

        def start_response(line, response_headers, exc_info=None):
            status.append(line)

        result = self.app(_environ(method, path, headers, body),
                          start_response)
        try:
            data = b''.join(result)
        finally:
            close = getattr(result, 'close', None)
            if close is not None:
                close()
        code = int(status[0].split()[0])
        if code != expect:
            raise RuntimeError('%s %s answered %s: %s'
                               % (method, path, status[0], data[:300]))
        return data


def _start_memcached(base_dir):
    from svc_common.tests.fixtures import ports
    port = ports.free_port()
    binary = shutil.which('memcached') or '/usr/bin/memcached'
    cmd = [binary, '-l', '127.0.0.1', '-p', str(port), '-U', '0']
    if os.getuid() == 0:
        cmd += ['-u', 'nobody']
    proc = subprocess.Popen(cmd, start_new_session=True)
    time.sleep(0.3)
    return proc, '127.0.0.1:%d' % port


class Setup(object):
    """limits_svc's app, its tree and the identities of the requests."""

    def __init__(self, args, base_dir):
        self.args = args
        self.base_dir = base_dir
        self.cleanups = []

    def close(self):
        for cleanup in reversed(self.cleanups):
            cleanup()

    def start(self):
        self.config_file = os.path.join(self.base_dir, 'limits.conf')
        open(self.config_file, 'w').close()
        overrides = {(None, 'state_path'): self.base_dir,
                     ('api', 'auth_strategy'): self.args.auth}
        if self.args.auth == 'keystone':
            admin, service_user = self._keystone(overrides)
        else:
            admin = {'HTTP_X_USER_ID': 'admin', 'HTTP_X_SYSTEM_SCOPE': 'all',
                     'HTTP_X_ROLES': 'admin,manager,member,reader'}
            service_user = {'HTTP_X_USER_ID': 'nova',
                            'HTTP_X_PROJECT_ID': 'service-project',
                            'HTTP_X_ROLES': 'service'}
        conf = config.build_conf(service.SPEC, overrides=overrides,
                                 default_config_files=[self.config_file])
        migration.upgrade(service.SPEC, conf.database.connection)
        self.client = Client(wsgi_app.make_application(service.SPEC, conf))
        self.service_user = service_user
        self._tree(admin)

    def _keystone(self, overrides):
        from svc_common.tests.fixtures import keystone
        ks = keystone.Keystone()
        ks.setUp()
        self.cleanups.append(ks.cleanUp)
        project = ks.create_project('service-project')
        # A cloud's catalog: --catalog-services services with a public,
        # an internal and an admin endpoint each, besides Keystone's.
        for number in range(self.args.catalog_services):
            service_ref = ks.create_service('service-%d' % number,
                                            'type-%d' % number)
            for interface in ('public', 'internal', 'admin'):
                ks.create_endpoint(
                    service_ref['id'],
                    'http://controller:%d/v1' % (9000 + number),
                    interface=interface)
        password = 'pw-' + uuid.uuid4().hex[:8]
        ks.create_user('bench-limits', password,
                       roles_on_project={project['id']: ['service']})
        ks.create_user('bench-nova', password,
                       roles_on_project={project['id']: ['service']})
        options = ks.authtoken_options('bench-limits', password,
                                       project['id'])
        if self.args.memcached:
            proc, server = _start_memcached(self.base_dir)
            self.cleanups.append(
                lambda: os.killpg(proc.pid, signal.SIGTERM))
            options['memcached_servers'] = server
        options.update(self.args.authtoken or ())
        # The auth plugin's options exist only once keystonemiddleware
        # registers them: they go in a file, as a deployment writes them.
        with open(self.config_file, 'w') as conf_file:
            conf_file.write('[keystone_authtoken]\n')
            for name, value in sorted(options.items()):
                conf_file.write('%s = %s\n' % (name, value))
        admin_token = ks.admin_session().get_token()
        nova_token = ks.token('bench-nova', password,
                              project_id=project['id'])
        return ({'HTTP_X_AUTH_TOKEN': admin_token},
                {'HTTP_X_AUTH_TOKEN': nova_token})

    def _tree(self, admin):
        client = self.client
        client.call('POST', '/v1/projects', admin, {'id': 'root'},
                    expect=201)
        client.call('POST', '/v1/projects', admin,
                    {'id': 'mid', 'parent_id': 'root'}, expect=201)
        client.call('POST', '/v1/projects', admin,
                    {'id': 'leaf', 'parent_id': 'mid'}, expect=201)
        for resource in ('cores', 'ram'):
            client.call('POST', '/v1/registered_limits', admin, {
                'service_id': 'nova', 'resource_name': resource,
                'default_limit': 10 ** 12}, expect=201)

    def put(self, consumer):
        self.client.call('PUT', '/v1/allocations/%s' % consumer,
                         self.service_user,
                         {'project_id': 'leaf',
                          'resources': {'cores': 1, 'ram': 512}})

    def get(self, consumer):
        self.client.call('GET', '/v1/allocations/%s' % consumer,
                         self.service_user)


#: Set in the environment of the script's run under callgrind: where
#: callgrind writes its counts.
_CALLGRIND_ENV = 'REQUEST_PATH_CALLGRIND_OUT'


class Callgrind(object):
    """Instructions counted by the callgrind this process runs under."""

    def __init__(self, out_prefix):
        self.out_prefix = out_prefix
        self.pid = str(os.getpid())

    def _control(self, *options):
        subprocess.run(['callgrind_control'] + list(options) + [self.pid],
                       check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

    def _dumped(self):
        """The ``totals`` of the newest dump."""
        dumps = glob.glob('%s.%s.*' % (self.out_prefix, self.pid))
        newest = max(dumps, key=lambda path: int(path.rsplit('.', 1)[1]))
        with open(newest) as dump:
            for line in dump:
                if line.startswith('totals:'):
                    return int(line.split()[1])
        raise RuntimeError('no totals in %s' % newest)

    def count(self, run, n):
        """Instructions per call of ``run`` over ``n`` calls, less the
        cost of counting itself (an empty run's)."""
        self._control('--instr=on')
        self._control('--zero')
        self._control('--dump')
        empty = self._dumped()
        self._control('--zero')
        run(n)
        self._control('--dump')
        self._control('--instr=off')
        return (self._dumped() - empty) / n


def _rerun_under_callgrind(argv):
    out_dir = tempfile.mkdtemp(prefix='request-path-callgrind-')
    prefix = os.path.join(out_dir, 'callgrind.out')
    env = dict(os.environ, **{_CALLGRIND_ENV: prefix})
    cmd = ['valgrind', '--tool=callgrind', '--instr-atstart=no',
           '--callgrind-out-file=%s.%%p' % prefix,
           '--log-file=%s' % os.path.join(out_dir, 'valgrind.log'),
           sys.executable] + argv
    try:
        return subprocess.run(cmd, env=env).returncode
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)


def measure(setup, what, count, batches, top, sort='tottime',
            callgrind=None):
    prefix = '%s-%s-' % (what, uuid.uuid4().hex[:6])
    step = getattr(setup, what)
    if what == 'get':
        for i in range(count * (batches + 4)):
            setup.put('%s%d' % (prefix, i))
    counter = iter(range(10 ** 9))

    def run(n):
        for _ in range(n):
            step('%s%d' % (prefix, next(counter)))

    run(count)  # warm-up
    best = None
    for _ in range(batches):
        started = time.process_time()
        run(count)
        spent = time.process_time() - started
        best = spent if best is None else min(best, spent)
    profile = cProfile.Profile()
    profile.enable()
    run(count)
    profile.disable()
    stats = pstats.Stats(profile)
    ledger = _ledger_calls(setup, what, prefix, counter, count)
    total = stats.total_calls / count
    if callgrind is not None:
        print('%-4s instructions/request %.0f' % (
            what.upper(), callgrind.count(run, count)))
    print('%-4s calls/request %7.0f  outside the ledger %7.0f  '
          'CPU us/request (best of %d) %6.0f'
          % (what.upper(), total, total - ledger, batches,
             best / count * 1e6))
    if top:
        out = io.StringIO()
        stats.stream = out
        stats.sort_stats(sort).print_stats(top)
        print(out.getvalue())


def _ledger_calls(setup, what, prefix, counter, count):
    """Calls per request made inside the ledger function of ``what``."""
    from limits_svc.db import allocations as allocations_db
    name = {'put': 'put_allocation', 'get': 'get_allocation'}[what]
    original = getattr(allocations_db, name)
    profile = cProfile.Profile()

    def profiled(*args, **kwargs):
        return profile.runcall(original, *args, **kwargs)

    setattr(allocations_db, name, profiled)
    try:
        step = getattr(setup, what)
        for _ in range(count):
            step('%s%d' % (prefix, next(counter)))
    finally:
        setattr(allocations_db, name, original)
    return pstats.Stats(profile).total_calls / count


def _option(text):
    name, sep, value = text.partition('=')
    if not sep:
        raise argparse.ArgumentTypeError('NAME=VALUE, not %r' % text)
    return name, value


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--auth', choices=('keystone', 'noauth'),
                        default='keystone')
    parser.add_argument('--memcached', action='store_true',
                        help='keystonemiddleware caches tokens in a '
                             'private memcached (else in this process)')
    parser.add_argument('--authtoken', type=_option, action='append',
                        metavar='NAME=VALUE',
                        help='an extra [keystone_authtoken] option')
    parser.add_argument('--catalog-services', type=int, default=10,
                        help='services (3 endpoints each) added to '
                             "Keystone's catalog (default 10)")
    parser.add_argument('--requests', type=int, default=200,
                        help='requests per batch')
    parser.add_argument('--batches', type=int, default=5)
    parser.add_argument('--top', type=int, default=0,
                        help='print the N functions of most own time')
    parser.add_argument('--sort', default='tottime',
                        help="pstats' order of --top: tottime, cumulative")
    parser.add_argument('--only', choices=('put', 'get'))
    parser.add_argument('--callgrind', action='store_true',
                        help='count instructions too (runs under valgrind)')
    args = parser.parse_args()
    callgrind = None
    if args.callgrind:
        prefix = os.environ.get(_CALLGRIND_ENV)
        if prefix is None:
            return _rerun_under_callgrind(sys.argv)
        callgrind = Callgrind(prefix)
    base_dir = tempfile.mkdtemp(prefix='request-path-')
    setup = Setup(args, base_dir)
    try:
        setup.start()
        for what in ('put', 'get'):
            if args.only in (None, what):
                measure(setup, what, args.requests, args.batches, args.top,
                        args.sort, callgrind)
    finally:
        setup.close()
        shutil.rmtree(base_dir, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
