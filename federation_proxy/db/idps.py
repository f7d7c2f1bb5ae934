"""Upstream identity providers: the registry the proxy logs people in
through.

The client secret the proxy holds at an IdP must be sent in clear to
that IdP's token endpoint, so it cannot be hashed: it is encrypted with
Fernet (AES-128-CBC and HMAC-SHA256, from ``cryptography``) under a key
derived from ``[federation] secret_key``, and only
:func:`client_secret` decrypts it.  Answers of the API never carry it.
"""

import base64
import hashlib
import json

from cryptography import fernet
import sqlalchemy as sa

from federation_proxy.db import communities
from federation_proxy.db import models
from federation_proxy.db import oidc
from federation_proxy import registration
from federation_proxy import upstream
from svc_common import errors

ENDPOINTS = ('authorization_endpoint', 'token_endpoint', 'jwks_uri',
             'userinfo_endpoint')
REQUIRED_DISCOVERED = ('authorization_endpoint', 'token_endpoint',
                       'jwks_uri')
#: RFC 9207: an IdP whose discovery document sets this names itself
#: (``iss``) in every authorization response, and the login callback
#: refuses an answer without it.  Kept, when true, with the endpoints
#: read from the same document (``endpoints`` column, JSON).
ISS_PARAMETER = 'authorization_response_iss_parameter_supported'


def _cipher(secret_key):
    if not secret_key:
        raise errors.Conflict(
            'An IdP client secret cannot be stored: [federation] '
            'secret_key is not set.', code='secret_key_unset')
    key = hashlib.sha256(secret_key.encode('utf-8')).digest()
    return fernet.Fernet(base64.urlsafe_b64encode(key))


def encrypt_secret(secret_key, secret):
    return _cipher(secret_key).encrypt(secret.encode('utf-8')).decode(
        'ascii')


def client_secret(db, ctx, idp_id, secret_key):
    """The IdP's client secret in clear (None for a public client).

    :raises svc_common.errors.Conflict: when the key cannot decrypt it
        (``[federation] secret_key`` changed since it was stored).
    """
    row = get_idp(db, ctx, idp_id)
    if not row.client_secret:
        return None
    try:
        return _cipher(secret_key).decrypt(
            row.client_secret.encode('ascii')).decode('utf-8')
    except fernet.InvalidToken:
        raise errors.Conflict(
            'The client secret of IdP %s was stored under another '
            'secret_key; set it again.' % idp_id, code='secret_unreadable')


def endpoints(row):
    """``{name: url or None}`` of the IdP's endpoints."""
    stored = json.loads(row.endpoints) if row.endpoints else {}
    return {name: stored.get(name) for name in ENDPOINTS}


def sends_iss(row):
    """Whether the IdP's discovery document, when it was last read, said
    that it names itself in its authorization responses (RFC 9207
    2.3): an answer without ``iss`` is then not its own."""
    stored = json.loads(row.endpoints) if row.endpoints else {}
    return stored.get(ISS_PARAMETER) is True


def claim_mapping(row):
    """The IdP's claim mapping, with the defaults for the claims it does
    not name."""
    return dict(registration.DEFAULT_CLAIM_MAPPING,
                **json.loads(row.claim_mapping or '{}'))


def discover(issuer, timeout):
    """The endpoints of ``issuer`` read from its discovery document, and
    whether it names itself in its authorization responses
    (:data:`ISS_PARAMETER`, a bool).

    The document must name the same issuer (OIDC Discovery 4.3) and its
    required endpoints.  Every failure is a 400 naming ``discover``: the
    issuer the caller gave does not serve a usable document.
    """
    url = registration.discovery_url(issuer)

    def refuse(why):
        return errors.BadRequest('Discovery at %s failed: %s' % (url, why),
                                 code='discovery_failed', field='discover')

    try:
        document = upstream.get_json(url, timeout)
    except upstream.Failed as error:
        raise refuse(str(error))
    if not isinstance(document, dict):
        raise refuse('not a JSON object')
    if document.get('issuer') != issuer:
        raise refuse('it names issuer %r' % (document.get('issuer'),))
    found = {}
    for name in ENDPOINTS:
        value = document.get(name)
        if value is None and name not in REQUIRED_DISCOVERED:
            continue
        if not isinstance(value, str):
            raise refuse('%s missing' % name)
        try:
            registration.check_endpoint(value, name)
        except registration.Refused as error:
            raise refuse(str(error))
        found[name] = value
    # False too, so that a document read again without it clears it.
    found[ISS_PARAMETER] = document.get(ISS_PARAMETER) is True
    return found


def _check(body):
    try:
        if 'issuer' in body:
            registration.check_issuer(body['issuer'])
        for name in ENDPOINTS:
            if body.get(name):
                registration.check_endpoint(body[name], name)
    except registration.Refused as error:
        raise errors.BadRequest(str(error), code='invalid_url',
                                field=error.field)
    try:
        if 'scopes' in body:
            registration.joined_scopes(body['scopes'])
    except registration.Refused as error:
        raise errors.BadRequest(str(error), code='scopes_too_long',
                                field=error.field)


def _apply(row, body, secret_key, discovered):
    for name in ('name', 'client_id', 'enabled'):
        if name in body:
            setattr(row, name, body[name])
    if 'scopes' in body:
        row.scopes = registration.joined_scopes(body['scopes'])
    if 'claim_mapping' in body:
        row.claim_mapping = json.dumps(body['claim_mapping'],
                                       sort_keys=True)
    if 'client_secret' in body:
        secret = body['client_secret']
        row.client_secret = (encrypt_secret(secret_key, secret)
                             if secret else None)
    current = json.loads(row.endpoints) if row.endpoints else {}
    current.update({name: body[name] for name in ENDPOINTS
                    if name in body})
    current.update(discovered or {})
    row.endpoints = json.dumps({k: v for k, v in current.items() if v},
                               sort_keys=True)


def _refuse_taken(session, idp_id, **values):
    """Refuse values of IdP ``idp_id`` that another IdP has.  A name
    may not be another IdP's id either: a login names its IdP by id or
    name (``GET /v1/login?idp=``), and one named by the id of another
    was either of the two."""
    for column, value in values.items():
        if value is None:
            continue
        model = models.IdentityProvider
        where = getattr(model, column) == value
        if column == 'name':
            where = sa.or_(where, model.id == value)
        taken = session.scalars(sa.select(model.id).where(
            where, model.id != idp_id)).first()
        if taken:
            raise errors.Conflict('An IdP with %s %s exists already%s.'
                                  % (column, value,
                                     ' (or with that id)'
                                     if column == 'name' else ''),
                                  code='idp_exists')


@communities.retry_lost_insert_race
def create_idp(db, ctx, body, secret_key, timeout):
    """Register an IdP from a validated ``body`` (see
    :data:`federation_proxy.schemas.idp.IDP_CREATE`)."""
    _check(body)
    discovered = (discover(body['issuer'], timeout)
                  if body.get('discover') else None)
    with db.writer.using(ctx) as session:
        idp_id = communities.new_id()
        _refuse_taken(session, idp_id, name=body['name'],
                      issuer=body['issuer'])
        row = models.IdentityProvider(
            id=idp_id, issuer=body['issuer'], enabled=True,
            scopes='openid email profile', claim_mapping='{}')
        _apply(row, body, secret_key, discovered)
        session.add(row)
        session.flush()
        communities.audit(session, ctx.user_id, 'create', 'idp', row.id,
                          name=row.name, issuer=row.issuer,
                          discovered=bool(discovered))
        session.refresh(row)
        return row


@communities.retry_on_deadlock
@communities.retry_lost_insert_race
def update_idp(db, ctx, idp_id, body, secret_key, timeout, now,
               lifetime):
    """Change an IdP.  Disabling it ends the proxy sessions its logins
    made and revokes their grants (:func:`oidc.end_idp_sessions`; ``now``
    and the access-token ``lifetime``, a timedelta, say until when
    access tokens are revoked)."""
    _check(body)
    issuer = get_idp(db, ctx, idp_id).issuer
    discovered = discover(issuer, timeout) if body.get('discover') else None
    with db.writer.using(ctx) as session:
        # Locked: a deletion under way is waited for (then a 404), not
        # overwritten (an UPDATE of no row, a 500).
        row = communities.require(session, models.IdentityProvider,
                                  idp_id, 'idp', lock=True)
        _refuse_taken(session, idp_id, name=body.get('name'))
        disabled = row.enabled and body.get('enabled') is False
        _apply(row, body, secret_key, discovered)
        session.flush()
        ended = (oidc.end_idp_sessions(session, ctx, idp_id, row.issuer,
                                       now, lifetime)
                 if disabled else 0)
        communities.audit(session, ctx.user_id, 'update', 'idp', idp_id,
                          fields=sorted(body), sessions_ended=ended)
        session.refresh(row)
        return row


def get_idp(db, ctx, idp_id):
    with db.reader.using(ctx) as session:
        return communities.require(session, models.IdentityProvider,
                                   idp_id, 'idp')


def list_idps(db, ctx, limit, marker=None):
    query = sa.select(models.IdentityProvider).order_by(
        models.IdentityProvider.id)
    if marker:
        query = query.where(models.IdentityProvider.id > marker)
    with db.reader.using(ctx) as session:
        return session.scalars(query.limit(limit)).all()


def find_enabled_idp(db, ctx, name):
    """The enabled IdP whose id or name is ``name``, or None: one
    indexed read, however many IdPs are registered (a federation such as
    eduGAIN has thousands)."""
    table = models.IdentityProvider
    with db.reader.using(ctx) as session:
        return session.scalars(sa.select(table).where(
            sa.or_(table.id == name, table.name == name),
            table.enabled.is_(True)).order_by(table.id).limit(1)).first()


def enabled_idps(db, ctx, limit=None, marker=None):
    """The enabled IdPs by name (at most ``limit`` of them; all by
    default), after the one named ``marker`` if given: read through the
    unique index of names."""
    table = models.IdentityProvider
    query = sa.select(table).where(table.enabled.is_(True)).order_by(
        table.name)
    if marker:
        query = query.where(table.name > marker)
    if limit:
        query = query.limit(limit)
    with db.reader.using(ctx) as session:
        return session.scalars(query).all()


@communities.retry_on_deadlock
def delete_idp(db, ctx, idp_id, now, lifetime):
    """Remove an IdP; identities at its issuer stay linked (a person may
    log in again once it is registered again).  The proxy sessions its
    logins made end, as when it is disabled (see :func:`update_idp`)."""
    with db.writer.using(ctx) as session:
        row = communities.require(session, models.IdentityProvider,
                                  idp_id, 'idp')
        session.delete(row)
        ended = oidc.end_idp_sessions(session, ctx, idp_id, row.issuer,
                                      now, lifetime)
        communities.audit(session, ctx.user_id, 'delete', 'idp', idp_id,
                          issuer=row.issuer, sessions_ended=ended)
