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

Their names and attributes are chosen here too
(:func:`cookie_name`, :func:`attributes`).  Under an https issuer each name
has the ``__Host-`` prefix, so that a browser takes the cookie only as
the proxy's own host sets it over https, for ``Path=/`` and with no
``Domain``: a site on a sibling subdomain (``evil.example.org`` next to
``proxy.example.org``) can no longer set ("toss") a session or login
cookie that the proxy would read, and log a person's browser into the
attacker's session or finish the attacker's login there.  That is why
both are for ``Path=/``, even under an issuer with a path (a proxy
mounted at ``https://cloud.example/federation``): ``__Host-`` requires
it, and ``__Secure-`` under the issuer's path would not stop a sibling
subdomain served over https.  The unprefixed names of an earlier
release are not read: a sibling subdomain could set those; every
answer that sets or clears the session cookie also expires the plain
name (:func:`expire_plain`), and the sessions of such cookies are ended
when the API starts (:mod:`federation_proxy.startup`).  Under an http
issuer (a local run) browsers refuse both prefixes; the names are
plain.
"""

from webob import cookies

#: The prefix of the proxy's cookie names under an https issuer.
HOST_PREFIX = '__Host-'


def host_prefixed(issuer):
    """Whether the proxy's cookies have the ``__Host-`` prefix under
    ``issuer``: when it is https."""
    return issuer.startswith('https:')


def cookie_name(base, issuer):
    """The name of the proxy's cookie ``base`` (such as
    :data:`federation_proxy.login.SESSION_COOKIE`) under ``issuer``:
    with the ``__Host-`` prefix when the issuer is https."""
    return HOST_PREFIX + base if host_prefixed(issuer) else base


def attributes(issuer):
    """The attributes of every cookie of the proxy under ``issuer``
    (keyword arguments of webob's ``set_cookie``): what ``__Host-``
    requires (``Secure`` under https, ``Path=/``, no ``Domain``), and
    ``HttpOnly`` and ``SameSite=Lax``."""
    return dict(path='/', httponly=True, samesite='Lax',
                secure=host_prefixed(issuer))


def expire_plain(response, base, issuer):
    """Have the browser of ``response`` (webob) drop the cookie ``base``
    under its plain name, as a release before the ``__Host-`` names set
    it under an https ``issuer`` (``Path=/``, no ``Domain``): an empty
    value with ``Max-Age=0``.  The proxy never reads that name under an
    https issuer (a sibling subdomain could set it); this only keeps
    browsers from holding a session cookie for nothing.  Nothing under
    an http issuer, where the plain name is the cookie's own."""
    if host_prefixed(issuer):
        response.set_cookie(base, None, path='/', httponly=True,
                            samesite='Lax', secure=True)


def read_own(environ, base, issuer):
    """The value of the proxy's cookie ``base`` under ``issuer`` (see
    :func:`cookie_name`) in the WSGI ``environ``, or None."""
    return read(environ, cookie_name(base, issuer))


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
