"""The ``[image_family]`` option group."""

from oslo_config import cfg

GROUP = 'image_family'

#: Default of ``obsolete_drain_seconds``.
DEFAULT_OBSOLETE_DRAIN = 600


def _opts():
    return [
        cfg.StrOpt(
            'glance_exchange', default='glance',
            help='Exchange on which Glance publishes its image '
                 'notifications (image.create, image.update, '
                 'image.activate, image.delete).'),
        cfg.ListOpt(
            'glance_topics', default=['notifications'],
            help='Topics on which Glance publishes its image '
                 'notifications ([oslo_messaging_notifications] topics of '
                 'glance-api.conf).'),
        cfg.StrOpt(
            'nova_exchange', default='nova',
            help='Exchange on which Nova publishes instance.create.start, '
                 '.end and .error, instance.rebuild.start and .end, and '
                 'instance.delete.end.'),
        cfg.ListOpt(
            'nova_topics', default=['versioned_notifications'],
            help='Topics on which Nova publishes its instance '
                 'notifications: versioned_notifications for '
                 'notification_format=versioned or both, notifications '
                 'for unversioned. Both payload formats are understood.'),
        cfg.StrOpt(
            'family_property', default='arbiter_family',
            help='Image property naming the family an image joins when '
                 'Glance announces it (image.create, image.update, '
                 'image.activate). An image without it joins no family.'),
        cfg.StrOpt(
            'version_property', default='os_version',
            help='Image property used as the version of an image that '
                 'joins from a Glance notification.'),
        cfg.StrOpt(
            'initial_state', default='testing',
            choices=['testing', 'beta', 'active'],
            help='State of an image that joins its family from a Glance '
                 'notification. testing: only the owner and operators see '
                 'it until someone promotes it. (A project\'s family takes '
                 'only the project\'s images, a system-owned family only '
                 'public ones.)'),
        cfg.IntOpt(
            'schedule_interval', default=30, min=1,
            help='Seconds between two runs of the engine\'s sweep (leader '
                 'only) that applies due scheduled transitions, retention, '
                 'and deletion of pending_delete images no server uses. '
                 'A transition scheduled at T happens between T and T plus '
                 'this interval.'),
        cfg.IntOpt(
            'obsolete_drain_seconds', default=DEFAULT_OBSOLETE_DRAIN, min=0,
            help='Seconds an image must have been obsolete (no new boots) '
                 'before it is deleted, even when no server is counted on '
                 'it. A server counts for its image from the start of '
                 'its build on a compute host (instance.create.start), '
                 'but the Nova filter may have admitted it before the '
                 'image became obsolete, and reuses a "may boot" answer '
                 'for [image_family_filter] cache_seconds (30 by '
                 'default): deleting earlier could delete an image a '
                 'server is about to be built from. Must exceed that '
                 'cache time plus the longest time from scheduling to '
                 'instance.create.start (the image\'s download comes '
                 'after); the default, 10 minutes, leaves a wide margin. '
                 'Deletion asked sooner leaves the '
                 'image pending_delete; the engine\'s sweep deletes it '
                 'once the period has passed and no server uses it. '
                 'Measured on the database\'s clock. 0: no drain.'),
        cfg.IntOpt(
            'max_families_per_project', default=100, min=0,
            help='Most image families a project may own (POST '
                 '/v1/families beyond it is a 409 '
                 'image_family.too_many_families); system-owned families '
                 'are not counted. Without a limit any member of any '
                 'project could create families without end, and every '
                 'family list read past them. 0: no limit.'),
        cfg.IntOpt(
            'max_images_per_project_family', default=1000, min=0,
            help='Most images a project\'s family may hold for one more '
                 'to be added through the API (POST '
                 '/v1/families/{name}/images beyond it is a 409 '
                 'image_family.too_many_images); system-owned families '
                 'have no limit, nor do images Glance announces (Glance\'s '
                 'own quotas bound them). With the noop Glance driver the '
                 'API takes any image ID, and a project\'s members could '
                 'add them without end. 0: no limit.'),
        cfg.IntOpt(
            'listener_batch_size', default=100, min=1,
            help='Most Glance and Nova notifications the engine\'s '
                 'listener takes at once; the Glance ones of a batch are '
                 'applied in one database transaction.'),
        cfg.FloatOpt(
            'listener_batch_timeout', default=0.2, min=0.01,
            help='Seconds the listener waits for a batch to fill before '
                 'applying what it has: the most a notification waits '
                 'when few arrive.'),
        cfg.IntOpt(
            'listener_workers', default=1, min=1,
            help='Batches of notifications the engine\'s listener applies '
                 'at the same time. 1 applies them in the order they '
                 'arrive (an image.delete never overtakes the image.create '
                 'before it) and spends the least CPU; SQLite serialises '
                 'writers anyway. More can help on PostgreSQL or MySQL '
                 'when the database, not the engine, is the limit, but '
                 'batches may then be applied out of order.'),
        cfg.IntOpt(
            'processed_message_retention', default=7 * 24 * 3600, min=60,
            help='Seconds for which the ids of handled notifications, '
                 'and the ids of images Glance announced as deleted, are '
                 'kept (and an hour more, for clocks that differ) to '
                 'recognise a redelivery or a notification of a deleted '
                 'image that arrives late. A Glance notification that '
                 'would add an image to a family and was sent longer ago '
                 'than this is dropped with a warning, since it could '
                 'bring back an image Glance deleted; image.delete is '
                 'applied whatever its age, and so are Nova\'s '
                 'notifications (with a warning): one older than this '
                 'may count a deleted server again until the usage '
                 'reconciliation, where dropping it could leave a '
                 'running server uncounted. Must exceed the longest time '
                 'a notification can wait in a queue.'),
        cfg.StrOpt(
            'glance_driver', default='noop', choices=['noop', 'glance'],
            help='How Glance is kept in step with the lifecycle. noop: '
                 'Glance is not changed. glance: through Glance\'s API '
                 '(options in [glance]): os_hidden on deprecated and later '
                 'images, the family, state and successor written as image '
                 'properties, a new latest image queued for the image '
                 'cache of [glance] cache_api_urls, and images deleted '
                 'once their lifecycle says deleted.'),
        cfg.IntOpt(
            'usage_reconcile_interval', default=3600, min=0,
            help='Seconds between two reconciliations (leader only) of '
                 'the server count of every family member with Nova\'s '
                 'API (GET /servers/detail?image=<id>&all_tenants=1, '
                 'credentials in [nova]), which corrects counts that a '
                 'lost notification left wrong. 0: never.'),
    ]


def register_opts(conf):
    conf.register_opts(_opts(), group=GROUP)


def list_opts():
    return [(GROUP, _opts())]
