"""The request-path floor, for ``tools/bench_limits`` (not a service).

limits_svc's complete WSGI application, built as ``limits_svc.wsgi``
builds it (keystonemiddleware validating tokens with the token cache the
configuration names, oslo.policy, the request guard, JSON Schema, pecan,
the error shape), with one part taken out: the ledger's write.
``PUT /v1/allocations/{consumer}`` goes through every check a real PUT
goes through, then answers the allocation it asked for without reading
or writing the database.

It is the counterpart of ``tools/limits_floor.py`` (the ledger's write
with no request path around it).  Between them, the two floors split the
headline's cost per allocation into the request path and the ledger:
requests that pay both, one after the other, make at most
``1 / (1 / path floor + 1 / ledger floor)`` allocations a second on the
same cores.

This module is imported only by the benchmark's own WSGI server; it
replaces :func:`limits_svc.db.allocations.put_allocation` in that
process, nowhere else.  Every other endpoint is limits_svc's own.
"""

from limits_svc.db import allocations as allocations_db
from limits_svc import service
from svc_common import wsgi_app


def _answer_without_ledger(db, ctx, consumer_id, project_id, resources,
                           no_limit_policy, expires_in=None, **conditions):
    """What :func:`put_allocation` answers for a new consumer, with no
    database round trip and no decision."""
    taken = {name: amount for name, amount in resources.items() if amount}
    return {'consumer_id': consumer_id, 'project_id': project_id,
            'resources': taken, 'expires_at': None,
            'generation': 1 if taken else None}


allocations_db.put_allocation = _answer_without_ledger

application = wsgi_app.init_application(service.SPEC)
