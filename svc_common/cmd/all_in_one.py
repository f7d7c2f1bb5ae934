"""``arbiter-all-in-one``: every Arbiter service in one local process.

For trying Arbiter out and for development: the four services listen on
127.0.0.1 (ports 9870-9873 by default), keep SQLite files in a data
directory, talk over an in-process message bus, and trust identity headers
(``noauth``).  Ctrl-C or SIGTERM stops them all.  The services are found
through the ``arbiter.services`` entry point group.

Before it creates anything, the command binds every port, so that a port
in use is reported by number with a way out, and locks its data
directory, so that two runs never share the same SQLite files.
"""

import argparse
import errno
import fcntl
import ipaddress
import os
import signal
import socket
import sys
import threading

from oslo_config import cfg
from oslo_log import log as logging
import stevedore

from svc_common.cmd import api as api_cmd
from svc_common import config
from svc_common.db import database
from svc_common.db import migration
from svc_common.osc import plugin as osc_plugin
from svc_common import wsgi_app

# The in-process bus: oslo.messaging's ``fake`` driver, whose queues are
# shared by every transport of the process, so that the four services
# reach each other's listeners as they would over RabbitMQ.  An idle
# listener of it looks for messages every 50 ms.  ``kombu+memory:////``,
# the bus before it, goes through the rabbit driver, which sets kombu's
# polling interval to 0 for a memory:// URL: each listener spun without
# pausing, and the idle local run took a quarter to a third of a core.
LOCAL_BUS_URL = 'fake://'
DEFAULT_DATA_DIR = 'arbiter-data'
LOCK_FILE = 'arbiter-all-in-one.lock'
# alembic says "Context impl SQLiteImpl." for every service at every start;
# the local run prints the schema revision itself.
QUIET_LOGGERS = ['alembic.runtime.migration=WARN']


class StartError(Exception):
    """The local run cannot start; the message says why and what to do."""


MAX_PORT = 65535


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
    # The metavars are the names the CLI reference and the README use.
    parser.add_argument('--data-dir', default=None, metavar='DIR',
                        help='Directory for the SQLite databases (default: '
                             './arbiter-data with the default ports, '
                             './arbiter-data-PORT with --port-base PORT). '
                             'Two runs cannot share one.')
    parser.add_argument('--host', default='127.0.0.1', metavar='ADDRESS',
                        help='Address to listen on (default: 127.0.0.1).')
    parser.add_argument('--port-base', type=int, default=None,
                        metavar='PORT',
                        help='Port of the first service; the others follow '
                             '(default: each service\'s own port, '
                             '9870-9873).')
    parser.add_argument('--config-dir', default=None, metavar='DIR',
                        help='Directory with <prog>.conf files to read '
                             'before the local-run settings are applied.')
    args = parser.parse_args(argv)
    if args.config_dir and not os.path.isdir(args.config_dir):
        # A mistyped directory was read as an empty one.
        parser.error('--config-dir %s is not a directory' % args.config_dir)
    if args.port_base is not None:
        # 70000 was an OverflowError traceback from bind(), and 0 bound
        # a random port and then ports 1 to 3.
        last = MAX_PORT - (len(load_specs()) - 1)
        if not 1 <= args.port_base <= last:
            parser.error('--port-base %d is not a port from 1 to %d (the '
                         'services take PORT and the ports after it)'
                         % (args.port_base, last))
    return args


def check_config_dir(specs, config_dir):
    """Refuse a ``--config-dir`` that holds none of the services'
    ``<prog>.conf``: nothing of it would be read (a file named after the
    service type, ``preemption.conf``, is not); and one whose files do
    not parse or give an option a value it cannot take.

    :raises StartError: naming the files looked for, or the option.
    """
    names = ['%s.conf' % spec.prog for spec in specs]
    if config_dir and not any(os.path.exists(os.path.join(config_dir, name))
                              for name in names):
        raise StartError(
            '--config-dir %s holds none of %s: nothing in it would be read. '
            'Nothing was created.' % (config_dir, ', '.join(names)))
    for spec in specs if config_dir else ():
        # A value an option cannot take was found only when a request
        # read it: a 500, or a traceback of an engine thread.
        path = os.path.join(config_dir, '%s.conf' % spec.prog)
        if not os.path.exists(path):
            continue
        try:
            config.check_values(config.build_conf(
                spec, default_config_files=[path]))
        except (cfg.ConfigFileParseError, cfg.ConfigFileValueError) as exc:
            raise StartError('%s. Nothing was created.'
                             % str(exc).rstrip('.'))


def exposure_warning(host):
    """A warning for ``--host`` other than a loopback address, or None.

    The local run trusts identity headers (``noauth``): on an address
    that other machines reach, anyone may act as a cloud administrator.
    """
    if host == 'localhost':
        return None
    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass  # a host name: it may resolve to anything
    return ('arbiter-all-in-one: warning: listening on %s with noauth '
            'identity headers: anyone who can reach these ports can act as '
            'any user, cloud administrators included. Keep the local run on '
            '127.0.0.1 (the default --host).' % host)


def service_ports(specs, port_base):
    """The port of each spec: its default, or ``port_base`` onwards."""
    if port_base is None:
        return [spec.default_port for spec in specs]
    return [port_base + index for index in range(len(specs))]


def default_data_dir(specs, ports):
    """``arbiter-data`` for the default ports, else one per first port.

    A run on other ports thus gets SQLite files of its own unless it is
    told otherwise.
    """
    if ports == [spec.default_port for spec in specs]:
        return DEFAULT_DATA_DIR
    return '%s-%d' % (DEFAULT_DATA_DIR, ports[0])


def _free_port_base(host, count, after):
    """A first port above ``after`` whose ``count`` ports bind right now,
    or ``None``; a suggestion for the user, not a reservation."""
    for base in range(after + 100, after + 1100, 100):
        servers = []
        try:
            for port in range(base, base + count):
                servers.append(api_cmd.listen(host, port))
            return base
        except OSError:
            continue
        finally:
            for server in servers:
                server.server_close()
    return None


def _is_ipv6(host):
    try:
        return ipaddress.ip_address(host).version == 6
    except ValueError:
        return False


def bind_ports(specs, host, ports):
    """One listening server per spec, with no application yet.

    :raises StartError: a port cannot be bound; nothing stays bound.
    """
    servers = []
    for spec, port in zip(specs, ports):
        try:
            servers.append(api_cmd.listen(host, port))
        except OSError as exc:
            for server in servers:
                server.server_close()
            if exc.errno == errno.EADDRINUSE:
                problem = ('port %d of %s (for %s) is already in use'
                           % (port, host, spec.prog))
            else:
                problem = ('cannot listen on %s:%d (for %s): %s'
                           % (host, port, spec.prog,
                              exc.strerror or exc))
            if _is_ipv6(host):
                # The servers are IPv4 ones: "not an address of this
                # machine" was wrong for ::1.
                problem = 'cannot listen on %s (for %s)' % (host, spec.prog)
                hint = ('--host %s is an IPv6 address, and the local run '
                        'listens on IPv4 only; leave --host out to listen '
                        'on 127.0.0.1' % host)
            elif (isinstance(exc, socket.gaierror) or
                    exc.errno == errno.EADDRNOTAVAIL):
                # Not a port taken: other ports would fail the same way.
                hint = ('--host %s is not an address of this machine; '
                        'leave --host out to listen on 127.0.0.1' % host)
            else:
                hint = ('Stop what listens there (see: ss -ltnp '
                        '\'sport = :%d\'), or run the services on other '
                        'ports with --port-base PORT (they take PORT to '
                        'PORT+%d)' % (port, len(specs) - 1))
                suggestion = _free_port_base(host, len(specs), ports[0])
                if suggestion is not None:
                    hint += ', for example --port-base %d' % suggestion
            raise StartError('%s. %s. Nothing was created.' % (problem, hint))
    return servers


def lock_data_dir(data_dir, urls):
    """Create ``data_dir`` and hold its lock for the life of the process.

    :returns: the open lock file; closing it (or exiting) releases it.
    :raises StartError: another run holds the lock, or the directory
        cannot be made or written.
    """
    path = os.path.join(data_dir, LOCK_FILE)
    try:
        os.makedirs(data_dir, exist_ok=True)
        lock = open(path, 'a+')
    except OSError as exc:
        # A file of that name, a directory it may not write: tracebacks.
        why = exc.strerror or str(exc)
        if os.path.exists(data_dir) and not os.path.isdir(data_dir):
            why = 'it is a file, not a directory'
        raise StartError(
            'cannot use %s as the data directory: %s. Give a directory '
            'this user can write with --data-dir DIR. Nothing was started.'
            % (data_dir, why))
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or 'another process'
        lock.close()
        raise StartError(
            'the data directory %s is in use by another arbiter-all-in-one '
            '(%s). Two runs must not share SQLite files: give this one a '
            'directory of its own with --data-dir DIR.'
            % (data_dir, holder))
    lock.seek(0)
    lock.truncate()
    lock.write('pid %d, %s' % (os.getpid(), ' '.join(urls)))
    lock.flush()
    return lock


def local_conf(spec, data_dir, host, port, config_dir=None):
    """The config of one service in the local run.

    What wins, last first: the local run's own settings (below), the
    service's ``<prog>.conf`` in ``config_dir``, the service's local-run
    defaults (its spec's ``local_run`` module), the options' defaults.
    """
    files = []
    if config_dir:
        path = os.path.join(config_dir, '%s.conf' % spec.prog)
        if os.path.exists(path):
            files.append(path)
    conf = config.build_conf(spec, default_config_files=files, overrides={
        (None, 'state_path'): os.path.abspath(data_dir),
        (None, 'transport_url'): LOCAL_BUS_URL,
        ('api', 'auth_strategy'): 'noauth',
        ('api', 'host'): host,
        ('api', 'port'): port,
    })
    if spec.local_run:
        spec.module(spec.local_run).set_defaults(conf)
    return conf


def build_servers(args):
    """Bind, lock, migrate and build every service.

    :returns: ``(servers, engines, lock)``: ``[(spec, server)]`` ready to
        serve, the engine runners of the services that have one (not
        started), and the data directory's lock file to keep open while
        they run.
    :raises StartError: with a message for the user.
    """
    specs = load_specs()
    check_config_dir(specs, args.config_dir)
    ports = service_ports(specs, args.port_base)
    listening = bind_ports(specs, args.host, ports)
    data_dir = args.data_dir or default_data_dir(specs, ports)
    urls = ['http://%s:%d/' % (args.host, port) for port in ports]
    try:
        lock = lock_data_dir(data_dir, urls)
    except (StartError, OSError):
        for server in listening:
            server.server_close()
        raise
    logging.set_defaults(default_log_levels=(
        logging.get_default_log_levels() + QUIET_LOGGERS))
    servers = []
    engines = []
    for index, (spec, port, server) in enumerate(
            zip(specs, ports, listening)):
        conf = local_conf(spec, data_dir, args.host, port, args.config_dir)
        if index == 0:
            logging.setup(conf, 'arbiter')
        migration.upgrade(spec, conf.database.connection)
        server.set_app(wsgi_app.make_application(spec, conf))
        servers.append((spec, server))
        if spec.engine:
            engines.append(_build_engine(spec, conf))
    return servers, engines, lock


def _build_engine(spec, conf):
    """The engine runner of ``spec``, not started.

    :raises StartError: the engine cannot be built from the configuration
        (a ``[preemption] simulated_cloud`` of ``--config-dir`` that does
        not exist or does not parse ended the local run with a
        traceback).
    """
    try:
        return spec.module(spec.engine).build_runner(
            conf, database.Database(conf))
    except Exception as exc:  # whatever the service's setup raises
        raise StartError('the %s engine cannot start with this '
                         'configuration: %s: %s. Nothing was started.'
                         % (spec.prog, type(exc).__name__, exc))


def _openstack_hint(servers, host):
    """How to point the ``openstack`` CLI at the local services: the
    limits service's endpoint on the first line, the others' on the
    second (each plugin reads ``OS_<SERVICE_TYPE>_ENDPOINT_OVERRIDE``)."""
    limits = [server for spec, server in servers
              if spec.service_type == 'limits']
    if not limits:
        return ''
    others = ' '.join(
        '%s=http://%s:%d' % (
            osc_plugin.endpoint_override_env(spec.service_type), host,
            server.server_port)
        for spec, server in servers if spec.service_type != 'limits')
    script = os.path.join(os.path.dirname(sys.executable), 'openstack')
    if os.path.exists(script):
        relative = os.path.relpath(script)
        openstack = script if relative.startswith('..') else relative
    else:
        openstack = 'openstack'
    return (
        '\nThe openstack CLI, as a system administrator (noauth):\n'
        '  export OS_AUTH_TYPE=none'
        ' OS_LIMITS_ENDPOINT_OVERRIDE=http://%s:%d\n'
        '%s'
        '  export ARBITER_NOAUTH_USER=admin'
        ' ARBITER_NOAUTH_ROLES=admin,member,reader'
        ' ARBITER_NOAUTH_SYSTEM_SCOPE=all\n'
        '  %s quota registered limit list\n'
        % (host, limits[0].server_port,
           '  export %s\n' % others if others else '', openstack))


def main(argv=None):
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    warning = exposure_warning(args.host)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    try:
        servers, engines, lock = build_servers(args)
    except StartError as exc:
        print('arbiter-all-in-one: %s' % exc, file=sys.stderr, flush=True)
        return 1
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    for spec, server in servers:
        thread = threading.Thread(target=server.serve_forever,
                                  name=spec.prog, daemon=True)
        thread.start()
    # The engines log their start (oslo.log writes to standard output)
    # before the URLs and the CLI's variables are printed, so that what
    # a person needs comes in one block, last ("started: 1 listener(s)"
    # lines came between the URLs and the variables).
    for engine in engines:
        engine.start()
    for spec, server in servers:
        url = 'http://%s:%d/' % (args.host, server.server_port)
        print('%-13s %-20s %s' % (spec.prog, spec.service_type, url),
              flush=True)
    print(_openstack_hint(servers, args.host), end='', flush=True)
    print('Arbiter is running (data in %s). Press Ctrl-C to stop.'
          % os.path.dirname(os.path.abspath(lock.name)), flush=True)
    while not stop.wait(0.5):
        pass
    for engine in engines:
        engine.stop()
    for _spec, server in servers:
        server.shutdown()
        server.server_close()
    lock.close()
    print('Stopped.', flush=True)
    return 0
