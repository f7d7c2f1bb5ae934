"""/v1/actions: the preemptions the reaper planned and carried out."""

import pecan
from pecan import rest

from reaper_svc.db import actions as actions_db
from reaper_svc.schemas import action as schema
from svc_common.api import controller
from svc_common.api import openapi
from svc_common.api import validation
from svc_common import policy


def action_projects(action):
    """The projects an action touched: its trigger's and its victims'."""
    projects = {v['project_id'] for v in action['victims']}
    projects.add(action['project_id'])
    projects.discard(None)
    return projects


def action_view(action, project_id=None):
    """An action as the API shows it.

    :param project_id: the one project the caller sees (see
        :func:`svc_common.api.controller.visible_project`), None for
        operators and services.  A project's callers see their own
        servers among the victims, not the other projects' (their ids,
        hosts and projects, also where the reason names one), and what
        triggered the action (the failed boot's instance, its project
        and its request) only when their project did: an action touches
        several projects, and each sees its own part.
    """
    view = dict(action)
    for key in ('created_at', 'updated_at', 'noticed_at', 'delete_after',
                'finished_at'):
        view[key] = controller.isoformat(action[key])
    victims = action['victims']
    if project_id is not None:
        victims = [v for v in victims if v['project_id'] == project_id]
        if action['project_id'] != project_id:
            view['trigger_id'] = view['project_id'] = None
            # What the other project's boot asked for (its size, count,
            # zone, traits, the compute hosts it was forced to).
            view['request'] = None
        view['reason'] = _without_others(action, project_id)
    view['victims'] = [dict(v) for v in victims]
    return view


#: What stands for another project's server in a reason a project's
#: caller reads.
OTHER_SERVER = "another project's server"


def _without_others(action, project_id):
    """The action's reason with the IDs of the victims that are not
    ``project_id``'s replaced: a reason names the victim that ended the
    action ("Could not lock <id>: ...", "Since the plan, <id> became no
    candidate ..."), whichever project it is."""
    reason = action['reason']
    if not reason:
        return reason
    for victim in action['victims']:
        if victim['project_id'] != project_id:
            reason = reason.replace(victim['server_id'], OTHER_SERVER)
    return reason


def _read_target(action):
    """The policy target of reading ``action``, or None when the caller
    may not see it at all.  Operators and services read every action
    (the system); a project's callers read those that touched it."""
    visible = controller.visible_project()
    if visible is None:
        return policy.SYSTEM
    projects = action_projects(action)
    if visible in projects:
        return policy.project_target(visible)
    if projects:
        # Another project's: refused as an absent action.
        return policy.project_target(sorted(projects)[0])
    return None


class ActionsController(rest.RestController):

    OPENAPI = {
        'get_all': openapi.Operation('action:list', schema.RESPONSE_ACTIONS,
                                     query=schema.LIST_QUERY),
        'get_one': openapi.Operation('action:get', schema.RESPONSE_ACTION),
    }

    @pecan.expose('json')
    def get_all(self):
        params = pecan.request.params
        controller.authorize('action:list', controller.list_target(
            params.get('project_id')))
        limit, marker = validation.page(params,
                                        pecan.request.conf.api.max_limit)
        validation.validate(schema.LIST_QUERY, dict(params))
        visible = controller.visible_project()
        rows = actions_db.list_actions(
            pecan.request.db, pecan.request.context, limit, marker,
            project_id=(params.get('project_id') if visible is None
                        else visible),
            state=params.get('state'), trigger=params.get('trigger'))
        actions = [action_view(a, visible) for a in rows]
        return {'actions': actions, 'links': validation.links_for_page(
            actions, limit, 'id', '/v1/actions', params)}

    @pecan.expose('json')
    def get_one(self, action_id):
        action = actions_db.get_action(pecan.request.db,
                                       pecan.request.context, action_id)
        target = _read_target(action)
        if target is None:
            raise actions_db.no_such_action(action_id)
        controller.authorize('action:get', target,
                             not_found=actions_db.no_such_action(action_id))
        return {'action': action_view(action,
                                      controller.visible_project())}
