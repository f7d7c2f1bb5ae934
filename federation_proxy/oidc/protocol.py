"""OAuth 2.0 / OpenID Connect request rules that need no server.

* Errors: :class:`OAuthError` carries the RFC 6749 error code (5.2,
  4.1.2.1), a description and the HTTP status the endpoint answers with.
* Scopes: a requested scope is a space-separated set of names, each of
  which the client must be registered for (RFC 6749 3.3).
* Redirect URIs are compared as exact strings with the registered ones
  (RFC 6749 3.1.2.3; OAuth 2.0 Security BCP 4.1.3): no prefix or pattern
  matching.
* PKCE (RFC 7636) is required on every authorization code, with the
  ``S256`` method only: ``plain`` would hand the verifier to whoever sees
  the authorization request.

This module imports neither pecan nor SQLAlchemy.
"""

import re
import secrets

from authlib.oauth2.rfc7636 import challenge

AUTHORIZATION_CODE = 'authorization_code'
REFRESH_TOKEN = 'refresh_token'
CLIENT_CREDENTIALS = 'client_credentials'
#: RFC 8628 3.4.
DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code'
GRANT_TYPES = (AUTHORIZATION_CODE, REFRESH_TOKEN, CLIENT_CREDENTIALS,
               DEVICE_CODE)

S256 = 'S256'

#: RFC 7636 4.1: 43 to 128 characters of ``[A-Z] / [a-z] / [0-9] / "-" /
#: "." / "_" / "~"``; a S256 challenge is 43 base64url characters.
_VERIFIER = re.compile(r'^[A-Za-z0-9\-._~]{43,128}$')
_CHALLENGE = re.compile(r'^[A-Za-z0-9\-_]{43}$')
#: RFC 6749 A.4: a scope token is printable ASCII but space, " and \.
_SCOPE_TOKEN = re.compile(r'^[\x21\x23-\x5b\x5d-\x7e]+$')

#: Bound on what a client may send as ``state``: it comes back in the
#: redirect.
MAX_OPAQUE = 512
#: Bound on ``nonce``: it is kept with the authorization code (a column
#: of 255 characters) and comes back in the ID token.
MAX_NONCE = 255


class OAuthError(Exception):
    """A refusal in RFC 6749's terms.

    :param error: the error code (``invalid_request``, ``invalid_grant``
        ...).
    :param description: a sentence for people (``error_description``).
    :param status: the HTTP status of a direct answer (400; 401 for a
        client that failed to authenticate).
    """

    def __init__(self, error, description, status=400):
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


def invalid_request(description):
    return OAuthError('invalid_request', description)


def new_secret():
    """A fresh unguessable value (256 bits) for codes and tokens."""
    return secrets.token_urlsafe(32)


def parse_scope(text):
    """The scope names of ``text`` (a space-separated list), in order,
    without duplicates.

    :raises OAuthError: a name with characters RFC 6749 does not allow.
    """
    names = []
    for name in (text or '').split(' '):
        if not name:
            continue
        if not _SCOPE_TOKEN.match(name):
            raise OAuthError('invalid_scope', 'A scope name holds a '
                             'character RFC 6749 (A.4) does not allow.')
        if name not in names:
            names.append(name)
    return names


def granted_scope(requested, allowed, default=None):
    """The scope names granted: ``requested`` (or ``default`` when
    nothing was asked for), each of which must be in ``allowed``.

    :raises OAuthError: ``invalid_scope`` naming the first one that is
        not.
    """
    names = parse_scope(requested) or list(default or ())
    for name in names:
        if name not in allowed:
            raise OAuthError('invalid_scope', 'The client may not ask for '
                             'scope %s.' % name)
    return names


def narrowed_scope(requested, original):
    """A refresh may ask for the same scope or less (RFC 6749 6)."""
    if not requested:
        return list(original)
    names = parse_scope(requested)
    for name in names:
        if name not in original:
            raise OAuthError('invalid_scope', 'Scope %s was not granted '
                             'with this refresh token.' % name)
    return names


def still_allowed(scope, allowed):
    """The names of a scope granted earlier (a list) that the client may
    still have: an operator who takes a scope from a client (say
    ``vo_management``) stops it at the client's next token, not when
    the grant's refresh tokens expire.

    :raises OAuthError: ``invalid_scope`` when none is left.
    """
    names = [name for name in scope if name in allowed]
    if scope and not names:
        raise OAuthError('invalid_scope', 'The client may no longer ask '
                         'for any scope of this grant.')
    return names


def check_redirect_uri(uri, registered):
    """``uri`` must be one of the ``registered`` URIs, exactly.

    :raises OAuthError: missing or not registered.  The authorization
        endpoint must not redirect to such a URI: it answers the error
        itself.
    """
    if not uri:
        raise invalid_request('redirect_uri is required.')
    if uri not in registered:
        raise invalid_request('redirect_uri is not registered for this '
                              'client.')
    return uri


def check_challenge(code_challenge, method):
    """The PKCE challenge of an authorization request: required, S256.

    :raises OAuthError: ``invalid_request``.
    """
    if not code_challenge:
        raise invalid_request('code_challenge is required (PKCE, S256).')
    if method != S256:
        raise invalid_request('code_challenge_method must be S256.')
    if not _CHALLENGE.match(code_challenge):
        raise invalid_request('code_challenge is not a S256 challenge.')


def s256(verifier):
    """The S256 challenge of ``verifier`` (RFC 7636 4.2)."""
    return challenge.create_s256_code_challenge(verifier)


def check_verifier(verifier, code_challenge):
    """The token request's ``code_verifier`` must match the challenge of
    the authorization request.

    :raises OAuthError: ``invalid_grant`` when it is missing, malformed
        or does not match.
    """
    if not verifier:
        raise OAuthError('invalid_grant', 'code_verifier is required.')
    if not _VERIFIER.match(verifier):
        raise OAuthError('invalid_grant', 'code_verifier is malformed.')
    if not secrets.compare_digest(s256(verifier), code_challenge or ''):
        raise OAuthError('invalid_grant', 'code_verifier does not match '
                         'the code_challenge.')


#: The longest ``max_age`` read (about 31 years, in seconds).
_MAX_AGE = re.compile(r'^[0-9]{1,10}$')


def login_prompt(prompt, max_age):
    """``(set of prompt values, max_age in seconds or None)`` of an
    authorization request (OIDC Core 3.1.2.1).

    :raises OAuthError: ``invalid_request``: ``none`` with another
        value, or a ``max_age`` that is not a number of seconds;
        ``consent_required``: ``consent``, which the provider cannot
        obtain (it asks nobody to consent: relying parties are
        registered by the operator), and must then refuse rather than
        issue a code nobody consented to (OIDC Core 3.1.2.1).
    """
    values = set((prompt or '').split())
    if 'none' in values and len(values) > 1:
        raise invalid_request('prompt=none goes with no other value.')
    if 'consent' in values:
        raise OAuthError('consent_required', 'The provider asks no person '
                         'for consent (the operator registers relying '
                         'parties): prompt=consent cannot be honoured.')
    if max_age is None:
        return values, None
    if not _MAX_AGE.match(max_age):
        raise invalid_request('max_age is a number of seconds.')
    return values, int(max_age)


def must_log_in(person, auth_time, prompt, max_age, now):
    """Whether the person must (again) authenticate before a code is
    issued: there is none; or the request says ``prompt=login``, or has
    a ``max_age`` that the person's last login (``auth_time``, seconds
    since the epoch; None when not known) is older than."""
    if person is None:
        return True
    if 'login' in prompt:
        return True
    return max_age is not None and (auth_time is None or
                                    now - auth_time > max_age)


def check_opaque(name, value, maximum=MAX_OPAQUE):
    """``state`` and ``nonce``: optional, printable, at most ``maximum``
    characters."""
    if value is None:
        return None
    if len(value) > maximum or not value.isprintable():
        raise invalid_request('%s is longer than %d characters or not '
                              'printable.' % (name, maximum))
    return value
