"""What a federation_proxy API process does once, when it starts.

The OIDC provider needs signing keys before it can sign a token or
publish its JWKS.  A new provider makes its first two keys (a current
and a next key, see :mod:`federation_proxy.oidc.keys`) here, when the
operator starts the API, rather than on the first request that reads
them: ``GET /oidc/jwks`` and the check of a bearer token are anonymous
reads and write nothing.  Several API processes (WSGI workers, hosts)
start at once: :func:`federation_proxy.db.oidc.ensure_keys` makes the
keys under a lock, so that exactly one current key is made.
"""

import datetime
import logging

from oslo_db import exception as db_exc
import sqlalchemy.exc

from federation_proxy.db import oidc as oidc_db
from svc_common import context

LOG = logging.getLogger(__name__)


def start(conf, db):
    """Make the provider's first signing keys if it has none.

    A database that cannot be read yet (not reachable, or not at the
    latest revision: ``federation-manage db sync`` not run) does not stop
    the API from starting: the keys are then made by the first token
    issued (a POST), or by ``federation-manage keys rotate``.
    """
    try:
        oidc_db.ensure_keys(db, context.admin_context(),
                            datetime.datetime.utcnow())
    except (db_exc.DBError, sqlalchemy.exc.SQLAlchemyError) as exc:
        LOG.warning('The OIDC provider could not make its signing keys at '
                    'start (%s); GET /oidc/jwks answers 503 until the '
                    'first token is issued or "federation-manage keys '
                    'rotate" is run.', exc)
