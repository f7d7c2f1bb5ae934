"""Ask the image family service about an image, with a short cache.

Both hooks (Nova's scheduler filter and Glance's middleware) ask the
service one question per image and must not slow their host service down
or stop it when the image family service is away.  This module holds what
they share: the options of the cache and of the failure policy, and
:class:`CachedLookup`, which remembers each answer (including "this image
is in no family") for ``cache_seconds`` and turns every way of not getting
an answer into :class:`LookupFailed`, for the hook to fail open or closed.
"""

import collections
import threading
import time

from keystoneauth1 import exceptions as ks_exc
from oslo_config import cfg
from oslo_log import log as logging

from image_family_svc.clients import image_family
from svc_common.clients import rest

LOG = logging.getLogger(__name__)

#: Answers kept at most, per process; the oldest go first.
MAX_ENTRIES = 4096

#: Seconds a hook waits for the image family service when its group sets
#: no ``timeout`` (keystoneauth1's default is none: a service that
#: accepted the connection and never answered held Nova's scheduler, or
#: Glance's delete, for ever, and ``fail_open`` was never asked).
DEFAULT_TIMEOUT = 5


def set_defaults(conf, group):
    """Give ``[group]``'s keystoneauth1 ``timeout`` option (registered)
    the hooks' default, :data:`DEFAULT_TIMEOUT`."""
    conf.set_default('timeout', DEFAULT_TIMEOUT, group=group)


def with_defaults(options):
    """``options`` (copies, for the config generator) with the hooks'
    defaults, as :func:`set_defaults` gives them."""
    for opt in options:
        if opt.dest == 'timeout':
            opt.default = DEFAULT_TIMEOUT
    return options


def opts(what):
    """The cache and failure options of a hook; ``what`` says, in the
    help text, what the hook refuses."""
    return [
        cfg.IntOpt(
            'cache_seconds', default=30, min=0,
            help='How long an answer of the image family service about an '
                 'image is reused before asking again (0: ask every '
                 'time). A state change (for example to obsolete) takes '
                 'at most this long to be seen by this hook.'),
        cfg.BoolOpt(
            'fail_open', default=True,
            help='What to do when the image family service cannot be '
                 'reached, answers with an error or answers something '
                 'that is not its API\'s answer: true lets the '
                 'request through (%s is not enforced while the service '
                 'is away); false refuses it.' % what),
    ]


class LookupFailed(Exception):
    """The image family service gave no usable answer."""


def _ask(fetch, key):
    try:
        return fetch(key)
    except ks_exc.ClientException as error:
        # ConnectFailure, ConnectTimeout, EndpointNotFound, auth failures:
        # the service was not reached.
        raise LookupFailed('image family service unreachable: %s' % error)
    except rest.ApiError as error:
        # 404 image_not_found is an answer (None) inside ``fetch``; any
        # other error status means a misconfigured or failing service.
        raise LookupFailed('image family service answered %s' % error)
    except image_family.MalformedAnswer as error:
        # A success of another shape (a proxy's page, another service at
        # the endpoint): no answer either.  Raised on, it failed the
        # host service's request (a 500 of Glance, a scheduling error in
        # Nova) whatever fail_open said.
        raise LookupFailed('image family service gave no usable answer: '
                           '%s' % error)


class CachedLookup(object):
    """``fetch(key)`` with its answers remembered for ``cache_seconds``.

    Failures are not remembered: the next request asks again, and so
    are answers for which ``keep(answer)`` is false.  Safe to share
    between threads; two threads that miss at once both ask.
    """

    def __init__(self, fetch, cache_seconds, clock=time.monotonic,
                 keep=None):
        """:param keep: ``f(answer)``, true if ``answer`` may be reused;
            None: every answer may.
        """
        self._fetch = fetch
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._keep = keep
        self._answers = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        """The answer for ``key``; raises :class:`LookupFailed`."""
        now = self._clock()
        with self._lock:
            cached = self._answers.get(key)
            if cached is not None and cached[0] > now:
                return cached[1]
        answer = _ask(self._fetch, key)
        if self._cache_seconds > 0 and (self._keep is None or
                                        self._keep(answer)):
            with self._lock:
                self._answers[key] = (now + self._cache_seconds, answer)
                self._answers.move_to_end(key)
                while len(self._answers) > MAX_ENTRIES:
                    self._answers.popitem(last=False)
        return answer


def client_from_conf(conf, group):
    """An :class:`ImageFamilyClient` configured by ``[group]``'s
    keystoneauth1 options (``auth_type``, ``auth_url``, ...,
    ``endpoint_override``, ``valid_interfaces``, ``region_name``)."""
    return image_family.ImageFamilyClient.from_conf(conf, group)
