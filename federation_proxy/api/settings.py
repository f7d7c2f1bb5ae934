"""What the federation API's handlers read of the request's service
settings: the ``[federation]`` options, the issuer URL and the time.

The login and OIDC handlers both need them; they live here once.
"""

import datetime

import pecan


def conf():
    """The ``[federation]`` option group of the serving process."""
    return pecan.request.conf.federation


def issuer(group=None):
    """The issuer URL (``[federation] issuer``) without a trailing
    slash: the ``iss`` of every token and the base of every endpoint.

    :param group: the ``[federation]`` option group to read, for code
        that runs outside a pecan request (the API's authentication);
        by default the serving process's.
    """
    return (group or conf()).issuer.rstrip('/')


def now():
    """The time now, as a naive UTC datetime (as the database keeps
    times)."""
    return datetime.datetime.utcnow()
