"""What the reaper's API tests share: the sample simulated cloud, and an
API app that uses it."""

import os

import fixtures

from reaper_svc.db import actions as actions_db
from reaper_svc import service
from reaper_svc.strategies import model
from svc_common import context
from svc_common.db import database
from svc_common.tests.fixtures import api as af

#: The sample cloud of etc/reaper (two aggregates, four hosts, full).
CLOUD = os.path.abspath(os.path.join(
    os.path.dirname(__file__), '..', '..', '..', 'etc', 'reaper',
    'simulated-cloud.yaml'))

#: oslo.config reads ``[preemption] simulated_cloud`` from this variable
#: too: every app a test builds (the noauth one, the one behind
#: auth_token in the Keystone matrix) then sees the same cloud.
CLOUD_VARIABLE = 'OS_PREEMPTION__SIMULATED_CLOUD'

SERVER = {'name': 'job', 'flavor': 'm1.large', 'image': 'img-1'}


class ReaperApp(fixtures.Fixture):
    """The reaper API on the sample simulated cloud: ``.app`` (webtest),
    ``.conf``, ``.db``."""

    def __init__(self, overrides=None):
        super().__init__()
        self.overrides = overrides

    def _setUp(self):
        self.useFixture(fixtures.EnvironmentVariable(CLOUD_VARIABLE, CLOUD))
        self.service_app = af.ServiceApp(service.SPEC,
                                         overrides=self.overrides)
        self.useFixture(self.service_app)
        self.app = self.service_app.app
        self.conf = self.service_app.conf
        self.db = database.Database(self.conf)


def add_action(db, project_id, victim_projects, state='failed',
               trigger_id=None):
    """An action in the table, as the engine records one: triggered by
    ``project_id`` with one victim per project of ``victim_projects``."""
    victims = [model.Server('%s-vm-%d' % (project or 'none', index), 'cmp1',
                            {'VCPU': 2}, preemptible=True,
                            project_id=project)
               for index, project in enumerate(victim_projects)]
    return actions_db.create_action(
        db, context.admin_context(), 'scheduling_failure', trigger_id,
        project_id, 'best_fit', {'resources': {'VCPU': 2}, 'count': 1},
        victims, state=state,
        reason='Not enough room.' if state == 'failed' else None)
