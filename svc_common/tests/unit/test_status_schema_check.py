"""``<prog>-status upgrade check``: what the schema check says about the
database it reads (svc_common.cmd.status)."""

import os

import fixtures
from oslo_upgradecheck import upgradecheck
import testtools

from svc_common.cmd import all_in_one
from svc_common.cmd import status
from svc_common import config
from svc_common.db import migration


class TestSchemaCheck(testtools.TestCase):

    def checks(self, spec):
        tmp = self.useFixture(fixtures.TempDir()).path
        url = 'sqlite:///%s' % os.path.join(tmp, '%s.sqlite' % spec.prog)
        conf = config.build_conf(
            spec, default_config_files=[],
            overrides={('database', 'connection'): url})
        return status.UpgradeChecks(spec, conf), url

    def test_empty_database_is_named_as_such(self):
        """An empty database was reported as "The schema is at None"."""
        for spec in all_in_one.load_specs():
            checks, url = self.checks(spec)
            # An SQLite file without tables (a file that does not exist
            # is named as such: test_missing_file_is_not_created).
            open(url[len('sqlite:///'):], 'w').close()
            result = checks._check_schema_at_head()
            self.assertEqual(upgradecheck.Code.FAILURE, result.code)
            self.assertEqual(
                'The database is empty (no schema yet); this release needs '
                '%s: run "%s-manage db sync".'
                % (migration.head_revision(spec), spec.prog),
                result.details)

    def test_database_at_head_passes(self):
        spec = all_in_one.load_specs()[0]
        checks, url = self.checks(spec)
        migration.upgrade(spec, url)
        result = checks._check_schema_at_head()
        self.assertEqual(upgradecheck.Code.SUCCESS, result.code)

    def test_missing_file_is_not_created(self):
        spec = all_in_one.load_specs()[0]
        checks, url = self.checks(spec)
        path = url[len('sqlite:///'):]
        result = checks._check_schema_at_head()
        self.assertEqual(upgradecheck.Code.FAILURE, result.code)
        self.assertEqual(
            'The database file %s does not exist (no schema yet); this '
            'release needs %s: run "%s-manage db sync".'
            % (path, migration.head_revision(spec), spec.prog),
            result.details)
        self.assertFalse(os.path.exists(path))
