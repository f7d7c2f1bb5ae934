"""What makes one Arbiter service: the description svc_common builds from.

Each service package has a ``service.py`` with a module-level ``SPEC``; the
config bootstrap, the WSGI app factory, the database tools, the console
scripts and the local run all take that ``SPEC`` rather than knowing about
any particular service.
"""

import dataclasses
import importlib
import os
import typing


@dataclasses.dataclass(frozen=True)
class ServiceSpec:
    #: Python package of the service, e.g. ``limits_svc``.
    package: str
    #: Command and config-file prefix, e.g. ``limits`` (``limits-api``,
    #: ``/etc/arbiter/limits.conf``).
    prog: str
    #: Keystone catalog service type; also the microversion header's name.
    service_type: str
    #: Prefix of error codes and policy rule names, e.g. ``limits`` in
    #: ``limits.over_limit`` and ``limits:root:get``.
    namespace: str
    #: Default TCP port of the API.
    default_port: int
    #: One line saying what the service is for (version document, --help).
    title: str
    #: Microversions this service supports, oldest first.
    versions: typing.Tuple[str, ...] = ('1.0',)
    #: Callable extensions to the ``<prog>-manage`` command; see
    #: :mod:`svc_common.cmd.manage`.
    manage_commands: typing.Tuple[typing.Callable, ...] = ()
    #: Module (within the package) of the service's engine, if it has
    #: one: its ``build_runner(conf, db)`` returns a
    #: :class:`svc_common.engine.runner.Runner`, not yet started.  The
    #: local run starts it in-process next to the API.
    engine: typing.Optional[str] = None
    #: Exact URL paths answered without a Keystone token (beyond ``/``
    #: and the OpenAPI document): protocol endpoints that authenticate
    #: their callers themselves, e.g. an OAuth 2.0 token endpoint.
    public_paths: typing.Tuple[str, ...] = ()
    #: Exact URL paths whose body may be
    #: ``application/x-www-form-urlencoded`` form fields rather than JSON
    #: (RFC 6749 token endpoints); see
    #: :mod:`svc_common.api.request_guard`.
    form_paths: typing.Tuple[str, ...] = ()
    #: A second way to authenticate a request that carries no
    #: ``X-Auth-Token``: a module (within the package) whose
    #: ``build_authenticator(conf, db)`` returns ``authenticate(environ)``,
    #: or such a ``build_authenticator`` itself.  ``authenticate`` answers
    #: the user id the request proves (e.g. with a session cookie of the
    #: service's own) or None, and may raise an
    #: :class:`svc_common.errors.ApiError` to refuse the request.  See
    #: :mod:`svc_common.deploy` (step 8).
    session_auth: typing.Union[str, typing.Callable, None] = None
    #: Module (within the package) whose ``set_defaults(conf)`` gives the
    #: defaults that make the service usable in the local run (e.g. a
    #: simulated cloud to act on), with ``conf.set_default`` so that
    #: what the operator configured still wins.  Only
    #: ``arbiter-all-in-one`` calls it.
    local_run: typing.Optional[str] = None
    #: Module (within the package) whose ``start(conf, db)`` runs once
    #: when an API process builds its application
    #: (:func:`svc_common.deploy.deploy`), before it answers a request:
    #: set-up that belongs to an operator's start rather than to the
    #: first request that happens to need it (federation_proxy makes its
    #: first signing keys there, so that no anonymous GET writes).
    startup: typing.Optional[str] = None

    def authenticator(self, conf, db):
        """The ``authenticate(environ)`` of :attr:`session_auth`, or
        None when the service has none."""
        if not self.session_auth:
            return None
        build = self.session_auth
        if isinstance(build, str):
            build = self.module(build).build_authenticator
        return build(conf, db)

    def start(self, conf, db):
        """Run :attr:`startup`'s ``start(conf, db)``, if any."""
        if self.startup:
            self.module(self.startup).start(conf, db)

    def module(self, name):
        """Import a module of the service package, e.g. ``conf``."""
        return importlib.import_module('%s.%s' % (self.package, name))

    @property
    def migrations_dir(self):
        db = self.module('db')
        return os.path.join(os.path.dirname(db.__file__), 'migrations')

    @property
    def min_version(self):
        return self.versions[0]

    @property
    def max_version(self):
        return self.versions[-1]
