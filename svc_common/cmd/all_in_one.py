"""``arbiter-all-in-one``: every Arbiter service in one local process.

For trying Arbiter out and for development: the four services listen on
127.0.0.1 (ports 9870-9873 by default), keep SQLite files in a data
directory, talk over an in-process message bus, and trust identity headers
(``noauth``).  Ctrl-C or SIGTERM stops them all.  The services are found
through the ``arbiter.services`` entry point group.
"""

import argparse
import os
import signal
import sys
import threading

from oslo_log import log as logging
import stevedore

from svc_common.cmd import api as api_cmd
from svc_common import config
from svc_common.db import migration
from svc_common import wsgi_app

LOCAL_BUS_URL = 'kombu+memory:////'


def load_specs():
    """Every installed service's SPEC, ordered by default port."""
    manager = stevedore.ExtensionManager('arbiter.services')
    return sorted((ext.plugin for ext in manager),
                  key=lambda spec: spec.default_port)


def _parse_args(argv):
    parser = argparse.ArgumentParser(
        prog='arbiter-all-in-one',
        description='Run every Arbiter service in one process, on SQLite '
                    'and an in-process bus, with noauth identity headers.')
    parser.add_argument('--data-dir', default='arbiter-data',
                        help='Directory for the SQLite databases '
                             '(default: ./arbiter-data).')
    parser.add_argument('--host', default='127.0.0.1',
                        help='Address to listen on (default: 127.0.0.1).')
    parser.add_argument('--port-base', type=int, default=None,
                        help='Port of the first service; the others follow '
                             '(default: each service\'s own port, '
                             '9870-9873).')
    parser.add_argument('--config-dir', default=None,
                        help='Directory with <prog>.conf files to read '
                             'before the local-run settings are applied.')
    return parser.parse_args(argv)


def local_conf(spec, data_dir, host, port, config_dir=None):
    """The config of one service in the local run."""
    files = []
    if config_dir:
        path = os.path.join(config_dir, '%s.conf' % spec.prog)
        if os.path.exists(path):
            files.append(path)
    return config.build_conf(spec, default_config_files=files, overrides={
        (None, 'state_path'): os.path.abspath(data_dir),
        (None, 'transport_url'): LOCAL_BUS_URL,
        ('api', 'auth_strategy'): 'noauth',
        ('api', 'host'): host,
        ('api', 'port'): port,
    })


def build_servers(args):
    servers = []
    for index, spec in enumerate(load_specs()):
        port = (args.port_base + index if args.port_base is not None
                else spec.default_port)
        conf = local_conf(spec, args.data_dir, args.host, port,
                          args.config_dir)
        migration.upgrade(spec, conf.database.connection)
        app = wsgi_app.make_application(spec, conf)
        servers.append((spec, api_cmd.make_server(app, args.host, port)))
        if index == 0:
            logging.setup(conf, 'arbiter')
    return servers


def main(argv=None):
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    servers = build_servers(args)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    for spec, server in servers:
        thread = threading.Thread(target=server.serve_forever,
                                  name=spec.prog, daemon=True)
        thread.start()
        url = 'http://%s:%d/' % (args.host, server.server_port)
        print('%-13s %-20s %s' % (spec.prog, spec.service_type, url),
              flush=True)
    print('Arbiter is running (data in %s). Press Ctrl-C to stop.'
          % os.path.abspath(args.data_dir), flush=True)
    while not stop.wait(0.5):
        pass
    for _spec, server in servers:
        server.shutdown()
        server.server_close()
    print('Stopped.', flush=True)
    return 0
