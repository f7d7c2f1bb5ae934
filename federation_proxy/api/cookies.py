"""The proxy's own cookies (the session, the login binding), read from a
request's ``Cookie`` header.

webob decodes every cookie of the header as UTF-8 at the first read of
any one of them, and raises ``UnicodeDecodeError`` for a quoted value
that is not UTF-8 (``other="\\xe9"``).  Any site of the proxy's domain
may set such a cookie (a sibling application, or anyone who controls a
subdomain); the proxy answered 500 to every request of that browser
that looked for its session: ``/v1`` without a Keystone token,
``/oidc/authorize``, ``/oidc/device``, the logout endpoints, the login
callback.  Here only the cookie asked for is decoded, and one of the
proxy's that is not UTF-8 is taken as absent.
"""

from webob import cookies


def read(environ, name):
    """The value of the cookie ``name`` (the last one, as webob reads
    it) in the ``Cookie`` header of the WSGI ``environ``, or None."""
    wanted = name.encode('ascii')
    found = None
    for key, value in cookies.parse_cookie(environ.get('HTTP_COOKIE', '')):
        if key == wanted:
            found = value
    if found is None:
        return None
    try:
        return found.decode('utf-8')
    except UnicodeDecodeError:
        return None
