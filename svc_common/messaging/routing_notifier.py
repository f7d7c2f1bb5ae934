"""``arbiter-routing``: a notification driver that routes by event type.

Any service that emits notifications with oslo.messaging (Nova, Glance,
Arbiter's own) can load it by name, because it is registered in the
``oslo.messaging.notify.drivers`` entry point namespace. For Nova, with the
``arbiter`` package installed next to it, ``nova.conf`` says::

    [oslo_messaging_notifications]
    driver = arbiter-routing
    # the topics notifications went to before; routes without their own
    # "topics" keep publishing here
    topics = notifications

    [arbiter_routing_notifier]
    routing_config = /etc/nova/arbiter-routing-notifier.yaml

    [notifications]
    # the routes below name versioned notifications; Nova's default,
    # unversioned, sends none of them ("both" works too)
    notification_format = versioned

and the routing file (see ``etc/arbiter-routing-notifier.yaml.sample``)::

    # only scheduling failures and instance changes reach the reaper ...
    reaper:
      messagingv2:
        accepted_events:
          - compute_task.build_instances.error
          - instance.update
          - instance.delete.end
        topics:
          - reaper_notifications
    # ... while every notification still goes where it went before
    everything:
      messagingv2: {}

The file maps *groups* (free names, for people) to *sub-drivers* (names in
the same entry point namespace, such as ``messagingv2``, ``messaging`` or
``log``) to a *route*::

    accepted_events:     [glob, ...]   # fnmatch patterns on event_type
    accepted_priorities: [glob, ...]   # info, warn, error ... (any case)
    topics:              [name, ...]   # default: the notifier's own topics

A route takes a notification when every filter it has matches; a route with
no filter takes them all. Each notification is handed once to each sub-driver
with the union of the topics of all the routes that took it, so overlapping
routes never publish twice to one topic.

Unlike oslo.messaging's own ``routing`` driver, this one builds its
sub-drivers with the ``conf``, ``topics`` and ``transport`` they need, reads
its option from the ``ConfigOpts`` it is given rather than the global one,
and refuses to load (the error names the file and the route) when the file
is missing, is not valid YAML, has an unknown key, names an unknown
sub-driver or defines no route at all. It refuses with
:class:`RoutingDriverLoadError`, which stops the service's start: a service
whose notification driver failed to load would run without notifying
anything.
"""

import fnmatch
import logging
import threading

from oslo_config import cfg
from oslo_messaging.notify import notifier
from stevedore import driver as stevedore_driver
import yaml

LOG = logging.getLogger(__name__)

DRIVER_NAME = 'arbiter-routing'
NAMESPACE = 'oslo.messaging.notify.drivers'
# Routing to a routing driver would loop or, for upstream's, drop silently.
_FORBIDDEN_SUB_DRIVERS = frozenset([DRIVER_NAME, 'routing'])
_ROUTE_KEYS = frozenset(['accepted_events', 'accepted_priorities', 'topics'])

GROUP_NAME = 'arbiter_routing_notifier'


def _group():
    # A new OptGroup for each ConfigOpts: an OptGroup object keeps the
    # overrides set through the ConfigOpts it is registered with.
    return cfg.OptGroup(
        GROUP_NAME,
        title='Arbiter routing notification driver',
        help='Options of the "arbiter-routing" notification driver, enabled '
             'with "[oslo_messaging_notifications] driver = '
             'arbiter-routing".')


ROUTING_OPTS = [
    cfg.StrOpt(
        'routing_config',
        default='',
        sample_default='/etc/nova/arbiter-routing-notifier.yaml',
        help='Path of the YAML file that says which notifications go to '
             'which notification driver and topics. Required when the '
             '"arbiter-routing" driver is enabled: without it the driver '
             'refuses to load. The file maps a group name to a driver name '
             '(e.g. messagingv2) to a route with optional "accepted_events" '
             'and "accepted_priorities" glob lists and an optional "topics" '
             'list; a route without "topics" publishes to the topics of '
             '[oslo_messaging_notifications] topics. The file is read once, '
             'when the service creates its notifier; restart the service '
             'after changing it. See etc/arbiter-routing-notifier.yaml.sample '
             'in the Arbiter source tree.'),
]


class RoutingConfigError(ValueError):
    """The routing file cannot be used; the message says where and why."""


class RoutingDriverLoadError(BaseException):
    """The ``arbiter-routing`` driver refuses to load: the service must not
    start. The message names the routing file and what is wrong with it.

    It derives from ``BaseException``, not ``Exception``, on purpose.
    oslo.messaging loads notification drivers with stevedore, which catches
    every ``Exception`` a driver raises, logs it and carries on without the
    driver: the service then sends no notification at all, and Nova, which
    creates its notifiers before it sets up logging, shows the error on
    stderr only. This error passes through stevedore and oslo.messaging,
    so the service's start fails with it instead (Nova's services exit with
    status 1 and the traceback).
    """


def register_opts(conf):
    if GROUP_NAME not in conf:
        conf.register_group(_group())
    conf.register_opts(ROUTING_OPTS, group=GROUP_NAME)


def list_opts():
    return [(_group(), ROUTING_OPTS)]


class Route:
    """Where notifications that pass the filters of one route go."""

    def __init__(self, name, driver, events=None, priorities=None,
                 topics=None):
        self.name = name  # "group/driver", for messages
        self.driver = driver
        self.events = tuple(events) if events is not None else None
        self.priorities = (tuple(p.lower() for p in priorities)
                           if priorities is not None else None)
        # None means "the notifier's own topics".
        self.topics = tuple(topics) if topics is not None else None

    def matches(self, event_type, priority):
        if self.events is not None and not any(
                fnmatch.fnmatchcase(event_type, pattern)
                for pattern in self.events):
            return False
        return self.priorities is None or any(
            fnmatch.fnmatchcase(priority.lower(), pattern)
            for pattern in self.priorities)

    def __repr__(self):
        return ('Route(%r, events=%r, priorities=%r, topics=%r)'
                % (self.name, self.events, self.priorities, self.topics))


def load_routes(conf):
    """Read and check the routing file named in ``conf``.

    :returns: a list of :class:`Route`
    :raises RoutingConfigError: naming the file (and route) at fault
    """
    register_opts(conf)
    path = conf.arbiter_routing_notifier.routing_config
    if not path:
        raise RoutingConfigError(
            'the %s notification driver needs [%s] routing_config, the path '
            'of its YAML routing file' % (DRIVER_NAME, GROUP_NAME))
    try:
        with open(path) as routing_file:
            data = yaml.safe_load(routing_file)
    except OSError as exc:
        raise RoutingConfigError('cannot read routing file %s: %s'
                                 % (path, exc))
    except yaml.YAMLError as exc:
        raise RoutingConfigError('routing file %s is not valid YAML: %s'
                                 % (path, exc))
    return parse_routes(data, path)


def parse_routes(data, source='<routing config>'):
    """Turn the loaded YAML document ``data`` into a list of :class:`Route`.

    ``source`` (the file name) is used in error messages.
    """
    if not isinstance(data, dict) or not data:
        raise RoutingConfigError(
            'routing file %s defines no route: it must map group names to '
            'driver names to routes' % source)
    routes = []
    for group, drivers in data.items():
        if not isinstance(drivers, dict) or not drivers:
            raise RoutingConfigError(
                'routing file %s, group %r: expected a mapping of driver '
                'names to routes, got %r' % (source, group, drivers))
        for driver_name, rules in drivers.items():
            routes.append(_parse_route(source, group, driver_name, rules))
    return routes


def _parse_route(source, group, driver_name, rules):
    where = 'routing file %s, route %s/%s' % (source, group, driver_name)
    if driver_name in _FORBIDDEN_SUB_DRIVERS:
        raise RoutingConfigError('%s: a routing driver cannot be a route '
                                 'target' % where)
    rules = {} if rules is None else rules
    if not isinstance(rules, dict):
        raise RoutingConfigError('%s: expected a mapping with %s, got %r'
                                 % (where, ', '.join(sorted(_ROUTE_KEYS)),
                                    rules))
    unknown = set(rules) - _ROUTE_KEYS
    if unknown:
        raise RoutingConfigError('%s: unknown key(s) %s; allowed: %s'
                                 % (where, ', '.join(sorted(map(str,
                                                                unknown))),
                                    ', '.join(sorted(_ROUTE_KEYS))))
    return Route('%s/%s' % (group, driver_name), driver_name,
                 events=_strings(rules, 'accepted_events', where),
                 priorities=_strings(rules, 'accepted_priorities', where),
                 topics=_strings(rules, 'topics', where))


def _strings(rules, key, where):
    if key not in rules:
        return None
    values = rules[key]
    if (not isinstance(values, list) or not values or
            not all(isinstance(v, str) and v for v in values)):
        raise RoutingConfigError('%s: %s must be a non-empty list of '
                                 'strings, got %r' % (where, key, values))
    return values


def destinations(routes, event_type, priority, default_topics):
    """Return ``{driver name: sorted tuple of topics}`` for one message."""
    found = {}
    for route in routes:
        if route.matches(event_type, priority):
            topics = (route.topics if route.topics is not None
                      else default_topics)
            found.setdefault(route.driver, set()).update(topics)
    return {name: tuple(sorted(topics)) for name, topics in found.items()}


class RoutingDriver(notifier.Driver):
    """Notification driver that hands each message to the sub-drivers and
    topics its routing file selects (see the module documentation)."""

    def __init__(self, conf, topics, transport):
        """Read the routing file and load every route's sub-driver.

        :raises RoutingDriverLoadError: when the file or a route is
            unusable (see the class for why it is not an ``Exception``)
        """
        super().__init__(conf, topics, transport)
        self._default_topics = tuple(topics or ())
        self._lock = threading.Lock()
        self._sub_drivers = {}
        try:
            self._routes = load_routes(conf)
            self._source = conf.arbiter_routing_notifier.routing_config
            # Load every route's driver now so that mistakes show at
            # start-up.
            for route in self._routes:
                self._sub_driver(route.driver, self._topics_of(route),
                                 route.name)
        except RoutingConfigError as exc:
            raise RoutingDriverLoadError(
                'the %s notification driver refuses to load, so that this '
                'service does not run without notifications: %s'
                % (DRIVER_NAME, exc)) from exc
        LOG.info('Routing notifications with %d route(s) from %s',
                 len(self._routes), self._source)

    def _topics_of(self, route):
        if route.topics is not None:
            return route.topics
        if not self._default_topics:
            raise RoutingConfigError(
                'routing file %s, route %s: the route has no "topics" and '
                'the notifier was given none either' % (self._source,
                                                        route.name))
        return self._default_topics

    def notify(self, ctxt, message, priority, retry):
        event_type = message.get('event_type', '')
        chosen = destinations(self._routes, event_type, priority,
                              self._default_topics)
        if not chosen:
            LOG.debug('No route takes %s notification %s', priority,
                      event_type)
        for driver_name, topics in sorted(chosen.items()):
            LOG.debug('Routing %s to %s on %s', event_type, driver_name,
                      topics)
            self._sub_driver(driver_name, topics).notify(
                ctxt, message, priority, retry)

    def _sub_driver(self, driver_name, topics, route_name=None):
        """Return the (cached) sub-driver for a driver name and topics."""
        key = (driver_name, tuple(sorted(topics)))
        with self._lock:
            if key not in self._sub_drivers:
                self._sub_drivers[key] = self._load(key, route_name)
            return self._sub_drivers[key]

    def _load(self, key, route_name):
        driver_name, topics = key
        try:
            manager = stevedore_driver.DriverManager(
                NAMESPACE, driver_name, invoke_on_load=True,
                invoke_args=(self.conf,),
                invoke_kwds={'topics': list(topics),
                             'transport': self.transport})
        except Exception as exc:
            raise RoutingConfigError(
                'routing file %s, route %s: cannot load notification driver '
                '%r from %s: %s' % (self._source, route_name or driver_name,
                                    driver_name, NAMESPACE, exc))
        return manager.driver
