"""What every request must be before it is routed.

:class:`RequestGuard` is a WSGI middleware of the chain that
:func:`svc_common.deploy.deploy` builds, below the JSON error middleware
(its refusals have the error shape of every other error) and above
authentication and pecan.  It refuses, for every endpoint of every
service, input no handler could mean to accept:

* a URL path that is not UTF-8 or holds a NUL character (``400``);
* a query string that is not UTF-8, holds a NUL character, names a
  parameter more than once (``?limit=1&limit=500``: a handler reads one
  value, and which one would be webob's choice, not the caller's), or
  carries ``_method``, with which pecan would let a ``POST`` (or even a
  ``GET``) run the ``DELETE`` or ``PATCH`` handler (``400``);
* a body of another media type than ``application/json``, or sent with a
  ``Content-Encoding`` (compressed: it would be read as JSON as it is)
  (``415``; no Content-Type and curl's default form type are taken as
  JSON; the Content-Type of a request without a body is dropped), larger
  than
  ``[oslo_middleware] max_request_body_size`` (``413``), or that
  :func:`svc_common.api.validation.parse_json` refuses: not JSON, nested
  too deeply, a NUL character or a lone surrogate in a string (``400``).

The body is parsed once, here, and the handler's
:func:`~svc_common.api.validation.json_body` reads the parsed value.

Form bodies, for a few paths only.  OAuth 2.0 (RFC 6749, 7009, 7662)
makes clients send ``application/x-www-form-urlencoded`` form fields to a
token, revocation or introspection endpoint.  A service names those
exact paths in ``ServiceSpec.form_paths``; on them, and only there, a
body of that type is parsed here as form fields (:func:`parse_form`:
UTF-8, no NUL character, each field at most once, at most
:data:`MAX_FORM_FIELDS` fields) into ``environ[FORM_BODY_KEY]`` (a
``dict``), and its Content-Type is kept.  Every other path keeps the
JSON-only rule above.
"""

import io
import math
import urllib.parse

import webob

from svc_common.api import validation
from svc_common import errors

JSON_TYPE = 'application/json'
FORM_TYPE = 'application/x-www-form-urlencoded'

#: Where the form fields of a body sent to a form path are kept.
FORM_BODY_KEY = 'arbiter.form_body'

#: More fields than any OAuth 2.0 request has.
MAX_FORM_FIELDS = 64

#: The query parameter pecan reads to override the request's method.
METHOD_OVERRIDE = '_method'


def _bad(detail, field):
    return errors.BadRequest(detail, code='invalid_input', field=field)


def check_path(environ):
    """Refuse a path that is not UTF-8 or holds a NUL character.

    ``PATH_INFO`` is the percent-decoded path, one character per byte
    (PEP 3333).
    """
    try:
        path = environ.get('PATH_INFO', '').encode('latin-1').decode('utf-8')
    except UnicodeError:
        raise _bad('The URL path is not UTF-8.', '(path)')
    if '\x00' in path:
        raise _bad('The URL path contains a NUL character.', '(path)')


def check_query(environ):
    """Refuse a query string that is not UTF-8, holds a NUL character,
    names a parameter twice or overrides the request's method.

    The query is decoded by webob, as the handlers will see it (``&`` and
    ``;`` both separate parameters); webob keeps the result in the
    environment, so this costs no second parse.
    """
    if not environ.get('QUERY_STRING'):
        return
    try:
        params = webob.Request(environ).GET
    except UnicodeDecodeError:
        raise _bad('The query string is not UTF-8.', '(query)')
    seen = set()
    for name, value in params.items():
        if '\x00' in name:
            raise _bad('A query parameter name contains a NUL character.',
                       '(query)')
        if name in seen:
            raise _bad('Query parameter %s is given more than once.'
                       % errors.quoted_id(name), name)
        seen.add(name)
        if '\x00' in value:
            raise _bad('Query parameter %s contains a NUL character.'
                       % errors.quoted_id(name), name)
        if name == METHOD_OVERRIDE:
            raise _bad('Query parameter %s is not accepted: send the '
                       'request with the HTTP method you mean.' % name,
                       name)


def _content_length(environ):
    value = environ.get('CONTENT_LENGTH')
    if not value:
        return None
    # ASCII digits: str.isdigit() also takes '²', which int() refuses;
    # in the Latin-1 of a WSGI header, isdecimal() takes 0-9 only (one
    # call, as before: every request with a body passes here).
    if not value.isdecimal():
        raise errors.BadRequest('Content-Length must be a number of bytes '
                                '(digits only), not %s.'
                                % validation.json_text(value, 40),
                                code='bad_request')
    digits = value.lstrip('0')
    if len(digits) > _MOST_LENGTH_DIGITS:
        # Larger than any body taken (a 413): int() converts at most
        # 4300 digits, and its ValueError was a 500.
        return math.inf
    return int(digits or '0')


#: More digits than this in a Content-Length (leading zeros apart) is
#: more bytes than any body size: 10**20 bytes.
_MOST_LENGTH_DIGITS = 20


# Media types taken as JSON: none at all, and the form type that curl
# and many HTTP libraries send by default with a body.
_TAKEN_AS_JSON = ('', 'application/x-www-form-urlencoded')


def check_media_type(environ):
    """A body must be JSON.

    Without a Content-Type, or with curl's default
    ``application/x-www-form-urlencoded``, the body is taken as JSON, and
    the Content-Type is set to say so: no layer below may then read the
    body as form fields.  Any other type than ``application/json``, or a
    charset other than UTF-8, is a 415.
    """
    content_type = environ.get('CONTENT_TYPE', '')
    media_type, _sep, parameters = content_type.partition(';')
    media_type = media_type.strip().lower()
    if media_type in _TAKEN_AS_JSON:
        environ['CONTENT_TYPE'] = JSON_TYPE
        return
    if media_type != JSON_TYPE or not _utf8(parameters):
        raise errors.ApiError(
            'The body must be %s (UTF-8), not %s.'
            % (JSON_TYPE, content_type), status=415)


def _utf8(parameters):
    """Whether a Content-Type's ``parameters`` (what follows its first
    ``;``) name no charset, or UTF-8."""
    charset = None
    for parameter in parameters.split(';'):
        name, _sep, value = parameter.partition('=')
        if name.strip().lower() == 'charset':
            charset = value.strip().strip('"').lower()
    return charset in (None, 'utf-8', 'utf8')


def check_form_charset(environ):
    """Form fields must be UTF-8 (as :func:`parse_form` reads them): a
    form body of another charset is a 415.  (webob, through which pecan
    reads the fields again, raised on any other charset: a 500.)"""
    content_type = environ.get('CONTENT_TYPE', '')
    if not _utf8(content_type.partition(';')[2]):
        raise errors.ApiError(
            'Form fields must be sent as %s in UTF-8, not %s.'
            % (FORM_TYPE, content_type[:80]), status=415)


def check_content_encoding(environ):
    """A body must be sent as it is: a compressed one (any
    ``Content-Encoding`` but ``identity``) is a 415, not read as JSON."""
    encoding = environ.get('HTTP_CONTENT_ENCODING', '').strip().lower()
    if encoding not in ('', 'identity'):
        raise errors.ApiError(
            'The body must be sent without a Content-Encoding, not %s.'
            % environ['HTTP_CONTENT_ENCODING'][:40], status=415)


def _media_type(environ):
    return environ.get('CONTENT_TYPE', '').partition(';')[0].strip().lower()


def parse_form(raw):
    """``{name: value}`` of a form body (``application/x-www-form-
    urlencoded``), or a 400 naming what is wrong: not UTF-8, a NUL
    character, a field given twice (RFC 6749 3.1), a malformed pair or too
    many fields."""
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError:
        raise _bad('The form body is not UTF-8.', '(body)')
    try:
        pairs = urllib.parse.parse_qsl(
            text, keep_blank_values=True, strict_parsing=True,
            encoding='utf-8', errors='strict',
            max_num_fields=MAX_FORM_FIELDS)
    except UnicodeDecodeError:
        raise _bad('A form field is not UTF-8.', '(body)')
    except ValueError:
        raise _bad('The body is not form fields (name=value&...), or has '
                   'more than %d of them.' % MAX_FORM_FIELDS, '(body)')
    fields = {}
    for name, value in pairs:
        if '\x00' in name or '\x00' in value:
            raise _bad('A form field contains a NUL character.', '(body)')
        if name in fields:
            raise _bad('Form field %s is given more than once.'
                       % errors.quoted_id(name), name)
        fields[name] = value
    return fields


def read_body(environ, max_size):
    """The raw body (bytes, maybe empty), read at most once.

    The input is replaced with the bytes read, so that the layers below
    read the same body again.
    """
    length = _content_length(environ)
    chunked = 'chunked' in environ.get('HTTP_TRANSFER_ENCODING', '').lower()
    if length is None and not chunked:
        return b''
    if length is not None and length > max_size:
        raise errors.ApiError(
            'The body is larger than %d bytes.' % max_size, status=413)
    stream = environ['wsgi.input']
    if length is not None:
        raw = stream.read(length)
        if len(raw) != length:
            raise errors.BadRequest('The body is shorter than its '
                                    'Content-Length.', code='bad_request')
    elif environ.get('wsgi.input_terminated'):
        raw = stream.read(max_size + 1)
        if len(raw) > max_size:
            raise errors.ApiError(
                'The body is larger than %d bytes.' % max_size, status=413)
        environ.pop('HTTP_TRANSFER_ENCODING', None)
    else:
        raise errors.ApiError('A body needs a Content-Length.', status=411)
    environ['wsgi.input'] = io.BytesIO(raw)
    environ['CONTENT_LENGTH'] = str(len(raw))
    return raw


class RequestGuard(object):
    """Refuse hostile URLs and bodies before any handler runs.

    :param max_body_size: the largest body accepted, in bytes.
    :param form_paths: exact paths whose body may be form fields
        (``ServiceSpec.form_paths``).
    """

    def __init__(self, application, max_body_size, form_paths=()):
        self.application = application
        self.max_body_size = max_body_size
        self.form_paths = frozenset(form_paths)

    def __call__(self, environ, start_response):
        check_path(environ)
        check_query(environ)
        raw = read_body(environ, self.max_body_size)
        environ[FORM_BODY_KEY] = None
        if raw:
            check_content_encoding(environ)
        if (raw and environ.get('PATH_INFO') in self.form_paths and
                _media_type(environ) == FORM_TYPE):
            check_form_charset(environ)
            environ[FORM_BODY_KEY] = parse_form(raw)
            environ[validation.PARSED_BODY_KEY] = None
        elif raw:
            check_media_type(environ)
            environ[validation.PARSED_BODY_KEY] = validation.parse_json(raw)
        else:
            # No body, so no media type: a Content-Type left here would
            # make webob parse the empty body as that type (a
            # multipart/form-data without a boundary raised: a 500).
            environ.pop('CONTENT_TYPE', None)
            environ[validation.PARSED_BODY_KEY] = None
        return self.application(environ, start_response)
