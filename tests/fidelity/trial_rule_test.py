"""twin.py's rule for facts that rest on timing (its docstring): three fresh
trials in agreement, or four against one; starved trials set aside; else
inconclusive, never a guess. Run by ctest as fidelity.trial_rule."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "twins"))
import twin  # noqa: E402


class Trials:
    """A twin's trial() that gives these outcomes in turn: y, n, or s (starved)."""

    def __init__(self, outcomes):
        self.outcomes = iter(outcomes)
        self.ran = 0

    def __call__(self):
        self.ran += 1
        outcome = next(self.outcomes)
        facts = {"fact": "yes" if outcome == "y" else "no", "certain": "7"}
        if outcome == "s":
            facts["starved"] = "other work took the cores"
        return facts


def decide(outcomes):
    trials = Trials(outcomes)
    facts = twin.decide(trials, twin.Timed(["fact"], cores_needed=0))
    return facts["fact"], trials.ran, facts


class TrialRule(unittest.TestCase):
    def setUp(self):
        self.saved = twin.CpuWatch.starved
        twin.CpuWatch.starved = lambda self, cores_needed: None  # only the twin's own "starved" counts here

    def tearDown(self):
        twin.CpuWatch.starved = self.saved

    def test_three_trials_in_agreement_decide_and_no_more_run(self):
        self.assertEqual(decide("yyyyyy")[:2], ("yes", 3))

    def test_four_against_one_decide(self):
        self.assertEqual(decide("ynyyy")[:2], ("yes", 5))

    def test_three_against_two_is_inconclusive(self):
        self.assertEqual(decide("ynyny")[:2], ("inconclusive", 5))

    def test_starved_trials_are_set_aside_and_others_run(self):
        value, ran, facts = decide("syyy")
        self.assertEqual((value, ran), ("yes", 4))
        self.assertIn("1 starved: other work took the cores", facts["tally.fact"])

    def test_three_in_agreement_after_two_starved_decide(self):
        self.assertEqual(decide("ssnnnn")[:2], ("no", 5))

    def test_three_against_one_when_the_six_trials_are_spent_is_inconclusive(self):
        self.assertEqual(decide("ssyyny")[:2], ("inconclusive", 6))

    def test_three_starved_first_is_inconclusive_at_once_and_keeps_the_certain_facts(self):
        value, ran, facts = decide("ssssss")
        self.assertEqual((value, ran), ("inconclusive", 3))
        self.assertEqual(facts["certain"], "7")
        self.assertTrue(facts["tally.fact"].startswith("none fresh; 3 starved"))

    def test_a_fresh_trial_among_the_first_three_keeps_the_side_trying(self):
        self.assertEqual(decide("ssnssn")[:2], ("inconclusive", 6))

    def test_a_real_difference_is_decided_every_time(self):
        for _ in range(100):
            self.assertEqual(decide("nnnnnn")[0], "no")


if __name__ == "__main__":
    unittest.main()
