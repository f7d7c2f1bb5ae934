"""/v1/capacity: what the cloud has, uses, and could free, per
aggregate."""

import threading
import time
import weakref

import pecan
from pecan import rest

from reaper_svc.api import cloud
from reaper_svc.schemas import capacity as schema
from svc_common.api import controller
from svc_common.api import openapi
from svc_common.api import validation


class CapacityFigures(object):
    """The figures of ``GET /v1/capacity`` of one cloud driver, read from
    the cloud at most once every ``max_age`` seconds, whoever asks.

    Any reader may ask for them, and each answer was a snapshot of the
    whole cloud: with the ``openstack`` driver, every server of Nova and
    three requests to Placement per compute node.  A caller asking in a
    loop (or many callers) had the API read the whole cloud as often as
    they asked.  Callers that ask while the figures are being read wait
    for that read and share it.

    :param driver: a :class:`~reaper_svc.drivers.base.CloudDriver`
    :param max_age: seconds the figures are served for; 0: read at each
        call
    :param clock: monotonic seconds (tests move it)
    """

    def __init__(self, driver, max_age, clock=time.monotonic):
        self.driver = driver
        self.max_age = max_age
        self.clock = clock
        self._lock = threading.Lock()
        self._read_at = None
        self._figures = None

    def get(self):
        """``(aggregates, figures)``: the driver's ``aggregates()`` and
        ``capacity()``, read at most ``max_age`` seconds ago.

        :raises DriverError: the cloud could not be read (nothing is
            kept)
        """
        with self._lock:
            now = self.clock()
            if (self._figures is None
                    or now - self._read_at >= self.max_age):
                self._figures = None
                self._figures = (self.driver.aggregates(),
                                 self.driver.capacity())
                self._read_at = now
            return self._figures


_FIGURES = weakref.WeakKeyDictionary()
_FIGURES_LOCK = threading.Lock()


def figures_of(driver, max_age):
    """The one :class:`CapacityFigures` of ``driver`` in this process."""
    with _FIGURES_LOCK:
        found = _FIGURES.get(driver)
        if found is None or found.max_age != max_age:
            found = _FIGURES[driver] = CapacityFigures(driver, max_age)
        return found


class CapacityController(rest.RestController):

    OPENAPI = {'get_all': openapi.Operation(
        'capacity:get', schema.RESPONSE_CAPACITY, query=schema.QUERY,
        errors=(503,))}

    @pecan.expose('json')
    def get_all(self):
        controller.authorize('capacity:get', controller.list_target())
        params = pecan.request.params
        validation.validate(schema.QUERY, dict(params))
        wanted = params.get('aggregate')
        with cloud.answering_for_cloud():
            aggregates, figures = figures_of(
                cloud.driver(),
                pecan.request.conf.preemption.capacity_max_age).get()
        return {'capacity': [
            {'aggregate': name, 'hosts': len(aggregates.get(name, ())),
             'resources': resources}
            for name, resources in sorted(figures.items())
            if wanted is None or name == wanted]}
