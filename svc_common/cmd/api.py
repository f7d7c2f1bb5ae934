"""``<prog>-api``: a development server for one service.

Production deployments run ``<service>.wsgi:application`` under uwsgi or
another WSGI server; this serves the same application with the standard
library's threaded server, on ``[api] host`` and ``[api] port``.
"""

import socketserver
import sys
from wsgiref import simple_server

from oslo_log import log as logging

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


def make_server(app, host, port):
    return simple_server.make_server(host, port, app,
                                     server_class=ThreadingWSGIServer,
                                     handler_class=QuietHandler)


def serve(spec, argv=None):
    argv = sys.argv[1:] if argv is None else argv
    conf = config.build_conf(spec, args=argv)
    logging.setup(conf, spec.prog)
    app = wsgi_app.make_application(spec, conf)
    server = make_server(app, conf.api.host, conf.api.port)
    print('%s API on http://%s:%d/' % (
        spec.prog, conf.api.host, server.server_port), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
