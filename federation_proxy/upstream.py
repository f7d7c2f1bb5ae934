"""HTTP exchanges with upstream IdPs (discovery document, JWKS, token
endpoint), bounded in time and in size.

``requests``' timeout bounds each wait for the next bytes, not the
exchange: an IdP that sent its answer a few bytes at a time, each within
the timeout, held the API worker that asked for as long as it liked,
and one that sent gigabytes filled the worker's memory.  A proxy trusts
many IdPs run by others; one may be broken or hostile, and anyone can
start a login at any of them.  Here the connection and each read wait
at most ``timeout`` seconds, the whole answer must have arrived
``timeout`` seconds after the request was sent (so an exchange takes at
most about twice ``timeout``), and it holds at most
:data:`MAX_ANSWER_BYTES` (after any content decoding).
"""

import json
import time

import requests
from urllib3 import exceptions as urllib3_exceptions

#: The largest answer read from an IdP: discovery documents, JWKS and
#: token answers are a few kilobytes.
MAX_ANSWER_BYTES = 1024 * 1024

_CHUNK = 65536


class Failed(Exception):
    """The exchange failed; the message says how, for people (it
    quotes nothing the IdP sent)."""


def _body(resp, deadline):
    """The decoded body of streamed response ``resp``, read by the
    ``deadline`` (a :func:`time.monotonic` value)."""
    length = resp.headers.get('Content-Length', '')
    if length.isdigit() and int(length) > MAX_ANSWER_BYTES:
        raise Failed('the answer is longer than %d bytes'
                     % MAX_ANSWER_BYTES)
    chunks, size = [], 0
    while True:
        if time.monotonic() > deadline:
            raise Failed('the answer did not arrive in time')
        chunk = resp.raw.read1(_CHUNK, decode_content=True)
        if not chunk:
            return b''.join(chunks)
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise Failed('the answer is longer than %d bytes'
                         % MAX_ANSWER_BYTES)
        chunks.append(chunk)


def exchange(method, url, timeout, **kwargs):
    """``(HTTP status, body)`` of one request to an IdP; redirects are
    not followed.

    :param timeout: seconds (see the module's docstring).
    :param kwargs: passed to :func:`requests.request` (``data``,
        ``headers``, ``auth``).
    :raises Failed: no answer, too slow, cut short or too long.
    """
    deadline = time.monotonic() + timeout
    try:
        with requests.request(method, url, timeout=timeout, stream=True,
                              allow_redirects=False, **kwargs) as resp:
            return resp.status_code, _body(resp, deadline)
    except (requests.RequestException,
            # Read from the stream itself (a stall beyond the timeout in
            # the middle of the body, a connection closed too soon).
            urllib3_exceptions.HTTPError) as error:
        raise Failed(type(error).__name__)


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
