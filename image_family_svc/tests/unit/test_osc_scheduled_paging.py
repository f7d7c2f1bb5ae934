"""``openstack image transition list --scheduled`` with ``--limit`` or
``--marker``: both were ignored, and ``--scheduled --limit 1`` printed
every scheduled transition."""

from unittest import mock

from osc_lib import exceptions
import testtools

from image_family_svc.osc.v1 import transition


def _run(argv):
    cmd = transition.ListTransition(mock.Mock(), None)
    parsed = cmd.get_parser('openstack').parse_args(argv)
    return cmd, parsed


class TestScheduledPaging(testtools.TestCase):

    def test_paging_options_are_refused_with_scheduled(self):
        for extra in (['--limit', '1'], ['--marker', 't-1']):
            cmd, parsed = _run(['img-1', '--scheduled'] + extra)
            error = self.assertRaises(exceptions.CommandError,
                                      cmd.take_action, parsed)
            self.assertEqual(
                '--limit and --marker page the history; --scheduled lists '
                'every scheduled transition (an image has at most 10) and '
                'takes neither.', str(error))
            self.assertEqual(
                [], cmd.app.client_manager.image_family.method_calls)

    def test_scheduled_alone_and_paged_history_still_work(self):
        cmd, parsed = _run(['img-1', '--scheduled'])
        client = cmd.app.client_manager.image_family
        client.get.return_value = {'scheduled': [], 'transitions': []}
        cmd.take_action(parsed)
        client.get.assert_called_once_with(
            '/v1/images/img-1/transitions', params={'limit': 1})
        cmd, parsed = _run(['img-1', '--limit', '2'])
        client = cmd.app.client_manager.image_family
        client.list.return_value = iter([])
        cmd.take_action(parsed)
        client.list.assert_called_once_with(
            '/v1/images/img-1/transitions', 'transitions', {}, 2, None)
