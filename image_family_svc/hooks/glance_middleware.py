"""A Glance API middleware: no deleting images that servers use.

It goes into ``glance-api-paste.ini`` right after ``authtoken`` (before
``context``, which builds Glance's request context from the headers
``authtoken`` sets)::

    [filter:image_family]
    paste.filter_factory =
        image_family_svc.hooks.glance_middleware:filter_factory

    [composite:api]
    keystone = cors http_proxy_to_wsgi versionnegotiation osprofiler
        authtoken image_family context rootapp

(the same in the other ``keystone*`` pipelines; see the admin guide,
"Nova and Glance hooks")
and reads ``[image_family_middleware]`` of ``glance-api.conf``.  It does
two things:

**Delete protection.**  ``DELETE /v2/images/{id}`` asks the image family
service how many servers use the image (``GET /v1/images/{id}/usage``) and
answers ``409 Conflict`` in Glance's own error format while that number is
above zero.  Only such a refusal is reused for ``cache_seconds``; a delete
that the service lets through (no server, or an image in no family) is
asked about every time, since a server may have booted from the image
since the last answer.  The image is the one the rest of the pipeline shows the
caller (``GET /v2/images/{id}`` with the caller's rights), by the ID
Glance gives it; one it does not show is left to Glance (a ``404``).  A
system administrator (``admin`` role, system scope ``all``) may force the
delete by sending ``X-Image-Family-Force-Delete: true``; the header is
ignored from anyone else.  An image in no family is not
protected.  When the service cannot be reached, ``fail_open`` decides (a
refusal is then ``503``).

**Downloads of deactivated images by Nova.**  Glance 33 refuses
``GET /v2/images/{id}/file`` of a ``deactivated`` image to any context that
is not admin (``ImageDataController.download``), and its database layer
hides such an image's locations from non-admins; a context is admin when
Glance's ``context_is_admin`` policy rule passes (default
``role:admin``).  So Nova, which downloads with the user's token, cannot
fetch a deactivated image for a live migration or evacuation.  When a
download carries a service token that ``authtoken`` validated with one of
``service_roles`` (``X-Service-Roles``), the middleware first asks the rest
of the pipeline for the image's metadata *with the caller's own rights*
(``GET /v2/images/{id}``); only if the caller can see the image and it is
``deactivated`` does it add ``elevated_role`` (``admin``) to this one
request's roles, which makes Glance's context admin for the download.  No
other request is changed.  Set ``elevated_role`` to a role that passes
your ``context_is_admin`` rule if you changed it, or
``service_download_deactivated = false`` to turn this off.
"""

import json
import re
import urllib.parse

from oslo_config import cfg
from oslo_context import context as oslo_context
from oslo_log import log as logging
import webob
import webob.dec
import webob.exc

from image_family_svc.hooks import cached_lookup
from svc_common.clients import rest

LOG = logging.getLogger(__name__)

GROUP = 'image_family_middleware'
#: The header a system administrator sends to delete an image in use.
FORCE_HEADER = 'X-Image-Family-Force-Delete'
#: Answered with a refused delete: how many servers use the image.
SERVERS_HEADER = 'X-Image-Family-Servers'

_IMAGE_PATH = re.compile(r'^/v2(?:\.\d+)?/images/(?P<image_id>[^/]+)/?$')
_FILE_PATH = re.compile(
    r'^/v2(?:\.\d+)?/images/(?P<image_id>[^/]+)/file/?$')
_TRUE = ('1', 'true', 'yes', 'on')


def _opts():
    return cached_lookup.opts('refusing to delete images in use') + [
        cfg.BoolOpt(
            'service_download_deactivated', default=True,
            help='Let a download of a deactivated image through when it '
                 'carries a valid service token with one of '
                 'service_roles (Nova downloading the image for a live '
                 'migration, an evacuation or a rebuild), provided the '
                 'user of the request can see the image.'),
        cfg.ListOpt(
            'service_roles', default=['service'],
            help='Roles of a service token (X-Service-Roles, set by '
                 'authtoken) that allow downloading a deactivated image.'),
        cfg.StrOpt(
            'elevated_role', default='admin',
            help='Role added to such a download so that Glance treats it '
                 'as an administrator\'s: it must pass Glance\'s '
                 'context_is_admin policy rule (default role:admin).'),
    ]


def register_opts(conf):
    """Register ``[image_family_middleware]``: this middleware's options
    and keystoneauth1's session, auth and adapter options."""
    conf.register_opts(_opts(), group=GROUP)
    rest.register_opts(conf, GROUP)
    cached_lookup.set_defaults(conf, GROUP)


def list_opts():
    """For oslo-config-generator (namespace
    ``image_family_svc.hooks.glance_middleware``)."""
    return [(GROUP, _opts() + cached_lookup.with_defaults(
        rest.list_opts(GROUP)[0][1]))]


def _roles(header):
    return [role.strip().lower() for role in (header or '').split(',')
            if role.strip()]


class ImageFamilyMiddleware(object):
    """The WSGI middleware; see the module's documentation."""

    def __init__(self, application, conf=None, client=None):
        """:param conf: Glance's global ``cfg.CONF`` unless given.
        :param client: an ImageFamilyClient, else one from ``conf``.
        """
        self.application = application
        self._conf = conf if conf is not None else cfg.CONF
        register_opts(self._conf)
        self._client = client
        # Only refusals are reused: an answer that lets a delete through
        # (no server, or an image in no family) may be wrong a moment
        # later, when a server has booted from the image, and a delete
        # it let through cannot be taken back.
        self._lookup = cached_lookup.CachedLookup(
            self._get_usage, self._conf[GROUP].cache_seconds,
            keep=bool)

    def _get_usage(self, image_id):
        if self._client is None:
            self._client = cached_lookup.client_from_conf(self._conf, GROUP)
        return self._client.get_usage(image_id)

    @webob.dec.wsgify
    def __call__(self, req):
        if req.method == 'DELETE':
            match = _IMAGE_PATH.match(req.path_info)
            if match:
                refusal = self._refuse_delete(req, match.group('image_id'))
                if refusal is not None:
                    return refusal
        elif req.method == 'GET' and self._conf[
                GROUP].service_download_deactivated:
            match = _FILE_PATH.match(req.path_info)
            if match and self._is_service_request(req):
                self._elevate_deactivated_download(
                    req, match.group('image_id'))
        return req.get_response(self.application)

    def _refuse_delete(self, req, image_id):
        """The refusal of a delete, or None to let it through.

        The image asked about is the one Glance would delete: its ID as
        Glance shows it to the caller.  Glance on MySQL finds an image
        by its ID in any case (its columns compare without case), so
        ``DELETE /v2/images/<ID in capitals>`` deleted the image while
        the image family service, asked about the ID as typed, knew no
        such image and let the delete through.  An image Glance does not
        show the caller (404) is Glance's to refuse: a refusal told
        anyone that another project's private image exists and how many
        servers use it."""
        status, shown = self._show_image(req)
        if status == 404:
            return None
        if shown is not None and isinstance(shown.get('id'), str):
            image_id = shown['id']
        try:
            servers = self._lookup.get(image_id)
        except cached_lookup.LookupFailed as error:
            if self._conf[GROUP].fail_open:
                LOG.warning('Cannot tell whether servers use image %s '
                            '(%s); letting its delete through as [%s] '
                            'fail_open says.', image_id, error, GROUP)
                return None
            LOG.error('Cannot tell whether servers use image %s (%s); '
                      'refusing its delete as [%s] fail_open says.',
                      image_id, error, GROUP)
            return webob.exc.HTTPServiceUnavailable(
                explanation='The image family service, which knows '
                            'whether servers use this image, cannot be '
                            'reached; try again later.')
        if not servers:
            return None
        if (req.headers.get(FORCE_HEADER, '').strip().lower() in _TRUE and
                self._is_system_admin(req)):
            LOG.warning('Image %s is deleted by a system administrator '
                        'although %d servers use it (%s).', image_id,
                        servers, FORCE_HEADER)
            return None
        LOG.info('Refusing to delete image %s: %d servers use it.',
                 image_id, servers)
        refusal = webob.exc.HTTPConflict(
            explanation='Image %s is used by %d server(s) and cannot be '
                        'deleted until they are gone. A system '
                        'administrator may force the delete with the '
                        'header "%s: true".' % (image_id, servers,
                                                FORCE_HEADER))
        refusal.headers[SERVERS_HEADER] = str(servers)
        return refusal

    @staticmethod
    def _is_system_admin(req):
        ctx = oslo_context.RequestContext.from_environ(req.environ)
        return (req.headers.get('X-Identity-Status') == 'Confirmed' and
                'admin' in [role.lower() for role in ctx.roles] and
                ctx.system_scope == 'all')

    def _is_service_request(self, req):
        if req.headers.get('X-Service-Identity-Status') != 'Confirmed':
            return False
        wanted = set(role.lower()
                     for role in self._conf[GROUP].service_roles)
        return bool(wanted.intersection(
            _roles(req.headers.get('X-Service-Roles'))))

    def _show_image(self, req, path=None):
        """``(status, image)``: the answer of the rest of the pipeline to
        ``GET`` of ``path`` (by default the request's own,
        ``/v2/images/{id}``) with the caller's own rights, and the image
        it shows (None if none)."""
        environ = {key: value for key, value in req.environ.items()
                   if key.startswith('HTTP_') or
                   key.startswith('keystone.') or
                   key in ('SERVER_NAME', 'SERVER_PORT', 'SCRIPT_NAME',
                           'wsgi.url_scheme')}
        environ.pop('HTTP_CONTENT_LENGTH', None)
        # Quoted again: a '?' or '#' of the ID is part of the path.
        show = webob.Request.blank(
            urllib.parse.quote(path or req.path_info.rstrip('/')),
            environ=environ)
        show.method = 'GET'
        show.headers['Accept'] = 'application/json'
        response = show.get_response(self.application)
        if response.status_int != 200:
            return response.status_int, None
        try:
            image = json.loads(response.body)
        except ValueError:
            image = None
        return 200, image if isinstance(image, dict) else None

    def _elevate_deactivated_download(self, req, image_id):
        """Add the elevated role to ``req`` if its caller can see the
        image and the image is deactivated."""
        _status, image = self._show_image(
            req, req.path_info.rstrip('/').rsplit('/', 1)[0])
        if image is None or image.get('status') != 'deactivated':
            return
        role = self._conf[GROUP].elevated_role
        roles = _roles(req.headers.get('X-Roles'))
        if role.lower() not in roles:
            roles.append(role.lower())
        req.headers['X-Roles'] = ','.join(roles)
        LOG.info('Download of deactivated image %s with a service token: '
                 'handled with role %s.', image_id, role)


def filter_factory(global_conf, **local_conf):
    """The paste filter factory (``paste.filter_factory``)."""
    def image_family_filter(application):
        return ImageFamilyMiddleware(application)
    return image_family_filter
