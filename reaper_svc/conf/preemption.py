"""The ``[preemption]`` option group."""

from oslo_config import cfg

from reaper_svc import strategies

GROUP = 'preemption'

#: The longest guaranteed minimum runtime a pending request may ask
#: for anywhere (30 days, in seconds): the API's schema refuses more,
#: and ``max_guaranteed_runtime`` may only lower it.
MAX_GUARANTEED_RUNTIME = 30 * 24 * 3600


def _opts():
    return [
        cfg.StrOpt(
            'notification_topic', default='reaper_notifications',
            help='Topic that Nova\'s routed scheduling notifications are '
                 'published to (see the arbiter-routing notifier driver); '
                 'the preemption engine listens on it.'),
        cfg.StrOpt(
            'notification_exchange', default='nova',
            help='Exchange the routed notifications arrive on. Nova '
                 'publishes on its control exchange, "nova"; a listener '
                 'bound to another exchange receives nothing.'),
        cfg.StrOpt(
            'strategy', default='best_fit',
            choices=[(name, None) for name in strategies.NAMES],
            help='How victims are chosen: best_fit (fewest victims, then '
                 'least capacity wasted), chance (random, as Aardvark), '
                 'oldest, newest, priority (lowest first), exhaustive '
                 '(exact; small clouds only). See the admin guide.'),
        cfg.StrOpt(
            'driver', default='simulated',
            help='Cloud driver (entry point of reaper_svc.drivers): '
                 '"simulated" for an in-memory cloud described by '
                 'simulated_cloud; "openstack" for Nova and Placement, '
                 'reached as the [nova] and [placement] groups say.'),
        cfg.StrOpt(
            'simulated_cloud',
            help='YAML description of the simulated cloud (hosts, '
                 'aggregates, flavors, servers); see the admin guide.'),
        cfg.StrOpt(
            'preemptible_extra_spec', default='arbiter:preemptible',
            help='Flavor extra spec that marks preemptible servers when '
                 'its value is "true". A flavor property, so that users '
                 'cannot change it after boot.'),
        cfg.StrOpt(
            'priority_extra_spec', default='arbiter:preemption_priority',
            help='Integer flavor extra spec giving the priority of '
                 'preemptible servers (lower is preempted first by the '
                 'priority strategy; 0 when absent).'),
        cfg.IntOpt(
            'capacity_max_age', default=10, min=0,
            help='Seconds the API serves the figures of GET /v1/capacity '
                 'for before it reads the cloud again (0: at every '
                 'request). Any reader may ask for them, and each read '
                 'is a snapshot of the whole cloud (with the openstack '
                 'driver, every server and three Placement requests per '
                 'compute node).'),
        cfg.IntOpt(
            'grace_period', default=300, min=0,
            help='Seconds between a victim\'s notice (lock and soft '
                 'shutdown) and its deletion.'),
        cfg.IntOpt(
            'action_interval', default=10, min=1,
            help='Seconds between two passes of the leader over '
                 'unfinished actions (deleting victims whose grace period '
                 'is over, resuming actions a stopped engine left).'),
        cfg.StrOpt(
            'lock_reason',
            default='Preempted by the reaper: this preemptible server '
                    'will be deleted (action %(action_id)s).',
            help='Reason recorded on each victim\'s lock; %(action_id)s '
                 'is replaced by the action id.'),
        cfg.IntOpt(
            'promote_interval', default=30, min=1,
            help='Seconds between two passes of the promoter over the '
                 'queued pending requests (on the leader). A pass also '
                 'runs as soon as Nova reports a server deleted.'),
        cfg.IntOpt(
            'build_timeout', default=900, min=1,
            help='Seconds after which a pending request still "building" '
                 'is taken to have been left by an engine that stopped '
                 'mid-build: the promoter then looks in the cloud for its '
                 'servers (by the arbiter:pending_request metadata) and '
                 'queues it again when there are none (or none of one of '
                 'its kinds, what was built deleted), or marks it active '
                 'or failed from what it finds. Longer than the longest '
                 'build ([nova] create_timeout for each kind of server of '
                 'a request, and more).'),
        cfg.IntOpt(
            'max_build_interruptions', default=3, min=1,
            help='Times the cloud\'s outage (Nova, Keystone or Placement '
                 'unreachable, answering 502, 503 or 504, timing out) may '
                 'interrupt the build of one pending request before it is '
                 'failed rather than queued again. A request interrupted '
                 'at every try (one the cloud cannot take) would otherwise '
                 'come back at its place in front of every request queued '
                 'after it, for good. A 500 answer is counted the same '
                 'way.'),
        cfg.IntOpt(
            'late_server_projects_per_pass', default=20, min=1,
            help='Projects whose servers a pass of the promoter lists '
                 'looking for the servers that interrupted builds of '
                 'their pending requests left (a create Nova carried out '
                 'late), at most: one listing (every page of GET '
                 '/servers/detail of the project) per project, whatever '
                 'the number of its requests; the other projects are '
                 'looked at by the next passes, in turn.'),
        cfg.IntOpt(
            'max_pending_per_project', default=100, min=1,
            help='Pending requests a project may have queued or building '
                 'at once; one more is refused (409 '
                 'preemption.too_many_pending). Every pass of the '
                 'promoter reads every queued request, and each request '
                 'submitted with Keystone auth holds a trust.'),
        cfg.IntOpt(
            'max_guaranteed_runtime', default=MAX_GUARANTEED_RUNTIME,
            min=0, max=MAX_GUARANTEED_RUNTIME,
            help='Longest guaranteed minimum runtime, in seconds, that a '
                 'pending request may ask for (its min_runtime): during '
                 'it no preemption stops the servers built for it, '
                 'whatever room normal servers need. A request asking '
                 'for more is refused (400, naming this limit) and '
                 'nothing is queued; 0 refuses every guaranteed runtime. '
                 'The same limit holds for every caller. Lowering it '
                 'applies to what exists already: requests queued before '
                 'are built with a guarantee of at most this long (their '
                 'min_runtime as shown is what they asked for), and the '
                 'guarantees of servers built before end at most this '
                 'long after they were recorded. At most 2592000 (30 '
                 'days, the default).'),
        cfg.BoolOpt(
            'promoter_preempts', default=True,
            help='Whether the first queued request of non-preemptible '
                 'servers, in the promoter\'s fair order, that does not '
                 'fit may have the reaper preempt preemptible servers to '
                 'make room for all of it (once per request).'),
        cfg.FloatOpt(
            'watermark', default=0.0, min=0.0, max=1.0,
            help='Watermark mode: when the used share of an aggregate\'s '
                 'capacity (of any resource class, enabled and up hosts) '
                 'is above this ratio, preemptible servers there are '
                 'noticed and deleted until it is under it. 0 turns the '
                 'mode off (the default).'),
        cfg.IntOpt(
            'max_lifetime', default=0, min=0,
            help='Maximum lifetime of a preemptible server, in seconds: '
                 'older ones are noticed and deleted (a guaranteed '
                 'minimum runtime is still respected). 0 turns the mode '
                 'off (the default).'),
        cfg.IntOpt(
            'processed_retention', default=172800, min=3600,
            help='Seconds the ids of the notifications the engine handled '
                 'are kept, so that the broker delivering one again '
                 'within that time changes nothing. Older ids are purged '
                 'by the leader; keep it longer than any redelivery can '
                 'be late (a listener down for that long).'),
        cfg.IntOpt(
            'purge_interval', default=3600, min=1,
            help='Seconds between two purges, on the leader, of the '
                 'notification ids older than processed_retention and of '
                 'the guaranteed minimum runtimes that are over.'),
        cfg.IntOpt(
            'modes_interval', default=60, min=1,
            help='Seconds between two passes of the watermark and '
                 'max-lifetime modes (on the leader), when either is '
                 'on.'),
    ]


def register_opts(conf):
    conf.register_opts(_opts(), group=GROUP)


def list_opts():
    return [(GROUP, _opts())]
