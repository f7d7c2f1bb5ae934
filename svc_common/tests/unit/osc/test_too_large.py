"""A request the web server in front of the API refuses for its size.

``openstack quota allocation show <70000 characters>`` got a 414 page
from the server and said "answered HTTP 414, not as the limits API ...:
is it the right URL?", though the URL was the right one.
"""

from osc_lib import exceptions
import testtools

from svc_common.clients import rest
from svc_common.tests.unit.osc import test_wrong_endpoint


class _MessageTest(testtools.TestCase):

    def message(self, error):
        """What ``openstack image family list`` says for ``error``."""
        cmd = test_wrong_endpoint.ListFamilies(
            test_wrong_endpoint.FakeApp(), None)
        cmd.error = error
        exc = self.assertRaises(exceptions.CommandError, cmd.run,
                                cmd.get_parser('image family list')
                                .parse_args([]))
        return str(exc)


class TestTooLarge(_MessageTest):

    def test_each_size_status_names_the_size(self):
        for status, what in ((413, 'body too large'),
                             (414, 'URL too long'),
                             (431, 'headers too large')):
            message = self.message(rest.ApiError(
                status, detail='<html><title>Error response</title></html>'))
            self.assertEqual(
                'http://127.0.0.1:9870 refused the request as too large '
                '(HTTP %d: %s): an ID, a name or another value given is '
                'far longer than the image-family API takes.'
                % (status, what), message)
            self.assertNotIn('right URL', message)

    def test_the_apis_own_413_is_its_own(self):
        message = self.message(rest.ApiError(
            413, code='image_family.too_large', detail='Body too large.',
            request_id='req-3'))
        self.assertEqual('Body too large. (HTTP 413 image_family.too_large, '
                         'request req-3)', message)


class TestGatewayErrors(_MessageTest):
    """A proxy's 502/503/504 (the API behind it is down) was read as "not
    as the <api> API ...: is it the right URL?" alone."""

    def test_the_service_behind_the_proxy_is_asked_about(self):
        for status in (502, 503, 504):
            message = self.message(rest.ApiError(
                status, detail='<html>Service Unavailable</html>'))
            self.assertEqual(
                'http://127.0.0.1:9870 answered HTTP %d, not the '
                'image-family API itself (its answer is not an Arbiter '
                'error: <html>Service Unavailable</html>): a proxy in front '
                'of the API answers so when it cannot reach it. Is the '
                'image-family service running? If so, is it the right URL? '
                'Set the root URL of the image-family API with '
                '--os-image-family-endpoint-override '
                '(OS_IMAGE_FAMILY_ENDPOINT_OVERRIDE); --os-endpoint '
                'counts only while neither is set.'
                % status, message)

    def test_other_statuses_still_ask_for_the_url(self):
        message = self.message(rest.ApiError(
            404, detail='Not Found'))
        self.assertIn('not as the image-family API', message)
