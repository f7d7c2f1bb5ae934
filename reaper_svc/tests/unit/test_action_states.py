"""The action state machine, and its picture in the admin guide."""

import os
import xml.etree.ElementTree

import testtools

from reaper_svc import action_states as states


class TestTransitions(testtools.TestCase):

    def test_happy_path(self):
        for current, new in ((states.PLANNED, states.NOTICED),
                             (states.NOTICED, states.DELETING),
                             (states.DELETING, states.DONE)):
            states.check_transition(current, new)

    def test_final_states_are_final(self):
        for final in states.FINAL:
            for new in states.STATES:
                self.assertRaises(states.InvalidTransition,
                                  states.check_transition, final, new)

    def test_no_skipping_the_notice(self):
        self.assertRaises(states.InvalidTransition, states.check_transition,
                          states.PLANNED, states.DELETING)
        self.assertRaises(states.InvalidTransition, states.check_transition,
                          states.PLANNED, states.DONE)

    def test_only_the_edges_the_engine_takes(self):
        # noticed leads only to deleting: nothing cancels or fails an
        # action between its notice and the end of its grace period.
        self.assertEqual({states.DELETING}, states.TRANSITIONS[
            states.NOTICED])
        states.check_transition(states.PLANNED, states.CANCELLED)
        states.check_transition(states.PLANNED, states.FAILED)
        states.check_transition(states.DELETING, states.FAILED)

    def test_deleting_cannot_be_cancelled(self):
        self.assertRaises(states.InvalidTransition, states.check_transition,
                          states.DELETING, states.CANCELLED)


FIGURE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'doc',
                      'source', 'admin', 'figures', 'action-states.svg')
SVG = '{http://www.w3.org/2000/svg}'


class TestFigure(testtools.TestCase):
    """The admin guide's picture of the states is the state machine."""

    def groups(self, kind):
        tree = xml.etree.ElementTree.parse(FIGURE)
        return [g.get('id') for g in tree.iter(SVG + 'g')
                if g.get('class') == kind]

    def test_every_state_is_drawn_once(self):
        self.assertEqual(sorted('state-%s' % s for s in states.STATES),
                         sorted(self.groups('state')))

    def test_arrows_are_the_transitions(self):
        drawn = sorted(tuple(edge.split('-')) for edge in self.groups('edge'))
        self.assertEqual(sorted((current, new) for current, targets in
                                states.TRANSITIONS.items()
                                for new in targets), drawn)
