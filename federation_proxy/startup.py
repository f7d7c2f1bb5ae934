"""What a federation_proxy API process does once, when it starts.

The OIDC provider needs signing keys before it can sign a token or
publish its JWKS.  A new provider makes its first two keys (a current
and a next key, see :mod:`federation_proxy.oidc.keys`) here, when the
operator starts the API, rather than on the first request that reads
them: ``GET /oidc/jwks`` and the check of a bearer token are anonymous
reads and write nothing.  Several API processes (WSGI workers, hosts)
start at once: :func:`federation_proxy.db.oidc.ensure_keys` makes the
keys under a lock, so that exactly one current key is made.

Under an https issuer the proxy reads only the ``__Host-`` session
cookie (see :mod:`federation_proxy.api.cookies`).  The sessions whose
browser got the plain-named cookie (from a release before those names,
migration 0019) could then neither be used nor logged out of, and the
grants they authorized lived on until they expired: they are ended here,
with those grants, as a logout ends a session.  After the first start
that ended them there are none (new sessions have the ``__Host-``
cookie), and a start reads only the index of such sessions (migration
0020), not the sessions table.  They are ended a
batch at a time, each batch committed on its own, so that the first
start after the upgrade is not one long transaction that the WSGI
server's worker timeout could kill and roll back at every respawn: an
interrupted start leaves the batches it finished ended, and the next
start ends the rest.
"""

import datetime
import logging

from oslo_db import exception as db_exc
import sqlalchemy.exc

from federation_proxy.api import cookies
from federation_proxy.api import settings
from federation_proxy.db import oidc as oidc_db
from svc_common import context

LOG = logging.getLogger(__name__)


def start(conf, db):
    """Make the provider's first signing keys if it has none; under an
    https issuer, end the sessions whose cookie has the plain name
    (:func:`_end_unprefixed_sessions`).

    A database that cannot be read yet (not reachable, or not at the
    latest revision: ``federation-manage db sync`` not run) does not stop
    the API from starting: the keys are then made by the first token
    issued (a POST), or by ``federation-manage keys rotate``.
    """
    _make_keys(db)
    if cookies.host_prefixed(settings.issuer(conf.federation)):
        _end_unprefixed_sessions(conf, db)


def _make_keys(db):
    try:
        oidc_db.ensure_keys(db, context.admin_context(),
                            datetime.datetime.utcnow())
    except (db_exc.DBError, sqlalchemy.exc.SQLAlchemyError) as exc:
        LOG.warning('The OIDC provider could not make its signing keys at '
                    'start (%s); GET /oidc/jwks answers 503 until the '
                    'first token is issued or "federation-manage keys '
                    'rotate" is run.', exc)


def _end_unprefixed_sessions(conf, db):
    """Under an https issuer: end the sessions whose cookie has the plain
    name (see :func:`federation_proxy.db.oidc.end_unprefixed_sessions`),
    once after the upgrade that brought the ``__Host-`` names (or after
    the issuer became https), a committed batch at a time."""
    ended = 0
    try:
        for count in oidc_db.end_unprefixed_sessions(
                db, context.admin_context(), datetime.datetime.utcnow(),
                datetime.timedelta(
                    seconds=conf.federation.access_token_lifetime)):
            ended += count
            LOG.debug('Ended %d proxy sessions whose cookie has the plain '
                      'name so far.', ended)
    except (db_exc.DBError, sqlalchemy.exc.SQLAlchemyError) as exc:
        LOG.warning('Ended %d proxy sessions whose cookie has the plain '
                    'name at start, but not the others (%s); they are '
                    'ended at the next start (after "federation-manage '
                    'db sync" if the database is not at its latest '
                    'revision).', ended, exc)
        return
    if ended:
        LOG.info('Ended %d proxy sessions whose cookie has the plain name '
                 '(set before the __Host- names, which alone are read '
                 'under an https issuer), and the grants they authorized.',
                 ended)
