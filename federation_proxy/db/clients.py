"""Relying-party clients of the proxy's OIDC provider (the leaf
Keystones, command-line tools, portals).

A confidential client's secret is made here, returned once, and kept as
its SHA-256 hash: it is 32 random bytes, so a fast hash loses nothing
against guessing, and the token endpoint checks it with
:func:`check_secret` in constant time.  A public client has no secret.
"""

import hmac
import json
import secrets

import sqlalchemy as sa

from federation_proxy.db import communities
from federation_proxy.db import models
from federation_proxy.db import oidc
from federation_proxy import registration
from svc_common import errors


def redirect_uris(row):
    return json.loads(row.redirect_uris or '[]')


def grant_types(row):
    return json.loads(row.grant_types or '[]')


def scopes(row):
    return (row.scope or '').split()


def is_public(row):
    return row.secret_hash is None


def _check(grants, uris, public):
    try:
        registration.check_client(grants, uris, public)
    except registration.Refused as error:
        raise errors.BadRequest(str(error), code='invalid_client',
                                field=error.field)


def _scope(scopes):
    """The ``scope`` column of a client of ``scopes``."""
    try:
        return registration.joined_scopes(scopes)
    except registration.Refused as error:
        raise errors.BadRequest(str(error), code='scopes_too_long',
                                field=error.field)


def _new_secret():
    # Hexadecimal: a secret given on a command line never starts with
    # ``-`` (which argparse takes for an option).
    secret = secrets.token_hex(32)
    return secret, communities.token_hash(secret)


@communities.retry_lost_insert_race
def create_client(db, ctx, body):
    """Register a client from a validated body; returns ``(client,
    secret or None)``."""
    public = body.get('public', False)
    uris = body.get('redirect_uris', [])
    _check(body['grant_types'], uris, public)
    scope = _scope(body.get('scopes', ['openid']))
    secret, digest = (None, None) if public else _new_secret()
    with db.writer.using(ctx) as session:
        client_id = body.get('id') or communities.new_id()
        if session.get(models.Client, client_id) is not None:
            raise errors.Conflict('Client %s exists already.' % client_id,
                                  code='client_exists')
        row = models.Client(
            id=client_id, name=body['name'], secret_hash=digest,
            redirect_uris=json.dumps(uris),
            grant_types=json.dumps(body['grant_types']),
            scope=scope)
        session.add(row)
        session.flush()
        communities.audit(session, ctx.user_id, 'create', 'client', row.id,
                          name=row.name, public=public)
        session.refresh(row)
        return row, secret


def update_client(db, ctx, client_id, body):
    """Change a client; ``rotate_secret`` gives it a new secret, returned
    once.  Returns ``(client, secret or None)``."""
    with db.writer.using(ctx) as session:
        # Locked: a deletion under way is waited for (then a 404), not
        # overwritten (an UPDATE of no row, a 500).
        row = communities.require(session, models.Client, client_id,
                                  'client', lock=True)
        grants = body.get('grant_types', grant_types(row))
        uris = body.get('redirect_uris', redirect_uris(row))
        _check(grants, uris, is_public(row))
        if body.get('rotate_secret') and is_public(row):
            raise errors.Conflict('A public client has no secret.',
                                  code='public_client')
        secret = None
        if body.get('rotate_secret'):
            secret, row.secret_hash = _new_secret()
        if 'name' in body:
            row.name = body['name']
        row.grant_types = json.dumps(grants)
        row.redirect_uris = json.dumps(uris)
        if 'scopes' in body:
            row.scope = _scope(body['scopes'])
        session.flush()
        communities.audit(session, ctx.user_id, 'update', 'client',
                          client_id, fields=sorted(body))
        session.refresh(row)
        return row, secret


def get_client(db, ctx, client_id):
    with db.reader.using(ctx) as session:
        return communities.require(session, models.Client, client_id,
                                   'client')


def list_clients(db, ctx, limit, marker=None):
    query = sa.select(models.Client).order_by(models.Client.id)
    if marker:
        query = query.where(models.Client.id > marker)
    with db.reader.using(ctx) as session:
        return session.scalars(query.limit(limit)).all()


def delete_client(db, ctx, client_id, now, lifetime):
    """Remove a client and the grants it holds (see
    :func:`federation_proxy.db.oidc.forget_client_grants`; ``lifetime``:
    of access tokens, a timedelta)."""
    with db.writer.using(ctx) as session:
        row = communities.require(session, models.Client, client_id,
                                  'client', lock=True)
        revoked = oidc.forget_client_grants(session, client_id, now,
                                            lifetime)
        session.delete(row)
        communities.audit(session, ctx.user_id, 'delete', 'client',
                          client_id, revoked_access_tokens=revoked)


def check_secret(row, secret):
    """True when ``secret`` is the confidential client's secret."""
    if row.secret_hash is None or not secret:
        return False
    return hmac.compare_digest(row.secret_hash,
                               communities.token_hash(secret))
