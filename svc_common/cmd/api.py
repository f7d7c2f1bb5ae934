"""``<prog>-api``: a development server for one service.

Production deployments run ``<service>.wsgi:application`` under uwsgi or
another WSGI server; this serves the same application with the standard
library's threaded server, on ``[api] host`` and ``[api] port``.
"""

import socketserver
import sys
from wsgiref import simple_server

from oslo_log import log as logging

from svc_common.cmd import database_problems
from svc_common.cmd import manage
from svc_common import config
from svc_common import wsgi_app

LOG = logging.getLogger(__name__)


class ThreadingWSGIServer(socketserver.ThreadingMixIn,
                          simple_server.WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class QuietHandler(simple_server.WSGIRequestHandler):
    """Access lines go to the log rather than raw stderr."""

    def log_message(self, fmt, *args):
        LOG.info('%s %s', self.address_string(), fmt % args)


def listen(host, port):
    """A server bound to ``host:port`` that has no application yet.

    Binding first lets a caller find out that a port is taken before it
    creates anything; ``set_app()`` gives the server its application.
    Raises ``OSError`` when the address cannot be bound.
    """
    return ThreadingWSGIServer((host, port), QuietHandler)


def make_server(app, host, port):
    server = listen(host, port)
    server.set_app(app)
    return server


def serve(spec, argv=None):
    argv = sys.argv[1:] if argv is None else argv
    conf = config.build_conf(
        spec, args=argv, command='%s-api' % spec.prog,
        description='Serve the %s API on [api] host and port with a '
                    'development server (Python\'s threaded HTTP server); '
                    'in production, run %s.wsgi:application under uwsgi or '
                    'another WSGI server.' % (spec.prog, spec.package))
    logging.setup(conf, spec.prog)
    try:
        # Bound before the application is built, as arbiter-all-in-one
        # does: a port in use was a CRITICAL traceback.
        server = listen(conf.api.host, conf.api.port)
    except OSError as exc:
        print('%s-api: cannot listen on %s:%d ([api] host and port): %s'
              % (spec.prog, conf.api.host, conf.api.port,
                 exc.strerror or exc), file=sys.stderr, flush=True)
        return 1
    try:
        database_problems.check_url(conf.database.connection)
        # A database that db sync had not made answered every request
        # with a 500 (no such table), and an SQLite one was created.
        problem = manage.schema_problem(spec, conf)
        if problem is not None:
            server.server_close()
            print('%s-api: %s. Nothing was started.' % (spec.prog, problem),
                  file=sys.stderr, flush=True)
            return 1
        server.set_app(wsgi_app.make_application(spec, conf))
    except database_problems.ERRORS as exc:
        problem = database_problems.describe(exc)
        if problem is None:
            raise
        server.server_close()
        print('%s-api: %s' % (spec.prog, problem), file=sys.stderr,
              flush=True)
        return 1
    print('%s API on http://%s:%d/' % (
        spec.prog, conf.api.host, server.server_port), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
