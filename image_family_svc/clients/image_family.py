"""A REST client of the image family service (service type
``image-family``).

It is the shared :class:`svc_common.clients.rest.RestClient` with the two
calls that Nova's and Glance's hooks make: what the service says of one
image (:meth:`ImageFamilyClient.get_image`) and how many servers use it
(:meth:`ImageFamilyClient.get_usage`)::

    from image_family_svc.clients import image_family

    client = image_family.ImageFamilyClient(session)
    image = client.get_image(image_id)
    if image is not None and not image['may_boot']:
        ...

An image that belongs to no family is answered ``404
image_family.image_not_found``: the service has no opinion on it, and
these calls return None rather than raise.  Every other error answer is an
:class:`svc_common.clients.rest.ApiError`; failures to reach the service
at all are keystoneauth1's own exceptions (``ConnectFailure`` ...).
"""

from svc_common.clients import rest

SERVICE_TYPE = 'image-family'
IMAGE_NOT_FOUND = 'image_family.image_not_found'

#: Any error answer of the service (see svc_common.clients.rest).
ClientError = rest.ApiError


class MalformedAnswer(ValueError):
    """A success answer that is not of the image family API's shape (not
    JSON, or without the fields the hooks read): something else answered
    at the endpoint (a proxy's page, another service), or a broken
    service.  The hooks treat it as no answer, as ``fail_open`` says."""


def is_image_not_found(error):
    """True if ``error`` is the service's answer for an image in no family.

    A 404 with another code (or none: a proxy's page, a wrong endpoint)
    is not: it means the service was not reached as configured.
    """
    return (isinstance(error, rest.ApiError) and error.status == 404 and
            error.code == IMAGE_NOT_FOUND)


class ImageFamilyClient(rest.RestClient):
    """The image family API over a keystoneauth1 session or adapter."""

    service_type = SERVICE_TYPE

    def get_image(self, image_id):
        """The service's view of one image (``GET /v1/images/{id}``).

        :returns: the ``image`` object (``family``, ``state``,
            ``may_boot``, ``successor_id``, ``latest_id``, ``usage`` ...),
            or None when the image belongs to no family.
        :raises svc_common.clients.rest.ApiError: any other error answer.
        """
        body = self._get_image_path(image_id)
        if body is None:
            return None
        image = body.get('image') if isinstance(body, dict) else None
        if (not isinstance(image, dict)
                or not isinstance(image.get('may_boot'), bool)):
            raise MalformedAnswer('GET /v1/images/%s answered %.60r, not '
                                  'an image with may_boot'
                                  % (image_id, body))
        return image

    def get_usage(self, image_id):
        """How many servers use an image (``GET /v1/images/{id}/usage``).

        :returns: the number of servers, or None when the image belongs to
            no family.
        :raises svc_common.clients.rest.ApiError: any other error answer.
        """
        body = self._get_image_path(image_id, '/usage')
        if body is None:
            return None
        servers = body.get('servers') if isinstance(body, dict) else None
        if (isinstance(servers, bool) or not isinstance(servers, int)
                or servers < 0):
            raise MalformedAnswer('GET /v1/images/%s/usage answered %.60r, '
                                  'not a number of servers'
                                  % (image_id, body))
        return servers

    def _get_image_path(self, image_id, suffix=''):
        """The decoded body of ``GET /v1/images/{image_id}{suffix}``
        (the id percent-encoded: a ``?`` or ``#`` in it asked about
        another image), or None for an image in no family.

        :raises MalformedAnswer: the body is not JSON
        """
        try:
            path = '/v1/images/%s%s' % (rest.path_segment(image_id), suffix)
        except ValueError:
            # '', '.' or '..': no image has that id.
            return None
        try:
            return self.get(path)
        except rest.ApiError as error:
            if is_image_not_found(error):
                return None
            raise
        except ValueError as error:
            raise MalformedAnswer('GET %s answered something that is not '
                                  'JSON: %s' % (path, error))
