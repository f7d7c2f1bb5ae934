"""The default ``timeout`` of the REST clients the image family service
configures (``[glance]``, ``[nova]``, ``[cinder]``).

keystoneauth1's own default is no timeout: a Glance, Nova or Cinder that
took the connection and never answered held the engine's task (the
usage reconciliation, the announcements and the Glance driver's calls)
for ever.  An operator's ``timeout`` still wins.
"""

#: Seconds to wait for each answer when the group sets no ``timeout``.
DEFAULT_TIMEOUT = 60


def set_default(conf, group):
    """Give ``[group]``'s (registered) ``timeout`` option the default."""
    conf.set_default('timeout', DEFAULT_TIMEOUT, group=group)


def with_default(options):
    """``options`` (copies, for the config generator) showing the
    default :func:`set_default` gives."""
    for opt in options:
        if opt.dest == 'timeout':
            opt.default = DEFAULT_TIMEOUT
    return options
