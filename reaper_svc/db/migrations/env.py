from alembic import context

from reaper_svc.db import models
from svc_common.db import migration

migration.run_env(context, models.Base.metadata)
