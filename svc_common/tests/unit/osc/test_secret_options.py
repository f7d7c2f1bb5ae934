"""Secret options of the OSC plugins are masked in what ``--debug`` logs
(the real ``openstack --debug`` run is federation_proxy's functional
test_osc)."""

import argparse
import logging

import fixtures
import testtools

from svc_common.osc import secret_options

FLAGS = ('--client-secret',)


class TestMask(testtools.TestCase):

    def test_option_and_value(self):
        self.assertEqual(
            'idp create --client-id proxy --client-secret *** --name x',
            secret_options.mask('idp create --client-id proxy '
                                '--client-secret hush --name x', FLAGS))

    def test_equals_and_abbreviation(self):
        self.assertEqual(
            'idp set --client-sec=*** --name x',
            secret_options.mask('idp set --client-sec=hush --name x',
                                FLAGS))

    def test_other_options_stay(self):
        line = 'idp create --client-id proxy --client-secrets-dir d'
        self.assertEqual(line, secret_options.mask(line, FLAGS))

    def test_value_with_blanks_from_argv(self):
        argv = ['idp', 'create', '--client-secret', 'two words', '-f',
                'json']
        self.assertEqual(
            'idp create --client-secret *** -f json',
            secret_options.mask(' '.join(argv), FLAGS, argv))

    def test_argv_secrets(self):
        self.assertEqual(
            ['a', 'b c'],
            secret_options.argv_secrets(
                ['--client-secret', 'a', '--client-secr=b c', '--name',
                 'n', '--client-secret'], FLAGS))


class TestSecretText(testtools.TestCase):

    def test_parsed_arguments_show_it_masked(self):
        parser = argparse.ArgumentParser()
        secret_options.add_argument(parser, '--client-secret')
        args = parser.parse_args(['--client-secret', 'hush'])
        self.assertEqual('hush', args.client_secret)
        self.assertNotIn('hush', repr(args))
        self.assertIn("client_secret='***'", repr(args))


class TestFilter(testtools.TestCase):

    def test_shell_line_is_masked(self):
        name = 'svc_common.tests.secret_options'
        log = self.useFixture(fixtures.FakeLogger(name=name))
        installed = secret_options.install(FLAGS, logger_name=name)
        self.addCleanup(logging.getLogger(name).removeFilter, installed)
        self.useFixture(fixtures.MonkeyPatch('sys.argv', [
            'openstack', 'idp', 'create', '--client-secret', 'a b']))
        logging.getLogger(name).info('START with options: %s',
                                     'idp create --client-secret a b')
        self.assertEqual('START with options: idp create '
                         '--client-secret ***\n', log.output)

    def test_plugins_share_one_filter(self):
        name = 'svc_common.tests.secret_options_shared'
        first = secret_options.install(FLAGS, logger_name=name)
        second = secret_options.install(('--key',), logger_name=name)
        self.addCleanup(logging.getLogger(name).removeFilter, first)
        self.assertIs(first, second)
        self.assertEqual({'--client-secret', '--key'}, first.flags)
