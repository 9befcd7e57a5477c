"""The traffic shift's pure decisions: the weights of each step, and a rule someone else changed."""
from __future__ import annotations

import pytest

from cutover_steps.errors import RuleDrifted
from cutover_steps.decisions.traffic import weight_change

ROUTE = {"route": "www", "rule": "rule-arn", "new": "new", "old": ["old"], "forward": {"old": 1}}


def test_the_first_step_moves_the_rule_from_what_was_read_to_its_share():
    intent = weight_change(ROUTE, {"old": 1}, 25, {})
    assert (intent.action, intent.before, intent.after) == ("change", {"old": 1}, {"new": 250, "old": 750})


def test_a_step_the_rule_already_holds_is_kept_without_a_write():
    written = {"written": {"www": {"new": 500, "old": 500}}}
    intent = weight_change(ROUTE, {"new": 5, "old": 5}, 50, written)
    assert intent.action == "keep" and not intent.acts


def test_the_next_step_starts_from_what_the_last_one_wrote():
    written = {"written": {"www": {"new": 500, "old": 500}}}
    intent = weight_change(ROUTE, {"new": 500, "old": 500}, 100, written)
    assert (intent.action, intent.after) == ("change", {"new": 1})


def test_a_rule_someone_else_changed_is_refused_naming_the_route():
    written = {"written": {"www": {"new": 500, "old": 500}}}
    with pytest.raises(RuleDrifted, match="route www was changed outside this release"):
        weight_change(ROUTE, {"old": 1}, 100, written)


def test_old_groups_keep_their_shares_until_the_last_step():
    route = {**ROUTE, "old": ["a", "b"], "forward": {"a": 3, "b": 1}}
    assert weight_change(route, {"a": 3, "b": 1}, 20, {}).after == {"new": 200, "a": 600, "b": 200}
