"""SQLAlchemy models of federation_proxy.

People (``users``) are the proxy's own stable subjects; each has one or
more ``identities`` at upstream IdPs.  A virtual organisation (``vos``)
is a tree of ``groups`` whose root group has the VO's name as its path
(``vo``, ``vo:group``, ``vo:group:sub``); ``roles`` are the roles a VO
gives (``member``, ``manager`` and custom ones); a ``memberships`` row is
one role of one person in one group.  ``vo_id`` is kept on every row that
belongs to a VO, so that a VO manager's reach is one equality.

Secrets are never stored: client secrets, invitation tokens, authorization
codes, refresh tokens, device codes and user codes are kept as SHA-256
hashes.
"""

import datetime

import sqlalchemy as sa
from sqlalchemy import orm


class Base(orm.DeclarativeBase):
    pass


def _id():
    return sa.Column(sa.String(64), primary_key=True)


def _created():
    return sa.Column(sa.DateTime, nullable=False,
                     server_default=sa.func.now())


class User(Base):
    __tablename__ = 'users'

    id = _id()
    name = sa.Column(sa.String(255), nullable=True)
    email = sa.Column(sa.String(255), nullable=True)
    created_at = _created()


class IdentityProvider(Base):
    __tablename__ = 'idps'

    id = _id()
    name = sa.Column(sa.String(255), nullable=False, unique=True)
    issuer = sa.Column(sa.String(255), nullable=False, unique=True)
    client_id = sa.Column(sa.String(255), nullable=False)
    client_secret = sa.Column(sa.String(255), nullable=True)
    scopes = sa.Column(sa.String(255), nullable=False,
                       default='openid email profile')
    # {claim of ours: claim of theirs}, JSON.
    claim_mapping = sa.Column(sa.Text, nullable=False, default='{}')
    # The IdP's endpoints (authorization, token, JWKS, userinfo), JSON:
    # given, or read from its discovery document.
    endpoints = sa.Column(sa.Text, nullable=True)
    enabled = sa.Column(sa.Boolean, nullable=False, default=True)
    created_at = _created()


class Identity(Base):
    __tablename__ = 'identities'
    __table_args__ = (sa.UniqueConstraint(
        'issuer', 'subject', name='uniq_identities0issuer_subject'),)

    id = _id()
    user_id = sa.Column(sa.String(64), sa.ForeignKey('users.id'),
                        nullable=False, index=True)
    issuer = sa.Column(sa.String(255), nullable=False)
    subject = sa.Column(sa.String(255), nullable=False)
    created_at = _created()


class VirtualOrganisation(Base):
    __tablename__ = 'vos'

    id = _id()
    name = sa.Column(sa.String(64), nullable=False, unique=True)
    description = sa.Column(sa.String(255), nullable=True)
    created_at = _created()


class Group(Base):
    __tablename__ = 'groups'

    id = _id()
    vo_id = sa.Column(sa.String(64), sa.ForeignKey('vos.id'),
                      nullable=False, index=True)
    parent_id = sa.Column(sa.String(64), sa.ForeignKey('groups.id'),
                          nullable=True, index=True)
    # "vo:group:sub", unique in the proxy.
    path = sa.Column(sa.String(255), nullable=False, unique=True)
    description = sa.Column(sa.String(255), nullable=True)
    created_at = _created()


class Role(Base):
    __tablename__ = 'roles'
    __table_args__ = (sa.UniqueConstraint('vo_id', 'name',
                                          name='uniq_roles0vo_name'),)

    id = _id()
    vo_id = sa.Column(sa.String(64), sa.ForeignKey('vos.id'),
                      nullable=False)
    name = sa.Column(sa.String(64), nullable=False)
    description = sa.Column(sa.String(255), nullable=True)


class Membership(Base):
    __tablename__ = 'memberships'
    __table_args__ = (
        sa.UniqueConstraint('user_id', 'group_id', 'role',
                            name='uniq_memberships0user_group_role'),
        # A VO's memberships in their list order (migration 0010).
        sa.Index('memberships_vo_page_idx', 'vo_id', 'id'))

    id = _id()
    vo_id = sa.Column(sa.String(64), sa.ForeignKey('vos.id'),
                      nullable=False)
    group_id = sa.Column(sa.String(64), sa.ForeignKey('groups.id'),
                         nullable=False, index=True)
    user_id = sa.Column(sa.String(64), sa.ForeignKey('users.id'),
                        nullable=False, index=True)
    role = sa.Column(sa.String(64), nullable=False)
    # pending, active, suspended, expired
    status = sa.Column(sa.String(16), nullable=False)
    expires_at = sa.Column(sa.DateTime, nullable=True)
    created_at = _created()
    updated_at = sa.Column(sa.DateTime, nullable=True)


class MembershipRequest(Base):
    __tablename__ = 'requests'
    # One pending request per person and VO (partial: decided requests
    # stay as history).  Only PostgreSQL and SQLite have partial
    # indexes; migration 0008 makes it on those.
    __table_args__ = (
        sa.Index('requests_one_pending_idx', 'vo_id', 'user_id',
                 unique=True, sqlite_where=sa.text("status = 'pending'"),
                 postgresql_where=sa.text("status = 'pending'")),
        # A VO's requests in their list order (migration 0010).
        sa.Index('requests_vo_page_idx', 'vo_id', 'created_at', 'id'),
        # A person's requests in their list order (migration 0018).
        sa.Index('requests_user_page_idx', 'user_id', 'created_at', 'id'))

    id = _id()
    vo_id = sa.Column(sa.String(64), sa.ForeignKey('vos.id'),
                      nullable=False)
    group_id = sa.Column(sa.String(64), sa.ForeignKey('groups.id'),
                         nullable=False, index=True)
    user_id = sa.Column(sa.String(64), sa.ForeignKey('users.id'),
                        nullable=False)
    role = sa.Column(sa.String(64), nullable=False)
    reason = sa.Column(sa.String(1024), nullable=True)
    # pending, approved, rejected, withdrawn (by the person who asked)
    status = sa.Column(sa.String(16), nullable=False)
    decided_by = sa.Column(sa.String(64), nullable=True)
    decided_at = sa.Column(sa.DateTime, nullable=True)
    created_at = _created()


class Invitation(Base):
    __tablename__ = 'invitations'
    # A VO's invitations in their list order (migration 0010).
    __table_args__ = (sa.Index('invitations_vo_page_idx', 'vo_id',
                               'created_at', 'id'),)

    id = _id()
    vo_id = sa.Column(sa.String(64), sa.ForeignKey('vos.id'),
                      nullable=False)
    group_id = sa.Column(sa.String(64), sa.ForeignKey('groups.id'),
                         nullable=False, index=True)
    role = sa.Column(sa.String(64), nullable=False)
    email = sa.Column(sa.String(255), nullable=False)
    token_hash = sa.Column(sa.String(64), nullable=False, unique=True)
    # pending, accepted
    status = sa.Column(sa.String(16), nullable=False)
    expires_at = sa.Column(sa.DateTime, nullable=False)
    created_by = sa.Column(sa.String(64), nullable=True)
    # The VO manager on whose authority it was made, who must still
    # manage the VO when it is accepted; None when an operator made it
    # (migration 0015).
    inviting_manager = sa.Column(sa.String(64), nullable=True)
    accepted_by = sa.Column(sa.String(64), nullable=True)
    created_at = _created()


class AuditRecord(Base):
    __tablename__ = 'audit'
    # A VO's trail in its order (migration 0010).
    __table_args__ = (sa.Index('audit_vo_page_idx', 'vo_id', 'id'),)

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    at = sa.Column(sa.DateTime, nullable=False)
    actor = sa.Column(sa.String(64), nullable=True)
    vo_id = sa.Column(sa.String(64), nullable=True)
    action = sa.Column(sa.String(64), nullable=False)
    object_type = sa.Column(sa.String(32), nullable=False)
    object_id = sa.Column(sa.String(64), nullable=False)
    detail = sa.Column(sa.Text, nullable=True)


class Client(Base):
    __tablename__ = 'clients'

    id = _id()
    name = sa.Column(sa.String(255), nullable=False)
    secret_hash = sa.Column(sa.String(64), nullable=True)
    redirect_uris = sa.Column(sa.Text, nullable=False, default='[]')
    grant_types = sa.Column(sa.Text, nullable=False, default='[]')
    scope = sa.Column(sa.String(255), nullable=False, default='openid')
    created_at = _created()


class SigningKey(Base):
    __tablename__ = 'signing_keys'

    kid = sa.Column(sa.String(64), primary_key=True)
    # next, current, retired
    state = sa.Column(sa.String(16), nullable=False)
    private_pem = sa.Column(sa.Text, nullable=False)
    public_jwk = sa.Column(sa.Text, nullable=False)
    created_at = _created()


class AuthorizationCode(Base):
    __tablename__ = 'authorization_codes'

    code_hash = sa.Column(sa.String(64), primary_key=True)
    client_id = sa.Column(sa.String(64), nullable=False)
    user_id = sa.Column(sa.String(64), nullable=False)
    redirect_uri = sa.Column(sa.String(1024), nullable=False)
    scope = sa.Column(sa.String(255), nullable=False)
    nonce = sa.Column(sa.String(255), nullable=True)
    code_challenge = sa.Column(sa.String(128), nullable=True)
    code_challenge_method = sa.Column(sa.String(8), nullable=True)
    expires_at = sa.Column(sa.DateTime, nullable=False)
    used = sa.Column(sa.Boolean, nullable=False, default=False)
    # The proxy session that authorized the code (migration 0012).
    session_id = sa.Column(sa.String(64), nullable=True, index=True)
    # The identity (``identities.id``) of that session's login: the
    # grant made with the code takes it, even once a login again in the
    # same browser took the code over (migration 0023; None for a code
    # made before, or of a session that records none).
    identity_id = sa.Column(sa.String(64), nullable=True, index=True)
    # When the person last logged in at an upstream IdP, in seconds since
    # the epoch: the ID token's auth_time (None: not known, none said).
    auth_time = sa.Column(sa.BigInteger, nullable=True)


class RefreshToken(Base):
    __tablename__ = 'refresh_tokens'

    token_hash = sa.Column(sa.String(64), primary_key=True)
    # Indexed: a client's deletion finds its tokens (migration 0014).
    client_id = sa.Column(sa.String(64), nullable=False, index=True)
    user_id = sa.Column(sa.String(64), nullable=False, index=True)
    scope = sa.Column(sa.String(255), nullable=False)
    expires_at = sa.Column(sa.DateTime, nullable=False)
    revoked = sa.Column(sa.Boolean, nullable=False, default=False)
    # The auth_time of the grant, kept by each successor.
    auth_time = sa.Column(sa.BigInteger, nullable=True)
    # The proxy session that authorized the grant, kept by each
    # successor (migration 0012).
    session_id = sa.Column(sa.String(64), nullable=True, index=True)
    # When it was made (this host's UTC clock), as the access token
    # issued with it: only those of the last access-token lifetime can
    # still be valid, and need revoking with the grant (migration 0013;
    # None for a token made before).
    created_at = sa.Column(sa.DateTime, nullable=True,
                           default=datetime.datetime.utcnow)
    # The grant it belongs to: the hash of the first refresh token of
    # the grant, kept by each successor; revoking any of them ends the
    # grant (migration 0017; None for a token made before, whose
    # successor takes the token's own hash).
    grant_id = sa.Column(sa.String(64), nullable=True, index=True)
    # The IdP of the login of the session that authorized the grant,
    # kept by each successor: disabling or deleting the IdP ends the
    # grant, also once the session is forgotten (migration 0021; None
    # for a grant of no session, or of a session whose IdP was not
    # known).
    idp_id = sa.Column(sa.String(64), nullable=True, index=True)
    # The identity (``identities.id``) of that login, kept by each
    # successor: unlinking it ends the grant, and unlinking another of
    # the person's identities at the IdP does not (migration 0022; None
    # for a token made before, which any of them ends).
    identity_id = sa.Column(sa.String(64), nullable=True, index=True)


class Session(Base):
    """A proxy session: a login through an upstream IdP that a browser's
    session cookie names (by ``id``, in the signed cookie).  A cookie is
    good only while its row is here: a logout deletes it (migration
    0012)."""

    __tablename__ = 'sessions'

    id = sa.Column(sa.String(64), primary_key=True)
    user_id = sa.Column(sa.String(64), nullable=False, index=True)
    expires_at = sa.Column(sa.DateTime, nullable=False, index=True)
    # The IdP whose login made it: disabling or deleting that IdP ends
    # it (migration 0016; None for sessions made before).
    idp_id = sa.Column(sa.String(64), nullable=True, index=True)
    # The identity (``identities.id``) whose login made it: unlinking
    # it ends the session, and unlinking another of the person's
    # identities at the IdP does not (migration 0022; None for sessions
    # made before, which any of them ends).
    identity_id = sa.Column(sa.String(64), nullable=True, index=True)
    # Whether the browser got its cookie under the __Host- name (an https
    # issuer): an API process starting under an https issuer ends the
    # others, which it can no longer read nor log out (migration 0019).
    host_prefixed = sa.Column(sa.Boolean, nullable=False,
                              server_default=sa.false())


#: The sessions whose cookie has the plain name, as the index of them
#: (migration 0020) and the start's query of them say it: the same
#: expression, so that the databases see that the query's rows are in
#: the index (a partial index serves only a query that implies its
#: condition).
SESSION_UNPREFIXED = Session.host_prefixed.is_(False)

# The sessions of plain-named cookies alone, in ID order: each start
# under an https issuer looks for them (migration 0020).
sa.Index('sessions_unprefixed_idx', Session.id,
         postgresql_where=SESSION_UNPREFIXED,
         sqlite_where=SESSION_UNPREFIXED)


class RevokedToken(Base):
    """Access tokens revoked before they expire, by ``jti``."""
    __tablename__ = 'revoked_tokens'

    jti = sa.Column(sa.String(64), primary_key=True)
    expires_at = sa.Column(sa.DateTime, nullable=False)


class LoginRequest(Base):
    """A login through an upstream IdP that has been started and not yet
    finished: what the callback needs (the nonce and the PKCE verifier)
    under the hash of its ``state``; used once, then deleted."""

    __tablename__ = 'login_requests'

    state_hash = sa.Column(sa.String(64), primary_key=True)
    idp_id = sa.Column(sa.String(64), nullable=False)
    nonce = sa.Column(sa.String(255), nullable=False)
    code_verifier = sa.Column(sa.String(128), nullable=False)
    # The person the new identity is linked to, for a link request.
    link_user_id = sa.Column(sa.String(64), nullable=True)
    expires_at = sa.Column(sa.DateTime, nullable=False, index=True)
    # Where the person goes once logged in: the proxy's own
    # authorization request (path and query) that sent them to log in.
    next_url = sa.Column(sa.Text, nullable=True)
    # The earliest upstream auth_time the callback accepts (seconds
    # since the epoch): a relying party asked for prompt=login or
    # max_age (migration 0011).
    auth_after = sa.Column(sa.BigInteger, nullable=True)


class DeviceCode(Base):
    """A device authorization request (RFC 8628): the hashes of its
    device code (the client's secret) and user code (what the person
    types), pending until the person approves or denies it, used once."""

    __tablename__ = 'device_codes'
    __table_args__ = (sa.UniqueConstraint(
        'user_code_hash', name='uniq_device_codes0user_code_hash'),)

    device_code_hash = sa.Column(sa.String(64), primary_key=True)
    user_code_hash = sa.Column(sa.String(64), nullable=False)
    client_id = sa.Column(sa.String(64), nullable=False)
    scope = sa.Column(sa.String(255), nullable=False)
    # pending, approved, denied, used
    status = sa.Column(sa.String(16), nullable=False)
    # The person who approved or denied it.
    user_id = sa.Column(sa.String(64), nullable=True)
    # Seconds the client must wait between polls (grows on slow_down).
    interval = sa.Column(sa.Integer, nullable=False)
    last_polled_at = sa.Column(sa.DateTime, nullable=True)
    expires_at = sa.Column(sa.DateTime, nullable=False, index=True)
    # When the person who decided last logged in (see AuthorizationCode).
    auth_time = sa.Column(sa.BigInteger, nullable=True)
    # The proxy session that approved it (migration 0012).
    session_id = sa.Column(sa.String(64), nullable=True, index=True)
    # The identity of that session's login (see AuthorizationCode;
    # migration 0023).
    identity_id = sa.Column(sa.String(64), nullable=True, index=True)
