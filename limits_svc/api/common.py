"""What limits_svc's controllers share that no other service has.

The helpers every service's controllers share (authorize, sessions,
created/no_content, the visible project) are in
:mod:`svc_common.api.controller`.
"""

import pecan

from limits_svc.db import allocations as allocations_db
from limits_svc.db import limits as limits_db
from limits_svc.db import tree
from svc_common import errors


def require_local_mode(what):
    """Projects and limits are Keystone's in ``keystone`` mode."""
    if pecan.request.conf.limits.mode != 'local':
        raise errors.Conflict(
            '%s come from Keystone in keystone mode; change them there.'
            % what, code='managed_by_keystone')


# The errors of an absent object, as the database layer raises them: a
# handler passes them to ``controller.authorize`` so that another
# project's object is answered exactly like one that does not exist.

def no_such_project(project_id):
    return tree.ProjectNotFound('No project %s.'
                                % errors.quoted_id(project_id))


def no_such_allocation(consumer_id):
    return allocations_db.AllocationNotFound(
        'No allocation for consumer %s.' % errors.quoted_id(consumer_id))


def no_such_limit(limit_id):
    return limits_db.LimitNotFound('No limit %s.'
                                   % errors.quoted_id(limit_id))
