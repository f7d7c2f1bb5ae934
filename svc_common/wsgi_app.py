"""Turn a service's SPEC and config into a ready WSGI application.

``<service>/wsgi.py`` calls :func:`init_application` at import time, which
is what uwsgi, gunicorn or mod_wsgi expect.  The config file is found the
oslo.config way (``/etc/arbiter/<prog>.conf``), or named by the environment
variable ``ARBITER_<PROG>_CONFIG`` (e.g. ``ARBITER_LIMITS_CONFIG``).
"""

import os

from oslo_log import log as logging

from svc_common import config
from svc_common.db import database
from svc_common import deploy
from svc_common.messaging import bus
from svc_common import policy


def config_env_var(spec):
    return 'ARBITER_%s_CONFIG' % spec.prog.upper().replace('-', '_')


#: The default of ``[oslo_messaging_notifications] retry`` in an API
#: process: how many times a notification is sent again while the broker
#: cannot be reached before it is dropped (oslo.messaging logs "Could not
#: send notification").  The request's change is committed already, and
#: oslo.messaging's own default, trying for ever, held the request (and
#: its WSGI worker) until the broker came back.  An operator's own value
#: of the option wins.
API_NOTIFICATION_RETRY = 1


def make_application(spec, conf):
    """Build the WSGI app of ``spec`` from an already parsed ``conf``."""
    enforcer = policy.make_enforcer(conf, spec.module('policies').list_rules())
    db = database.Database(conf)
    # The drivers of [oslo_messaging_notifications]: none, nothing sent.
    conf.set_default('retry', API_NOTIFICATION_RETRY,
                     group='oslo_messaging_notifications')
    notifier = bus.get_notifier(conf, bus.publisher_id(spec), driver=None)
    return deploy.deploy(spec, conf, enforcer, db, notifier)


def init_application(spec):
    """Read the service's config and logging setup; return the app."""
    files = None
    named = os.environ.get(config_env_var(spec))
    if named:
        files = [named]
    conf = config.build_conf(spec, default_config_files=files)
    logging.setup(conf, spec.prog)
    # A value an option cannot take stops the WSGI server's start rather
    # than failing the requests that read it.
    config.check_values(conf)
    return make_application(spec, conf)
