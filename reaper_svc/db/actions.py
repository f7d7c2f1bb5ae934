"""Preemption actions: plan, move through their states, list.

Every public function takes ``(db, ctx, ...)`` and runs in its own
transaction.  A state change is a compare-and-set on the state it was
read in, so that two engines cannot both move one action.
"""

import uuid

from oslo_db import exception as db_exc
import sqlalchemy as sa

from reaper_svc import action_states
from reaper_svc.db import clock
from reaper_svc.db import models
from svc_common import errors


def utcnow():
    """This host's naive UTC now (:func:`reaper_svc.db.clock.host_now`).
    The records' timestamps are not taken from it: they are written on
    the database's clock (:func:`reaper_svc.db.clock.session_now`), as
    other times are measured from them."""
    return clock.host_now()


class VictimClaimed(errors.Conflict):
    """A victim is already being preempted by another action."""

    def __init__(self, detail):
        super().__init__(detail, code='victim_claimed')


class TriggerActed(errors.Conflict):
    """An action exists for this trigger already (planned by another
    engine host at the same time)."""

    def __init__(self, detail):
        super().__init__(detail, code='trigger_acted')


def no_such_action(action_id):
    return errors.NotFound('Action %s does not exist.'
                           % errors.quoted_id(action_id),
                           code='action_not_found')


def action_dict(action):
    return {
        'id': action.id, 'state': action.state, 'trigger': action.trigger,
        'trigger_id': action.trigger_id, 'project_id': action.project_id,
        'strategy': action.strategy, 'request': action.request,
        'wasted': action.wasted, 'reason': action.reason,
        'created_at': action.created_at, 'updated_at': action.updated_at,
        'noticed_at': action.noticed_at,
        'delete_after': action.delete_after,
        'finished_at': action.finished_at,
        'victims': [{'server_id': v.server_id, 'host': v.host,
                     'project_id': v.project_id, 'resources': v.resources,
                     'state': v.state} for v in action.victims],
    }


def claimed_servers(db, ctx):
    """Ids of the servers unfinished actions are preempting."""
    with db.reader.using(ctx) as session:
        return set(session.scalars(sa.select(models.VictimClaim.server_id)))


def create_action(db, ctx, trigger, trigger_id, project_id, strategy,
                  request, victims, wasted=0.0, state=action_states.PLANNED,
                  reason=None):
    """Persist a planned action and claim its victims; its dict.

    :param victims: :class:`reaper_svc.strategies.model.Server` objects
    :raises VictimClaimed: another unfinished action claimed one of them
    :raises TriggerActed: an action exists for ``(trigger, trigger_id)``

    Its timestamps are the database's time: the hour a refused lock is
    tried again runs from ``created_at`` (see :mod:`reaper_svc.db.clock`).
    """
    action_id = str(uuid.uuid4())
    try:
        with db.writer.using(ctx) as session:
            now = clock.session_now(session)
            action = models.Action(
                id=action_id, state=state, trigger=trigger,
                trigger_id=trigger_id, project_id=project_id,
                strategy=strategy, request=request, wasted=wasted,
                reason=reason, created_at=now, updated_at=now,
                finished_at=now if state in action_states.FINAL else None)
            action.victims = [models.ActionVictim(
                server_id=v.id, host=v.host, project_id=v.project_id,
                resources=dict(v.resources), state='planned')
                for v in victims]
            session.add(action)
            try:
                session.flush()
            except db_exc.DBDuplicateEntry:
                raise TriggerActed('An action exists for %s %s already.'
                                   % (trigger, trigger_id))
            if state not in action_states.FINAL:
                for victim in victims:
                    session.add(models.VictimClaim(server_id=victim.id,
                                                   action_id=action_id))
                session.flush()
            return action_dict(action)
    except db_exc.DBDuplicateEntry:
        raise VictimClaimed('A victim of this plan is already claimed by '
                            'another action.')


def get_action(db, ctx, action_id):
    with db.reader.using(ctx) as session:
        action = session.get(models.Action, action_id)
        if action is None:
            raise no_such_action(action_id)
        return action_dict(action)


def list_query(limit, marker=None, project_id=None, state=None,
               trigger_id=None, trigger=None):
    """The SELECT of :func:`list_actions`.

    The actions of a project (what a project member lists) are the union
    of two index look-ups, those it triggered and those with one of its
    servers among the victims: written as one ``OR`` of the two, the
    condition could only be tested row by row, and PostgreSQL walked every
    action in id order to find a page (178 ms with 300,000 actions for a
    project that has none).
    """
    query = sa.select(models.Action).order_by(models.Action.id)
    if trigger is not None:
        query = query.where(models.Action.trigger == trigger)
    if trigger_id is not None:
        query = query.where(models.Action.trigger_id == trigger_id)
    if project_id is not None:
        touched = sa.union(
            sa.select(models.Action.id).where(
                models.Action.project_id == project_id),
            sa.select(models.ActionVictim.action_id).where(
                models.ActionVictim.project_id == project_id))
        query = query.where(models.Action.id.in_(touched))
    if state is not None:
        query = query.where(models.Action.state == state)
    if marker is not None:
        query = query.where(models.Action.id > marker)
    return query.limit(limit)


def list_actions(db, ctx, limit, marker=None, project_id=None, state=None,
                 trigger_id=None, trigger=None):
    """Actions by id; ``project_id``: those it triggered or whose victims
    include one of its servers; ``trigger``: the kind of trigger."""
    query = list_query(limit, marker, project_id, state, trigger_id,
                       trigger)
    with db.reader.using(ctx) as session:
        return [action_dict(a) for a in session.scalars(query)]


def unfinished(db, ctx):
    """Actions not in a final state, oldest first."""
    query = sa.select(models.Action).where(
        models.Action.state.in_(action_states.UNFINISHED)).order_by(
        models.Action.created_at, models.Action.id)
    with db.reader.using(ctx) as session:
        return [action_dict(a) for a in session.scalars(query)]


def transition(db, ctx, action_id, current, new, victim_states=None,
               **fields):
    """Move the action from ``current`` to ``new``; False if it was not
    in ``current`` any more (another engine moved it).

    :param victim_states: ``{server id: state}`` of victims to set in the
        same transaction, whether the action moves or not (see
        :func:`set_victim_states`)
    :param fields: columns to set with the move (``reason``,
        ``noticed_at``, ``delete_after``)
    """
    action_states.check_transition(current, new)
    with db.writer.using(ctx) as session:
        _set_victim_states(session, action_id, victim_states or {})
        now = clock.session_now(session)
        values = dict(fields, state=new, updated_at=now)
        if new in action_states.FINAL:
            values['finished_at'] = now
        moved = session.execute(
            sa.update(models.Action).where(
                models.Action.id == action_id,
                models.Action.state == current).values(**values)).rowcount
        if moved and new in action_states.FINAL:
            session.execute(sa.delete(models.VictimClaim).where(
                models.VictimClaim.action_id == action_id))
        return bool(moved)


def set_victim_state(db, ctx, action_id, server_id, state):
    set_victim_states(db, ctx, action_id, {server_id: state})


def set_victim_states(db, ctx, action_id, victim_states):
    """Set the state of several victims of ``action_id`` in one
    transaction (one commit for a notice's victims, not one each).

    :param victim_states: ``{server id: state}``
    """
    if victim_states:
        with db.writer.using(ctx) as session:
            _set_victim_states(session, action_id, victim_states)


def _set_victim_states(session, action_id, victim_states):
    by_state = {}
    for server_id, state in victim_states.items():
        by_state.setdefault(state, []).append(server_id)
    for state, server_ids in sorted(by_state.items()):
        session.execute(sa.update(models.ActionVictim).where(
            models.ActionVictim.action_id == action_id,
            models.ActionVictim.server_id.in_(server_ids)).values(
            state=state))


def mark_victim_deleted(db, ctx, server_id):
    """The cloud reports ``server_id`` deleted; how many victim rows of
    unfinished actions changed."""
    unfinished_ids = sa.select(models.Action.id).where(
        models.Action.state.in_(action_states.UNFINISHED))
    with db.writer.using(ctx) as session:
        return session.execute(sa.update(models.ActionVictim).where(
            models.ActionVictim.server_id == server_id,
            models.ActionVictim.action_id.in_(unfinished_ids)).values(
            state='deleted')).rowcount
