""":func:`lifecycle.joining_changes_nothing`: the states in which a
joining image can change neither the family's latest nor retention, so
that the engine need not read the family's members for such a join."""

import datetime

import hypothesis
from hypothesis import strategies as st
import testtools

from image_family_svc import lifecycle as lc

T0 = datetime.datetime(2024, 1, 1)


class TestQuietStates(testtools.TestCase):

    def test_quiet_states(self):
        self.assertEqual(
            {lc.TESTING, lc.BETA},
            {s for s in (lc.TESTING, lc.BETA, lc.ACTIVE, lc.DEPRECATED)
             if lc.joining_changes_nothing(s)})

    def test_active_join_changes_the_latest(self):
        members = {'old': lc.Member('old', lc.ACTIVE, '1', T0)}
        self.assertFalse(lc.joining_changes_nothing(lc.ACTIVE))
        members['new'] = lc.Member('new', lc.ACTIVE, '2', T0)
        self.assertEqual('new', lc.latest(members.values()).image_id)


_member_states = st.sampled_from(lc.STATES)


class TestQuietJoinProperty(testtools.TestCase):

    @hypothesis.settings(max_examples=300, deadline=None)
    @hypothesis.given(
        states=st.lists(_member_states, max_size=6),
        versions=st.lists(st.sampled_from(['1', '2', '2.1', '10', None]),
                          min_size=6, max_size=6),
        keep=st.one_of(st.none(), st.integers(0, 3)),
        joining=st.sampled_from(lc.STATES),
        version=st.sampled_from(['0', '3', '99', None]))
    def test_quiet_join_changes_neither_latest_nor_retention(
            self, states, versions, keep, joining, version):
        members = {
            'img-%d' % n: lc.Member('img-%d' % n, state, versions[n],
                                    T0 + datetime.timedelta(minutes=n))
            for n, state in enumerate(states)}
        # The family as its last writer left it: retention applied.
        lc.apply_retention(members, keep)
        before = lc.latest(members.values())
        members['new'] = lc.Member('new', joining, version,
                                   T0 + datetime.timedelta(days=1))
        after = lc.latest(members.values())
        changes = lc.apply_retention(members, keep)
        if lc.joining_changes_nothing(joining):
            self.assertEqual(before, after)
            self.assertEqual([], changes)
