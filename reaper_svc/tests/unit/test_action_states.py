"""The action state machine."""

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

    def test_deleting_cannot_be_cancelled(self):
        self.assertRaises(states.InvalidTransition, states.check_transition,
                          states.DELETING, states.CANCELLED)
