"""The local run with an engine that cannot be built from the
configuration: ``[preemption] simulated_cloud`` of a ``--config-dir``
naming a file that does not exist, or that is not YAML, ended
``arbiter-all-in-one`` with the reaper driver's traceback."""

import os

import fixtures
import testtools

from reaper_svc import service as reaper_service
from svc_common.cmd import all_in_one
from svc_common import config


class TestEngineSetup(testtools.TestCase):

    def conf(self, simulated_cloud):
        tmp = self.useFixture(fixtures.TempDir()).path
        return config.build_conf(reaper_service.SPEC, overrides={
            (None, 'state_path'): tmp,
            ('preemption', 'driver'): 'simulated',
            ('preemption', 'simulated_cloud'): simulated_cloud,
        }), tmp

    def test_missing_cloud_file(self):
        conf, tmp = self.conf('/nonexistent/cloud.yaml')
        error = self.assertRaises(all_in_one.StartError,
                                  all_in_one._build_engine,
                                  reaper_service.SPEC, conf)
        self.assertEqual(
            "the reaper engine cannot start with this configuration: "
            "FileNotFoundError: [Errno 2] No such file or directory: "
            "'/nonexistent/cloud.yaml'. Nothing was started.", str(error))

    def test_cloud_file_that_is_not_yaml(self):
        conf, tmp = self.conf('')
        path = os.path.join(tmp, 'cloud.yaml')
        with open(path, 'w') as f:
            f.write('hosts: [unclosed\n')
        conf.set_override('simulated_cloud', path, group='preemption')
        error = self.assertRaises(all_in_one.StartError,
                                  all_in_one._build_engine,
                                  reaper_service.SPEC, conf)
        self.assertIn('the reaper engine cannot start with this '
                      'configuration: ', str(error))
        self.assertIn(path, str(error))
