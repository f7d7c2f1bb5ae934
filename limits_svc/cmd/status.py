"""``limits-status``: see :mod:`svc_common.cmd.status`.

limits_svc adds one check: every usage counter equals what the allocation
rows say (see :mod:`limits_svc.db.audit`).
"""

from oslo_upgradecheck import upgradecheck

from limits_svc.db import audit
from limits_svc import service
from svc_common.cmd import status
from svc_common import context
from svc_common.db import database


class LimitsUpgradeChecks(status.UpgradeChecks):

    def _check_usage_counters(self):
        schema = self._check_schema_at_head()
        if schema.code != upgradecheck.Code.SUCCESS:
            return upgradecheck.Result(
                upgradecheck.Code.WARNING,
                'Not checked: the schema is not at the latest revision.')
        drifts = audit.audit(database.Database(self.conf),
                             context.admin_context())
        if not drifts:
            return upgradecheck.Result(upgradecheck.Code.SUCCESS)
        shown = '; '.join(d.describe() for d in drifts[:5])
        more = ' and %d more' % (len(drifts) - 5) if len(drifts) > 5 else ''
        return upgradecheck.Result(
            upgradecheck.Code.WARNING,
            '%d usage counters differ from the allocations (%s%s): run '
            '"%s-manage usage audit --fix".'
            % (len(drifts), shown, more, self.spec.prog))

    _upgrade_checks = status.UpgradeChecks._upgrade_checks + (
        ('Usage counters match the allocations', _check_usage_counters),
    )


def main():
    return status.main(service.SPEC, checks_class=LimitsUpgradeChecks)
