from alembic import context

from federation_proxy.db import models
from svc_common.db import migration

migration.run_env(context, models.Base.metadata)
