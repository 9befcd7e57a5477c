"""The earlier results as the steps read them: typed by the registry, tolerant of what has not run."""
from __future__ import annotations

import pytest

from cutover_steps import results
from cutover_steps.runtime.earlier_results import EarlierResults


def test_a_result_reads_as_its_step_s_type():
    # Given the results a release has so far, as the state machine passes them
    view = EarlierResults({"live": {"routes": [{"route": "www", "forward": {}}], "old_services": []},
                           "recheck": {"healthy": True, "counts": []},
                           "traffic": {"index": 1, "percent": 50, "written": {"www": {"a": 1}}}})
    # Then each reads as its type, whichever state of the step put it (CheckHealth's re-check as Health)
    assert isinstance(view.live, results.LiveRoutes)
    assert view.live.routes == [{"route": "www", "forward": {}}]
    assert isinstance(view.recheck, results.Health) and view.recheck.healthy
    assert (view.traffic.percent, view.traffic.written) == (50, {"www": {"a": 1}})


def test_a_result_not_there_reads_as_its_type_s_defaults():
    # Given a release before any switch (and one result that is no object at all)
    view = EarlierResults({"health": {"healthy": True}, "approval": "yes"})
    # Then what has not run reads empty, not as an error
    assert view.live.routes == [] and view.live.old_services == []
    assert view.traffic.written == {} and view.retire.retired == []
    assert view.approval == results.ApprovalAnswer()
    # And it is not counted as there, while an empty result counts as none
    assert "health" in view and "live" not in view
    assert "traffic" not in EarlierResults({"traffic": {}})
    # While the answer as it was sent is kept, for the words that quote it
    assert view.as_sent.approval == "yes" and view.as_sent.live is None


def test_a_key_no_step_puts_is_refused_by_name():
    with pytest.raises(AttributeError, match=r"\$\.results\.lives"):
        EarlierResults({}).lives


def test_a_result_replaced_leaves_the_others_and_the_original_as_they_are():
    view = EarlierResults({"traffic": {"index": 0, "written": {}}, "live": {"routes": []}})
    changed = view.replaced(traffic=results.Traffic(index=0, written={"www": {"b": 1}}))
    assert changed.traffic.written == {"www": {"b": 1}} and view.traffic.written == {}
    assert changed.live == view.live
