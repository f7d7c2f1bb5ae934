from alembic import context

from svc_common.db import migration
from reaper_svc.db import models

migration.run_env(context, models.Base.metadata)
