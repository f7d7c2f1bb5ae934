"""The lifecycle state machine: small cases, then hypothesis.

The hypothesis tests drive a family through random sequences of
requested transitions, server boots and server deletions (what Nova's
notifications report), and check after every step that

* no image is ever deleted while a server uses it;
* the family's latest is the newest ``active`` member, or none;
* following successors never comes back to an image already seen.
"""

import datetime

import hypothesis
from hypothesis import strategies as st
import testtools

from image_family_svc import lifecycle as lc

T0 = datetime.datetime(2024, 1, 1)


def member(image_id, state, version=None, minutes=0, successor=None):
    return lc.Member(image_id, state, version,
                     T0 + datetime.timedelta(minutes=minutes), successor)


def family(*members):
    return {m.image_id: m for m in members}


class TestVersionOrder(testtools.TestCase):

    def test_natural_order(self):
        ordered = ['', '7', '7.9', '7.10', '7.10.1', '8', '2023.2',
                   '2024.1']
        keys = [lc.version_key(v) for v in ordered]
        self.assertEqual(keys, sorted(keys))

    def test_text_runs_compare_as_text(self):
        self.assertLess(lc.version_key('22.04-beta'),
                        lc.version_key('22.04-rc'))

    def test_join_time_breaks_ties(self):
        older = member('a', lc.ACTIVE, '7', minutes=0)
        newer = member('b', lc.ACTIVE, '7', minutes=5)
        self.assertEqual('b', lc.latest([older, newer]).image_id)


class TestPlan(testtools.TestCase):

    def test_forward_path(self):
        self.assertEqual([lc.BETA], lc.plan(lc.TESTING, lc.BETA, 0))
        self.assertEqual([lc.ACTIVE], lc.plan(lc.BETA, lc.ACTIVE, 0))
        self.assertEqual([lc.DEPRECATED],
                         lc.plan(lc.ACTIVE, lc.DEPRECATED, 3))
        self.assertEqual([lc.OBSOLETE], lc.plan(lc.DEPRECATED, lc.OBSOLETE,
                                                3))

    def test_rollbacks(self):
        self.assertEqual([lc.ACTIVE], lc.plan(lc.DEPRECATED, lc.ACTIVE, 0))
        self.assertEqual([lc.DEPRECATED],
                         lc.plan(lc.OBSOLETE, lc.DEPRECATED, 0))
        self.assertEqual([lc.OBSOLETE],
                         lc.plan(lc.PENDING_DELETE, lc.OBSOLETE, 2))

    def test_delete_unused_obsolete_goes_all_the_way(self):
        self.assertEqual([lc.PENDING_DELETE, lc.DELETED],
                         lc.plan(lc.OBSOLETE, lc.DELETED, 0))

    def test_delete_used_obsolete_waits(self):
        self.assertEqual([lc.PENDING_DELETE],
                         lc.plan(lc.OBSOLETE, lc.DELETED, 2))

    def test_delete_pending_in_use_is_refused(self):
        error = self.assertRaises(lc.ImageInUse, lc.plan,
                                  lc.PENDING_DELETE, lc.DELETED, 1)
        self.assertEqual(1, error.servers)

    def test_delete_unused_obsolete_not_drained_waits(self):
        self.assertEqual([lc.PENDING_DELETE],
                         lc.plan(lc.OBSOLETE, lc.DELETED, 0, drained=False))

    def test_delete_pending_unused_not_drained_is_refused(self):
        self.assertRaises(lc.ImageDraining, lc.plan, lc.PENDING_DELETE,
                          lc.DELETED, 0, drained=False)
        self.assertEqual([lc.DELETED],
                         lc.plan(lc.PENDING_DELETE, lc.DELETED, 0))

    def test_only_obsolete_images_can_be_deleted(self):
        for state in (lc.TESTING, lc.BETA, lc.ACTIVE, lc.DEPRECATED):
            self.assertRaises(lc.InvalidTransition, lc.plan, state,
                              lc.DELETED, 0)

    def test_deleted_is_final(self):
        for state in lc.REQUESTABLE:
            self.assertRaises(lc.InvalidTransition, lc.plan, lc.DELETED,
                              state, 0)

    def test_pending_delete_cannot_be_asked_for(self):
        self.assertRaises(lc.InvalidTransition, lc.plan, lc.OBSOLETE,
                          lc.PENDING_DELETE, 0)

    def test_same_state_is_invalid(self):
        self.assertRaises(lc.InvalidTransition, lc.plan, lc.ACTIVE,
                          lc.ACTIVE, 0)

    def test_may_boot(self):
        self.assertEqual(
            {lc.TESTING, lc.BETA, lc.ACTIVE, lc.DEPRECATED},
            {s for s in lc.STATES if lc.may_boot(s)})


class TestLatestAndSuccessor(testtools.TestCase):

    def test_beta_is_never_default_latest(self):
        members = [member('a', lc.ACTIVE, '1'), member('b', lc.BETA, '2')]
        self.assertEqual('a', lc.latest(members).image_id)
        self.assertEqual('b', lc.latest(members, lc.BETA_CHANNEL).image_id)

    def test_beta_channel_falls_back_to_active(self):
        members = [member('a', lc.ACTIVE, '3'), member('b', lc.BETA, '2')]
        self.assertEqual('a', lc.latest(members, lc.BETA_CHANNEL).image_id)

    def test_no_active_no_latest(self):
        self.assertIsNone(lc.latest([member('a', lc.DEPRECATED, '1')]))

    def test_deprecating_newest_rolls_back_latest(self):
        fam = family(member('old', lc.ACTIVE, '1'),
                     member('new', lc.ACTIVE, '2'))
        changes = lc.transition(fam, 'new', lc.DEPRECATED, 0)
        self.assertEqual([lc.Change('new', lc.ACTIVE, lc.DEPRECATED, 'old',
                                    'request')], changes)
        self.assertEqual('old', lc.latest(fam.values()).image_id)

    def test_undeprecate_clears_successor(self):
        fam = family(member('old', lc.DEPRECATED, '1', successor='new'),
                     member('new', lc.ACTIVE, '2'))
        lc.transition(fam, 'old', lc.ACTIVE, 0)
        self.assertIsNone(fam['old'].successor_id)

    def test_promotion_and_deprecation_of_predecessor(self):
        fam = family(member('old', lc.ACTIVE, '1'),
                     member('new', lc.BETA, '2'))
        lc.transition(fam, 'new', lc.ACTIVE, 0)
        lc.transition(fam, 'old', lc.DEPRECATED, 0)
        self.assertEqual('new', fam['old'].successor_id)


class TestRetention(testtools.TestCase):

    def test_keeps_last_n_superseded(self):
        fam = family(*[member('i%d' % n, lc.ACTIVE, str(n))
                       for n in range(1, 6)])
        changes = lc.apply_retention(fam, 2)
        self.assertEqual(['i2', 'i1'], [c.image_id for c in changes])
        self.assertTrue(all(c.to_state == lc.OBSOLETE and
                            c.successor_id == 'i5' and
                            c.cause == 'retention' for c in changes))
        self.assertEqual({'i3', 'i4', 'i5'},
                         {i for i, m in fam.items() if m.state == lc.ACTIVE})

    def test_without_rule_keeps_all(self):
        fam = family(member('a', lc.ACTIVE, '1'), member('b', lc.ACTIVE,
                                                         '2'))
        self.assertEqual([], lc.apply_retention(fam, None))

    def test_without_latest_obsoletes_nothing(self):
        fam = family(member('a', lc.DEPRECATED, '1'),
                     member('b', lc.DEPRECATED, '2'))
        self.assertEqual([], lc.apply_retention(fam, 0))

    def test_promotion_applies_retention(self):
        fam = family(member('a', lc.ACTIVE, '1'), member('b', lc.BETA, '2'))
        changes = lc.transition(fam, 'b', lc.ACTIVE, 0, keep_superseded=0)
        self.assertEqual([('b', lc.ACTIVE, 'request'),
                          ('a', lc.OBSOLETE, 'retention')],
                         [(c.image_id, c.to_state, c.cause)
                          for c in changes])


class TestUsage(testtools.TestCase):

    def test_pending_delete_deleted_when_unused(self):
        fam = family(member('a', lc.PENDING_DELETE, '1'))
        self.assertEqual([], lc.usage_changed(fam, 'a', 1))
        changes = lc.usage_changed(fam, 'a', 0)
        self.assertEqual([lc.DELETED], [c.to_state for c in changes])

    def test_pending_delete_not_drained_stays(self):
        fam = family(member('a', lc.PENDING_DELETE, '1'))
        self.assertEqual([], lc.usage_changed(fam, 'a', 0, drained=False))
        self.assertEqual(lc.PENDING_DELETE, fam['a'].state)

    def test_other_states_do_not_move(self):
        for state in (lc.ACTIVE, lc.OBSOLETE, lc.DEPRECATED):
            fam = family(member('a', state, '1'))
            self.assertEqual([], lc.usage_changed(fam, 'a', 0))


# -- hypothesis ---------------------------------------------------------------

IMAGES = ['img-%d' % n for n in range(3)]

_step = st.one_of(
    # A pick among the states allowed from the current one (most asks are
    # valid, so that deep states are reached), or any state.
    st.tuples(st.just('ask'), st.sampled_from(IMAGES), st.integers(0, 3)),
    st.tuples(st.just('ask'), st.sampled_from(IMAGES),
              st.sampled_from(lc.REQUESTABLE)),
    st.tuples(st.just('boot'), st.sampled_from(IMAGES),
              st.integers(0, 3)),
    st.tuples(st.just('stop'), st.sampled_from(IMAGES), st.integers(0, 3)),
    st.tuples(st.just('retention'), st.just(None),
              st.one_of(st.none(), st.integers(0, 3))),
)


class FamilyModel(object):
    """A family as the service keeps it, driven only through
    :mod:`lifecycle`, with the servers that use each image."""

    def __init__(self, versions, keep):
        self.members = {
            image_id: lc.Member(image_id, lc.TESTING, version,
                                T0 + datetime.timedelta(minutes=n))
            for n, (image_id, version) in enumerate(zip(IMAGES, versions))}
        self.servers = {image_id: set() for image_id in IMAGES}
        self.keep = keep
        self.deleted_with_users = []
        self.stored_latest = None

    def _record(self, changes):
        for change in changes:
            if (change.to_state == lc.DELETED and
                    self.servers[change.image_id]):
                self.deleted_with_users.append(change)
        newest = lc.latest(self.members.values())
        self.stored_latest = newest.image_id if newest else None

    def step(self, kind, image_id, arg):
        if kind == 'ask':
            allowed = sorted(lc.allowed_targets(
                self.members[image_id].state))
            if isinstance(arg, str):
                requested = arg
            elif allowed:
                requested = allowed[arg % len(allowed)]
            else:
                requested = lc.ACTIVE
            try:
                changes = lc.transition(
                    self.members, image_id, requested,
                    len(self.servers[image_id]), self.keep)
            except lc.InvalidTransition:
                changes = []
            self._record(changes)
        elif kind == 'boot':
            # Nova's filter refuses boots from images that may not boot.
            if lc.may_boot(self.members[image_id].state):
                self.servers[image_id].add(arg)
                self._record(lc.usage_changed(
                    self.members, image_id, len(self.servers[image_id])))
        elif kind == 'stop':
            self.servers[image_id].discard(arg)
            self._record(lc.usage_changed(
                self.members, image_id, len(self.servers[image_id])))
        else:
            self.keep = arg
            self._record(lc.apply_retention(self.members, arg))


def _versions():
    return st.lists(st.one_of(st.none(), st.sampled_from(
        ['1', '1.1', '1.10', '2', '2.0a', '10'])), min_size=len(IMAGES),
        max_size=len(IMAGES))


class TestLifecycleProperties(testtools.TestCase):

    @hypothesis.settings(max_examples=400, deadline=None)
    @hypothesis.given(versions=_versions(),
                      keep=st.one_of(st.none(), st.integers(0, 3)),
                      steps=st.lists(_step, min_size=10, max_size=60))
    def test_invariants(self, versions, keep, steps):
        model = FamilyModel(versions, keep)
        for kind, image_id, arg in steps:
            model.step(kind, image_id, arg)
            # Never deletes an image that a server uses.
            self.assertEqual([], model.deleted_with_users)
            for image_id_, m in model.members.items():
                if m.state == lc.DELETED:
                    self.assertEqual(set(), model.servers[image_id_])
            # Latest is the newest active member, or none.
            active = [m for m in model.members.values()
                      if m.state == lc.ACTIVE]
            expected = (max(active, key=lc.order_key).image_id
                        if active else None)
            self.assertEqual(expected, model.stored_latest)
            for m in active:
                self.assertLessEqual(lc.order_key(m), lc.order_key(
                    model.members[expected]))
            # Successor chains never loop.
            for start in model.members:
                seen = [start]
                nxt = model.members[start].successor_id
                while nxt is not None:
                    self.assertNotIn(nxt, seen, 'successor loop %s' % seen)
                    seen.append(nxt)
                    nxt = model.members[nxt].successor_id

    @hypothesis.settings(max_examples=200, deadline=None)
    @hypothesis.given(state=st.sampled_from(lc.STATES),
                      requested=st.sampled_from(lc.STATES),
                      servers=st.integers(0, 5))
    def test_plan_never_deletes_a_used_image(self, state, requested,
                                             servers):
        try:
            steps = lc.plan(state, requested, servers)
        except lc.InvalidTransition:
            return
        if servers:
            self.assertNotIn(lc.DELETED, steps)
        self.assertNotEqual([], steps)
        if lc.DELETED in steps:
            self.assertIn(state, (lc.OBSOLETE, lc.PENDING_DELETE))
