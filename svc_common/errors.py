"""Errors in the one JSON shape that every Arbiter service answers with.

Every error response looks like::

    {"errors": [{"status": 409, "code": "limits.over_limit",
                 "title": "Conflict", "detail": "...",
                 "request_id": "req-..."}]}

Controllers and the domain layer raise :class:`ApiError` (or one of its
subclasses); :class:`JsonErrorMiddleware` turns those, every error that the
routing layer or another middleware produced (404, 405, 401 from
keystonemiddleware, 406 from microversion negotiation ...) and any unexpected
exception into that shape.
"""

import http.client
import json
import logging
import re

import webob
import webob.dec

from svc_common.db import failures

LOG = logging.getLogger(__name__)

JSON_TYPE = 'application/json'

# Code suffixes used for errors that no controller chose a code for.
_GENERIC_CODES = {
    400: 'bad_request',
    401: 'unauthorized',
    403: 'forbidden',
    404: 'not_found',
    405: 'method_not_allowed',
    406: 'not_acceptable',
    409: 'conflict',
    411: 'length_required',
    413: 'request_too_large',
    415: 'unsupported_media_type',
    500: 'internal_error',
    503: 'service_unavailable',
}


class ApiError(Exception):
    """An error with an HTTP status and a namespaced code.

    ``code`` is the part after the service prefix (``over_limit`` becomes
    ``limits.over_limit``); a code that already contains a dot is used as
    it is.  ``extra`` is merged into the error object, for details a client
    can act on (e.g. the blocking levels of an over-limit answer).
    """

    status = 500
    code = None

    def __init__(self, detail, code=None, status=None, **extra):
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.extra = extra


class BadRequest(ApiError):
    status = 400


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


def status_title(status):
    return http.client.responses.get(status, 'Error')


#: Most characters a message spends on one ID or name a client gave.
QUOTED_ID_LENGTH = 80


def quoted_id(value, length=QUOTED_ID_LENGTH):
    """``value``, an ID or a name a client gave (a part of the URL path,
    mostly), as an error message or a log line shows it.

    It is a JSON string, as every value these APIs' messages quote
    (``svc_common.api.validation.json_text``): a line break or another
    control character is escaped (``"a\\nb"``), every non-ASCII
    character too (``"caf\\u00e9"``), and DEL (``\\u007f``), so that
    the client's text cannot start a line of a log or drive a terminal.
    Past ``length`` characters it is cut after a whole character and
    followed by an ellipsis (``"abc..."...``): a path part may be
    thousands of characters long.
    """
    def spelt(text):
        return json.dumps(text).replace('\x7f', '\\u007f')

    value = str(value)
    # Each character is spelt with one character at least: no more than
    # ``length`` of them can fit (a path part of megabytes is not spelt
    # whole to be cut).
    whole = spelt(value[:length])
    if len(value) <= length and len(whole) <= length:
        return whole
    room = length - 5  # the two quotation marks and the ellipsis
    kept = []
    for character in value:
        piece = spelt(character)[1:-1]
        if len(piece) > room:
            break
        kept.append(piece)
        room -= len(piece)
    return '"%s"...' % ''.join(kept)


def error_object(prefix, status, detail, request_id=None, code=None,
                 title=None, **extra):
    """One member of the ``errors`` list."""
    code = code or _GENERIC_CODES.get(status, 'error')
    if '.' not in code:
        code = '%s.%s' % (prefix, code)
    obj = {'status': status, 'code': code,
           'title': title or status_title(status),
           'detail': detail, 'request_id': request_id}
    obj.update(extra)
    return obj


def error_response(prefix, status, detail, request_id=None, code=None,
                   headers=None, **extra):
    body = {'errors': [error_object(prefix, status, detail, request_id,
                                    code=code, **extra)]}
    resp = webob.Response(status=status, content_type=JSON_TYPE,
                          charset='utf-8')
    resp.text = json.dumps(body)
    for name, value in headers or ():
        resp.headers[name] = value
    return resp


def _is_arbiter_error_body(resp):
    if not resp.content_type or 'json' not in resp.content_type:
        return False
    try:
        body = json.loads(resp.body or b'null')
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get('errors'), list)


_TAG = re.compile(r'<[^>]+>')


def _detail_of(resp):
    """Best human-readable detail out of an error response of another layer.

    keystonemiddleware answers ``{"error": {"message": ...}}``; webob, pecan
    and the microversion middleware answer plain text or HTML that repeats
    the status line before the explanation.
    """
    text = resp.body.decode(resp.charset or 'utf-8', 'replace')
    if resp.content_type and 'json' in resp.content_type:
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get('error'), dict):
            return str(body['error'].get('message') or text)
    status_line = '%d %s' % (resp.status_code, status_title(resp.status_code))
    words = [line.strip() for line in _TAG.sub('\n', text).splitlines()]
    words = [w for w in words if w and w != status_line]
    return ' '.join(words) or status_title(resp.status_code)


# A 406 of pecan's content negotiation: an Accept header that does not
# take JSON.  (webob's said "The resource could not be generated that
# was acceptable to your browser (content of type text/html.".)
_NOT_ACCEPTABLE = ('The API answers in JSON only (application/json), '
                   'which the request\'s Accept header does not take.')

# Headers of the original error response worth keeping when it is rewritten.
_KEPT_HEADERS = ('WWW-Authenticate', 'Allow', 'OpenStack-API-Version',
                 'Vary', 'Retry-After')


#: Most characters of a request's path a log line of this layer shows.
LOGGED_PATH_LENGTH = 200


def _logged_path(req):
    """``req``'s path as a log line of this layer shows it: percent
    encoded (no line break), cut to :data:`LOGGED_PATH_LENGTH` characters
    and followed by ``...``: a client's path may be as long as the WSGI
    server takes (thousands of characters)."""
    path = req.path
    if len(path) <= LOGGED_PATH_LENGTH:
        return path
    return path[:LOGGED_PATH_LENGTH] + '...'


class JsonErrorMiddleware(object):
    """Give every error leaving the application DESIGN.md's JSON shape."""

    def __init__(self, application, prefix):
        self.application = application
        self.prefix = prefix

    @webob.dec.wsgify
    def __call__(self, req):
        request_id = req.environ.get('openstack.request_id')
        try:
            resp = req.get_response(self.application)
        except ApiError as exc:
            return error_response(self.prefix, exc.status, exc.detail,
                                  request_id, code=exc.code, **exc.extra)
        except Exception as exc:
            if failures.unreachable(exc):
                # Not a bug of the service: no traceback, and a 503 that
                # clients and load balancers take as "try again".
                LOG.warning('Database unreachable answering %s %s: %s',
                            req.method, _logged_path(req),
                            failures.one_line(exc))
                return error_response(
                    self.prefix, 503, 'The service cannot reach its '
                    'database at the moment; try again shortly.',
                    request_id)
            if failures.busy(exc):
                # Another writer held the database file past the busy
                # timeout: the same request succeeds once it is done.
                LOG.warning('Database busy answering %s %s: %s',
                            req.method, _logged_path(req),
                            failures.one_line(exc))
                return error_response(
                    self.prefix, 503, 'The service\'s database is busy '
                    'with another writer; try again shortly.',
                    request_id)
            LOG.exception('Unexpected error answering %s %s',
                          req.method, _logged_path(req))
            return error_response(self.prefix, 500,
                                  'The server met an unexpected error.',
                                  request_id)
        if resp.status_code < 400 or _is_arbiter_error_body(resp):
            return resp
        kept = [(h, resp.headers[h]) for h in _KEPT_HEADERS
                if h in resp.headers]
        # A HEAD reaches this layer as the GET it mirrors, and its answer
        # loses the body at the entry of the chain (svc_common.deploy),
        # with the Content-Length of this one.
        return error_response(self.prefix, resp.status_code,
                              _NOT_ACCEPTABLE if resp.status_code == 406
                              else _detail_of(resp), request_id,
                              headers=kept)
