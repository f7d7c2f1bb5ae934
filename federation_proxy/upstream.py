"""HTTP exchanges with upstream IdPs (discovery document, JWKS, token
endpoint), bounded in time and in size.

``requests``' timeout bounds each wait for the next bytes, not the
exchange: an IdP that sent its answer a few bytes at a time, each within
the timeout, held the API worker that asked for as long as it liked,
and one that sent gigabytes filled the worker's memory.  A proxy trusts
many IdPs run by others; one may be broken or hostile, and anyone can
start a login at any of them.

Here the whole exchange (connection, TLS handshake, status line,
headers and body) ends ``timeout`` seconds after it started: a timer
shuts the exchange's socket down then, whatever ``http.client`` is
reading (a status line, one of many header lines or informational
``1xx`` answers, each sent within the timeout, which ``requests``
would wait for without end).  The answer holds at most
:data:`MAX_ANSWER_BYTES` (after any content decoding).  Only the
resolution of the IdP's name is outside the bound (the system's
resolver has its own).
"""

import contextvars
import json
import socket
import threading
import time

import requests
from requests import adapters
import urllib3
from urllib3 import connection
from urllib3 import exceptions as urllib3_exceptions

#: The largest answer read from an IdP: discovery documents, JWKS and
#: token answers are a few kilobytes.
MAX_ANSWER_BYTES = 1024 * 1024

_CHUNK = 65536


class Failed(Exception):
    """The exchange failed; the message says how, for people (it
    quotes nothing the IdP sent)."""


class _Deadline(object):
    """The end of one exchange: the sockets the exchange opens are shut
    down (both ways, which wakes a read blocked in another thread) when
    ``timeout`` seconds have passed since it was made, or at once if
    they are opened later."""

    def __init__(self, timeout):
        self.at = time.monotonic() + timeout
        self.passed = False
        self._sockets = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(timeout, self._end)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, sock):
        with self._lock:
            self._sockets.append(sock)
            if not self.passed:
                return
        self._shut(sock)

    def _end(self):
        with self._lock:
            self.passed = True
            sockets = list(self._sockets)
        for sock in sockets:
            self._shut(sock)

    @staticmethod
    def _shut(sock):
        try:
            # socket.socket's own shutdown, for a TLS socket too: it
            # closes the descriptor's both ways without touching the
            # TLS state the reading thread uses.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            # Already closed or never connected.
            pass

    def cancel(self):
        self._timer.cancel()


#: The deadline of the exchange that the current thread runs.
_DEADLINE = contextvars.ContextVar('federation_proxy_upstream_deadline',
                                   default=None)


class _WatchedSocket(object):
    """The ``sock`` attribute of a connection: each socket given to it
    (the plain one as soon as it connects, before any TLS handshake, then
    the TLS one) is watched by the current exchange's deadline."""

    def __set_name__(self, owner, name):
        self.name = '_watched_' + name

    def __get__(self, conn, owner=None):
        if conn is None:
            return self
        return conn.__dict__.get(self.name)

    def __set__(self, conn, sock):
        conn.__dict__[self.name] = sock
        deadline = _DEADLINE.get()
        if sock is not None and deadline is not None:
            deadline.watch(sock)


class _HTTPConnection(connection.HTTPConnection):
    sock = _WatchedSocket()


class _HTTPSConnection(connection.HTTPSConnection):
    sock = _WatchedSocket()


class _HTTPConnectionPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSConnectionPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS = {'http': _HTTPConnectionPool, 'https': _HTTPSConnectionPool}


class _Adapter(adapters.HTTPAdapter):
    """requests' adapter whose connections (direct or through an HTTP
    proxy) are watched by the exchange's deadline."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, *args, **kwargs):
        manager = super().proxy_manager_for(*args, **kwargs)
        manager.pool_classes_by_scheme = _POOLS
        return manager


def _body(resp, deadline):
    """The decoded body of streamed response ``resp``, read by the
    ``deadline``."""
    length = resp.headers.get('Content-Length', '')
    if length.isdigit() and int(length) > MAX_ANSWER_BYTES:
        raise Failed('the answer is longer than %d bytes'
                     % MAX_ANSWER_BYTES)
    chunks, size = [], 0
    while True:
        if time.monotonic() > deadline.at:
            raise Failed('the answer did not arrive in time')
        chunk = resp.raw.read1(_CHUNK, decode_content=True)
        if not chunk:
            if deadline.passed:
                # The end of a body without a length, made by the
                # deadline's shutdown: not the IdP's end.
                raise Failed('the answer did not arrive in time')
            return b''.join(chunks)
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise Failed('the answer is longer than %d bytes'
                         % MAX_ANSWER_BYTES)
        chunks.append(chunk)


def _exchange(method, url, timeout, deadline, **kwargs):
    with requests.Session() as session:
        adapter = _Adapter()
        session.mount('http://', adapter)
        session.mount('https://', adapter)
        with session.request(method, url, timeout=timeout, stream=True,
                             allow_redirects=False, **kwargs) as resp:
            return resp.status_code, _body(resp, deadline)


def exchange(method, url, timeout, **kwargs):
    """``(HTTP status, body)`` of one request to an IdP; redirects are
    not followed.

    :param timeout: seconds (see the module's docstring).
    :param kwargs: passed to :meth:`requests.Session.request` (``data``,
        ``headers``, ``auth``).
    :raises Failed: no answer, too slow, cut short or too long.
    """
    deadline = _Deadline(timeout)
    token = _DEADLINE.set(deadline)
    try:
        return _exchange(method, url, timeout, deadline, **kwargs)
    except (requests.RequestException,
            # Read from the stream itself (a stall beyond the timeout in
            # the middle of the body, a connection closed too soon).
            urllib3_exceptions.HTTPError) as error:
        if deadline.passed:
            raise Failed('the answer did not arrive in time')
        raise Failed(type(error).__name__)
    finally:
        _DEADLINE.reset(token)
        deadline.cancel()


def document(body):
    """The JSON value of an answer's ``body``.

    :raises Failed: it is not JSON (or nested beyond what the parser
        takes).
    """
    try:
        return json.loads(body.decode('utf-8'))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Failed('not JSON')


def get_json(url, timeout):
    """The JSON document at ``url``, which must answer 200."""
    status, body = exchange('GET', url, timeout,
                            headers={'Accept': 'application/json'})
    if status != 200:
        raise Failed('HTTP %d' % status)
    return document(body)
