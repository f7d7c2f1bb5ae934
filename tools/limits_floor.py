"""The ledger floor, for ``tools/bench_limits`` (not a service).

A bare WSGI function that answers ``PUT /v1/allocations/{consumer}`` with
limits_svc's own write, :func:`limits_svc.db.allocations.put_allocation`
on svc_common's :class:`~svc_common.db.database.Database` (oslo.db, the
pool plugin, the driver the URL names): the ledger's work exactly as the
service does it, and nothing else.  No pecan, no middleware, no token
validation, no policy, no schema check, no error shape: what the headline
costs beyond this row is what the HTTP framework, authentication, policy
and validation add on top of the ledger.

The configuration is limits_svc's, from ``ARBITER_LIMITS_CONFIG``, as
``limits_svc.wsgi`` reads it.
"""

import json
import os

from limits_svc.db import allocations as allocations_db
from limits_svc.db import usages as usages_db
from limits_svc import service
from svc_common import config
from svc_common import context
from svc_common.db import database

_CONF = config.build_conf(service.SPEC, default_config_files=[
    os.environ['ARBITER_LIMITS_CONFIG']])
_DB = database.Database(_CONF)
_PREFIX = '/v1/allocations/'


def _answer(start_response, status, document):
    data = json.dumps(document, default=str).encode()
    start_response(status, [('Content-Type', 'application/json'),
                            ('Content-Length', str(len(data)))])
    return [data]


def application(environ, start_response):
    path = environ.get('PATH_INFO', '')
    if path == '/healthcheck':
        return _answer(start_response, '200 OK', {})
    if environ['REQUEST_METHOD'] != 'PUT' or not path.startswith(_PREFIX):
        return _answer(start_response, '404 Not Found', {})
    size = int(environ.get('CONTENT_LENGTH') or 0)
    body = json.loads(environ['wsgi.input'].read(size))
    try:
        allocation = allocations_db.put_allocation(
            _DB, context.admin_context(), path[len(_PREFIX):],
            body['project_id'], body['resources'],
            _CONF.limits.no_limit_policy)
    except usages_db.OverLimit as exc:
        return _answer(start_response, '409 Conflict',
                       {'error': str(exc)})
    return _answer(start_response, '200 OK', {'allocation': allocation})
