"""Rules of what may be registered: upstream IdP issuers and the redirect
URIs and grant types of relying-party clients.

This module imports neither pecan nor SQLAlchemy; the API and the DB
layer call it and turn a :class:`Refused` into a 400 naming the field.

* An issuer is an ``https`` URL without query or fragment (OIDC
  Discovery 1.0, section 2); plain ``http`` is accepted only on a
  loopback host, for tests and local runs.
* A redirect URI is absolute, has no fragment (RFC 6749, 3.1.2), and is
  ``https``, or ``http`` on a loopback host (RFC 8252, 7.3, for
  command-line clients that listen on 127.0.0.1).
* ``authorization_code`` needs at least one redirect URI; a public client
  (no secret) cannot use ``client_credentials``, which has no user and
  would then authenticate nobody; ``refresh_token`` comes with a grant
  that has a user.
* The scopes of an IdP or a client, joined by spaces, hold at most
  :data:`MAX_SCOPES_LENGTH` characters (what the proxy keeps of them).
"""

import urllib.parse

AUTHORIZATION_CODE = 'authorization_code'
REFRESH_TOKEN = 'refresh_token'
CLIENT_CREDENTIALS = 'client_credentials'
DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code'
GRANT_TYPES = (AUTHORIZATION_CODE, REFRESH_TOKEN, CLIENT_CREDENTIALS,
               DEVICE_CODE)

LOOPBACK_HOSTS = ('127.0.0.1', 'localhost', '::1')

#: The longest list of scopes, joined by spaces, an IdP or a client has.
MAX_SCOPES_LENGTH = 255

#: The claims of a person the proxy reads from an upstream ID token or
#: userinfo answer, and the upstream claim each is read from by default.
DEFAULT_CLAIM_MAPPING = {
    'name': 'name',
    'email': 'email',
    'affiliation': 'eduperson_scoped_affiliation',
    'assurance': 'eduperson_assurance',
}


class Refused(ValueError):
    """A value that cannot be registered; ``field`` names it."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field


def _parse(value, field):
    try:
        parts = urllib.parse.urlsplit(value)
        parts.port  # A bad port raises ValueError here.
    except ValueError as error:
        raise Refused(field, '%s is not a URL: %s' % (field, error))
    if not parts.scheme or not parts.hostname:
        raise Refused(field, '%s must be an absolute URL.' % field)
    return parts


def _secure(parts, field):
    if parts.scheme == 'https':
        return
    if parts.scheme == 'http' and parts.hostname in LOOPBACK_HOSTS:
        return
    raise Refused(field, '%s must use https (http only on a loopback '
                  'host).' % field)


def check_issuer(issuer, field='issuer'):
    """Refuse an issuer OIDC Discovery would not accept."""
    parts = _parse(issuer, field)
    _secure(parts, field)
    if parts.query or parts.fragment or '#' in issuer or '?' in issuer:
        raise Refused(field, '%s has no query and no fragment.' % field)


def check_endpoint(url, field):
    """An endpoint of an upstream IdP (token, JWKS ...)."""
    _secure(_parse(url, field), field)


def discovery_url(issuer):
    """Where the issuer's discovery document is (OIDC Discovery 4.1)."""
    return issuer.rstrip('/') + '/.well-known/openid-configuration'


def joined_scopes(scopes, field='scopes'):
    """``scopes`` (a list) as kept: joined by spaces.

    :raises Refused: longer than :data:`MAX_SCOPES_LENGTH`.
    """
    joined = ' '.join(scopes)
    if len(joined) > MAX_SCOPES_LENGTH:
        raise Refused(field, 'The scopes, joined by spaces, take %d '
                             'characters; at most %d.'
                      % (len(joined), MAX_SCOPES_LENGTH))
    return joined


def check_redirect_uri(uri, field='redirect_uris'):
    parts = _parse(uri, field)
    if parts.fragment or '#' in uri:
        raise Refused(field, 'A redirect URI has no fragment: %s' % uri)
    _secure(parts, field)


def check_client(grant_types, redirect_uris, public):
    """Refuse a client whose grants, redirect URIs and kind (public or
    confidential) do not fit together."""
    for uri in redirect_uris:
        check_redirect_uri(uri)
    grants = set(grant_types)
    if AUTHORIZATION_CODE in grants and not redirect_uris:
        raise Refused('redirect_uris', 'The authorization_code grant needs '
                      'at least one redirect URI.')
    if public and CLIENT_CREDENTIALS in grants:
        raise Refused('grant_types', 'A public client (without a secret) '
                      'cannot use the client_credentials grant.')
    if REFRESH_TOKEN in grants and not grants & {AUTHORIZATION_CODE,
                                                 DEVICE_CODE}:
        raise Refused('grant_types', 'refresh_token needs authorization_code '
                      'or the device grant.')
