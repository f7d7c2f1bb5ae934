"""HTTP calls of the limits commands: errors made readable, lists paged.

Every command talks to the service through :func:`call` and
:func:`list_all`, so an error answer always reaches the user the same way:
the service's ``detail``, its namespaced ``code`` and the request id, and,
for an over-limit answer, one line per blocking level.
"""

from keystoneauth1 import noauth
from osc_lib import exceptions

from limits_svc.osc.v1 import columns

NOAUTH_HINT = ('With --os-auth-type none, name the caller with '
               'ARBITER_NOAUTH_USER, ARBITER_NOAUTH_ROLES and '
               'ARBITER_NOAUTH_SYSTEM_SCOPE or ARBITER_NOAUTH_PROJECT.')


class ApiError(exceptions.CommandError):
    """An error answer of the limits API, as a command error."""

    def __init__(self, status, error):
        self.status = status
        self.error = error
        super().__init__(error_message(status, error))


def error_message(status, error):
    """The error of one answer, for a person: what, HTTP code, request."""
    where = '(HTTP %s %s, request %s)' % (
        status, error.get('code') or 'error', error.get('request_id') or '-')
    blocking = error.get('blocking') or ()
    if blocking:
        return '\n'.join(
            ['Refused by %d limit(s) %s:' % (len(blocking), where)] +
            ['  ' + columns.blocking_line(level) for level in blocking])
    return '%s %s' % (error.get('detail') or error.get('title') or 'Error',
                      where)


def _first_error(response):
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get('errors'):
        return body['errors'][0]
    return {'detail': response.text.strip() or response.reason}


def call(client, method, path, **kwargs):
    """Send one request; the decoded JSON body, or None for an empty one.

    :raises ApiError: on any answer of 400 or above.
    """
    response = client.request(path, method, raise_exc=False, **kwargs)
    if response.status_code >= 400:
        error = _first_error(response)
        if (response.status_code == 401 and
                isinstance(client.session.auth, noauth.NoAuth)):
            error = dict(error, detail='%s %s' % (
                error.get('detail') or '', NOAUTH_HINT))
        raise ApiError(response.status_code, error)
    if not response.content:
        return None
    return response.json()


def _next_href(body):
    for link in body.get('links') or ():
        if link.get('rel') == 'next':
            return link.get('href')
    return None


def list_all(client, path, collection, filters=None, limit=None,
             marker=None):
    """The members of a collection.

    With ``limit``, one page of at most ``limit`` members after ``marker``
    (the service may cap it lower).  Without it, every member after
    ``marker``: the ``next`` links are followed to the end.
    """
    params = {name: value for name, value in (filters or {}).items()
              if value is not None}
    if limit is not None:
        params['limit'] = limit
    if marker is not None:
        params['marker'] = marker
    body = call(client, 'GET', path, params=params)
    items = list(body[collection])
    href = _next_href(body)
    while limit is None and href and body[collection]:
        body = call(client, 'GET', href)
        items.extend(body[collection])
        href = _next_href(body)
    return items


def delete_each(client, path_template, ids, what):
    """DELETE every one of ``ids``; one error at the end for all failures.

    As other ``openstack ... delete`` commands do, every name is tried even
    when an earlier one failed.
    """
    failures = []
    for one in ids:
        try:
            call(client, 'DELETE', path_template % one)
        except ApiError as exc:
            failures.append('%s: %s' % (one, exc))
    if failures:
        raise exceptions.CommandError(
            'Failed to delete %d of %d %s:\n%s'
            % (len(failures), len(ids), what, '\n'.join(failures)))
