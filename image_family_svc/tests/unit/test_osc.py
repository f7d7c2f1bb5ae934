"""The parts of ``openstack image family ...`` that need no server (the
commands run against the real API in
image_family_svc/tests/functional/test_osc.py)."""

import io
import json
from unittest import mock

from osc_lib import exceptions
import testtools

from image_family_svc.osc.v1 import family
from image_family_svc.osc.v1 import transition
from svc_common.clients import rest


def _parse(command_class, argv):
    cmd = command_class(mock.Mock(), None)
    return cmd, cmd.get_parser('openstack').parse_args(argv)


class TestArguments(testtools.TestCase):

    def _usage_error(self, command_class, argv):
        """The message of the usage error ``argv`` makes."""
        with mock.patch('sys.stderr', new_callable=io.StringIO) as stderr:
            error = self.assertRaises(SystemExit, _parse, command_class,
                                      argv)
        self.assertEqual(2, error.code)
        return stderr.getvalue()

    def test_keep_superseded_is_ascii_digits(self):
        # int() took '\u0663' (an Arabic-Indic 3) as 3.
        for command_class, argv in ((family.CreateFamily, ['f']),
                                    (family.SetFamily, ['f'])):
            for bad in ('\u0663', '\uff13', ' 3', '+3', '1_0'):
                message = self._usage_error(command_class, argv + [
                    '--keep-superseded', bad])
                self.assertIn("argument --keep-superseded: %r is not an "
                              "integer" % bad, message)
            _cmd, parsed = _parse(command_class, argv + [
                '--keep-superseded', '3'])
            self.assertEqual(3, parsed.keep_superseded)

    def test_property_without_a_value_is_a_usage_error(self):
        # It was a ValueError from dict() ("dictionary update sequence
        # element #0 has length 1; 2 is required") after parsing.
        for bad in ('os_distro', '=centos'):
            message = self._usage_error(family.AddFamilyImage, [
                'centos-7', 'img-1', '--property', bad])
            self.assertIn('argument --property: %r is not <key>=<value>'
                          % bad, message)

    def test_properties(self):
        cmd, parsed = _parse(family.AddFamilyImage, [
            'centos-7', 'img-1', '--property', 'os_distro=centos',
            '--property', 'note=a=b', '--property', 'empty='])
        client = cmd.app.client_manager.image_family
        client.post.return_value = {'image': {}}
        cmd.take_action(parsed)
        client.post.assert_called_once_with(
            '/v1/families/centos-7/images', json={
                'image_id': 'img-1', 'properties': {
                    'os_distro': 'centos', 'note': 'a=b', 'empty': ''}})

    def test_key_twice_in_properties_schema_is_a_usage_error(self):
        # Python's json kept the last one: '{"required": ["os_distro"],
        # "required": ["os_version"]}' sent a schema requiring only
        # os_version (the API refuses a body with a key twice).
        for bad in ('{"required": ["os_distro"], "required": ["os_version"]}',
                    '{"properties": {"a": {"type": "string", '
                    '"type": "integer"}}}'):
            for command_class, argv in ((family.CreateFamily, ['centos-7']),
                                        (family.SetFamily, ['centos-7'])):
                message = self._usage_error(command_class, argv + [
                    '--properties-schema', bad])
                self.assertIn('argument --properties-schema: key "', message)
                self.assertIn('appears twice in one object', message)

    def test_property_twice_is_an_error(self):
        cmd, parsed = _parse(family.AddFamilyImage, [
            'centos-7', 'img-1', '--property', 'os_version=7.8',
            '--property', 'os_distro=centos', '--property', 'os_version=7.9'])
        client = cmd.app.client_manager.image_family
        error = self.assertRaises(exceptions.CommandError, cmd.take_action,
                                  parsed)
        self.assertIn('--property os_version is given more than once',
                      str(error))
        client.post.assert_not_called()

    def test_properties_schema_not_json_is_a_usage_error(self):
        for bad, said in (('{"type": ', 'not JSON'),
                          ('[1]', 'not a JSON object')):
            message = self._usage_error(family.CreateFamily, [
                'centos-7', '--properties-schema', bad])
            self.assertIn('argument --properties-schema: %s' % said,
                          message)


class TestPaths(testtools.TestCase):
    """A family name or image id typed on the command line is one path
    segment: '..' and '.' are refused (the client resolved
    /v1/families/.. as /v1/: 'image family show ..' failed with the
    message 'family', 'image family image list ..' listed every image of
    every family) and so is '' (/v1/families/ is the list)."""

    def _run(self, command_class, argv):
        cmd, parsed = _parse(command_class, argv)
        return cmd.app.client_manager.image_family, lambda: cmd.take_action(
            parsed)

    def test_no_dot_or_empty_segments(self):
        for command_class, argv in (
                (family.ShowFamily, ['{}']),
                (family.SetFamily, ['{}', '--description', 'd']),
                (family.ShowLatest, ['{}']),
                (family.AddFamilyImage, ['{}', 'img-1']),
                (family.ListFamilyImage, ['{}']),
                (family.SetImageState, ['{}', 'active']),
                (family.ShowSuccessor, ['{}'])):
            for bad in ('..', '.', ''):
                client, run = self._run(command_class, [
                    bad if a == '{}' else a for a in argv])
                error = self.assertRaises(ValueError, run)
                self.assertIn('cannot name an object in a URL', str(error))
                self.assertEqual([], client.method_calls, command_class)

    def test_delete_encodes_each_name_once(self):
        # delete_each encodes the names it is given; they were encoded
        # here first too ('a b' became a%2520b).
        client, run = self._run(family.DeleteFamily, ['a b', 'c'])
        run()
        self.assertEqual([mock.call.delete('/v1/families/a%20b'),
                          mock.call.delete('/v1/families/c')],
                         client.method_calls)


class TestLatest(testtools.TestCase):

    def test_no_latest_is_an_error(self):
        # It printed a table of None (exit 0): a script booting
        # '-f value -c image_id' got "None".
        cmd, parsed = _parse(family.ShowLatest, ['centos-7', '--beta'])
        client = cmd.app.client_manager.image_family
        client.get.return_value = {'family': 'centos-7', 'channel': 'beta',
                                   'image': None}
        error = self.assertRaises(exceptions.CommandError, cmd.take_action,
                                  parsed)
        self.assertEqual('Image family centos-7 has no latest image on the '
                         'beta channel yet: none of its images is beta or '
                         'active. "openstack image family image list '
                         'centos-7" lists them, "openstack image state set '
                         '<image> active" makes one active.', str(error))
        client.get.assert_called_once_with(
            '/v1/families/centos-7/latest?channel=beta')

    def test_no_latest_says_what_makes_one(self):
        # It said "Image family centos-7 has no latest image yet." and
        # nothing of what makes one.
        cmd, parsed = _parse(family.ShowLatest, ['centos-7'])
        client = cmd.app.client_manager.image_family
        client.get.return_value = {'family': 'centos-7', 'channel': 'stable',
                                   'image': None}
        error = self.assertRaises(exceptions.CommandError, cmd.take_action,
                                  parsed)
        self.assertEqual('Image family centos-7 has no latest image yet: '
                         'none of its images is active. "openstack image '
                         'family image list centos-7" lists them, '
                         '"openstack image state set <image> active" makes '
                         'one active.', str(error))


class TestTables(testtools.TestCase):
    """A family's schema and an image's scheduled transitions and usage
    read as JSON and osc-lib's text in a table, not as Python's repr."""

    def table(self, command_class, argv, answer):
        cmd, parsed = _parse(command_class, argv)
        cmd.app.stdout = io.StringIO()
        cmd.app.client_manager.image_family.get.return_value = answer
        cmd.run(parsed)
        return cmd.app.stdout.getvalue()

    def test_schema_is_indented_json(self):
        schema = {'type': 'object', 'required': ['os_version']}
        output = self.table(family.ShowFamily, ['rocky-9'], {'family': {
            'name': 'rocky-9', 'properties_schema': schema}})
        values = [line.split('|')[2].rstrip() for line in
                  output.splitlines() if line.startswith('|')]
        start = values.index(' {')
        self.assertEqual([' {', '   "type": "object",', '   "required": [',
                          '     "os_version"', '   ]', ' }'],
                         values[start:start + 6])
        cmd, parsed = _parse(family.ShowFamily, ['rocky-9', '-f', 'json'])
        cmd.app.stdout = io.StringIO()
        cmd.app.client_manager.image_family.get.return_value = {
            'family': {'name': 'rocky-9', 'properties_schema': schema}}
        cmd.run(parsed)
        self.assertEqual(schema, json.loads(
            cmd.app.stdout.getvalue())['properties_schema'])

    def test_image_scheduled_and_usage(self):
        output = self.table(family.ShowLatest, ['rocky-9'], {'image': {
            'image_id': 'i1', 'scheduled': [
                {'id': 't1', 'to': 'deprecated',
                 'at': '2030-06-01T00:00:00Z', 'detail': None}],
            'usage': {'servers': 0}}})
        self.assertIn("| scheduled        | at='2030-06-01T00:00:00Z', "
                      "id='t1', to='deprecated' |", output)
        self.assertIn("| usage            | servers='0'", output)
        self.assertNotIn("{'", output)


class TestArgumentHints(testtools.TestCase):
    """A family's name given where an image ID goes, or the two
    arguments of "image family add" swapped: the error says so."""

    FAMILIES = {'/v1/families/rocky-9'}

    def run_failing(self, command_class, argv, code, detail):
        cmd, parsed = _parse(command_class, argv)
        client = cmd.app.client_manager.image_family

        def get(path, **kwargs):
            if path in self.FAMILIES:
                return {'family': {'name': 'rocky-9'}}
            raise rest.ApiError(404, code=code, detail=detail)

        client.get.side_effect = get
        client.post.side_effect = lambda path, **kwargs: get(path)
        client.list.side_effect = lambda path, *args: get(path)
        return str(self.assertRaises(exceptions.CommandError, cmd.run,
                                     parsed))

    def test_family_name_for_an_image(self):
        for command_class, argv in (
                (family.SetImageState, ['rocky-9', 'active']),
                (family.ShowSuccessor, ['rocky-9']),
                (transition.ListTransition, ['rocky-9'])):
            message = self.run_failing(
                command_class, argv, 'image_family.image_not_found',
                'No image "rocky-9" in any image family.')
            self.assertIn('No image "rocky-9" in any image family. (HTTP 404 '
                          'image_family.image_not_found, request -) rocky-9 '
                          'is an image family; this command takes a Glance '
                          'image ID ("openstack image family image list '
                          'rocky-9"', message)

    def test_add_with_arguments_swapped(self):
        message = self.run_failing(
            family.AddFamilyImage, ['3d1f6a2c', 'rocky-9'],
            'image_family.family_not_found', 'No image family "3d1f6a2c".')
        self.assertTrue(message.endswith(
            "rocky-9 is a family: the family's name comes first, then the "
            "Glance image ID."), message)

    def test_no_hint_for_an_unknown_image(self):
        message = self.run_failing(
            family.SetImageState, ['3d1f6a2c', 'active'],
            'image_family.image_not_found',
            'No image "3d1f6a2c" in any image family.')
        self.assertEqual('No image "3d1f6a2c" in any image family. (HTTP 404 '
                         'image_family.image_not_found, request -)', message)


class TestSetWithNothingToChange(testtools.TestCase):
    """``openstack image family set <family>`` without an option behaves
    as OSC's own set commands (``openstack project set <project>``): the
    family is looked up, nothing is changed or printed, and a missing
    one is an error (it answered success whatever the name)."""

    def _run(self, argv, get):
        app = mock.Mock()
        client = app.client_manager.image_family
        client.get.side_effect = get
        app.stdout, app.stderr = io.StringIO(), io.StringIO()
        cmd = family.SetFamily(app, None)
        result = cmd.run(cmd.get_parser('openstack').parse_args(argv))
        return result, app, client

    def test_looked_up_not_changed(self):
        result, app, client = self._run(['centos-7'], lambda path: {
            'family': {'name': 'centos-7'}})
        client.get.assert_called_once_with('/v1/families/centos-7')
        client.patch.assert_not_called()
        self.assertEqual((0, '', ''), (result, app.stdout.getvalue(),
                                       app.stderr.getvalue()))

    def test_missing_family_is_an_error(self):
        def get(path):
            raise rest.ApiError(404, 'image_family.family_not_found',
                                detail='No image family "gone".',
                                request_id='r-1')
        error = self.assertRaises(exceptions.CommandError, self._run,
                                  ['gone'], get)
        self.assertEqual('No image family "gone". (HTTP 404 '
                         'image_family.family_not_found, request r-1)',
                         str(error))

    def test_a_change_is_one_patch(self):
        result, app, client = self._run(
            ['centos-7', '--description', 'd'], None)
        client.patch.assert_called_once_with(
            '/v1/families/centos-7', json={'description': 'd'})
        client.get.assert_not_called()
