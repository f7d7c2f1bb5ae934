"""Console scripts of limits_svc.

svc_common.cmd is imported before anything else of a script: it filters
eventlet's deprecation notice, which a script's own imports (oslo.service
through oslo.upgradecheck or oslo.messaging) would otherwise print first,
even before --help.
"""

from svc_common import cmd  # noqa: F401
