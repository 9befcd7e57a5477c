"""The release record's pure decision: what it says serves, what a rollback brings back, what is kept."""
from __future__ import annotations

import json

from cutover_steps.decisions.record import record_update
from tests.unit.test_decisions import plan_of

NOW = "2026-11-27T12:00:00+00:00"
V2 = {"version": "2", "ecs_service": "web-2", "desired_count": 2, "target_groups": {"www": "demo-web-2"}}


def test_the_first_record_says_what_serves_and_what_a_rollback_brings_back():
    plan = plan_of("3", keep=2)
    intent = record_update(plan, {}, V2, {"web-2"}, "release-3", NOW)
    assert intent.action == "create" and intent.why == "nothing -> 3"
    after = intent.after
    assert after["current"]["version"] == "3" and after["current"]["release"] == "release-3"
    assert after["previous"] == V2 and after["kept"] == {"2": {**V2, "retired_at": NOW}}


def test_a_record_that_says_it_all_already_is_kept_without_a_write():
    plan = plan_of("3", keep=2)
    written = record_update(plan, {}, V2, {"web-2"}, "release-3", NOW).after
    again = record_update(plan, written, V2, {"web-2"}, "release-3", "2026-11-27T12:05:00+00:00")
    assert again.action == "keep" and again.why == "record already says 3 serves"


def test_only_the_newest_retired_versions_are_kept_and_never_the_one_serving():
    plan = plan_of("3", keep=1)
    record = {"kept": {"1": {"version": "1", "retired_at": "2026-11-01T00:00:00+00:00"},
                       "3": {"version": "3", "retired_at": "2026-11-02T00:00:00+00:00"}}}
    after = record_update(plan, record, V2, {"web-2"}, "release-3", NOW).after
    assert list(after["kept"]) == ["2"]


def test_a_record_that_names_another_version_is_changed_to_this_one():
    record = {"current": {"version": "2", "ecs_service": "web-2"}}
    intent = record_update(plan_of("3"), record, V2, {"web-2"}, "release-3", NOW)
    assert (intent.action, intent.before, intent.why) == ("change", "2", "2 -> 3")


def test_only_this_releases_retired_entries_stay_in_the_record():
    plan = plan_of("3")
    record = {"retired": {"web-1": {"version": "1"}, "web-2": {"version": "2"}}}
    after = record_update(plan, record, V2, {"web-2"}, "release-3", NOW).after
    assert after["retired"] == {"web-2": {"version": "2"}}


def test_the_record_names_versions_only_so_it_stays_small_however_many_are_kept():
    # Given a record of an older Cutover keeping 20 versions, each with a 60 KB config inline
    plan = plan_of("22", keep=20)
    big = {"blob": "x" * 60_000}
    record = {"kept": {str(v): {"version": str(v), "config": big, "autoscaling": {"min": 1, "max": 2},
                                "retired_at": f"2026-11-{v:02d}T00:00:00+00:00"} for v in range(1, 21)},
              "current": {"version": "21", "ecs_service": "web-21", "config": big}}
    previous = {"version": "21", "ecs_service": "web-21", "desired_count": 2, "target_groups": {"www": "demo-web-21"}}

    # When the release of 22 is recorded
    after = record_update(plan, record, previous, {"web-21"}, "release-22", NOW).after

    # Then it names 20 kept versions with no config or autoscaling inline: a few KB, far below 400 KB
    assert len(after["kept"]) == 20 and all("config" not in e and "autoscaling" not in e for e in after["kept"].values())
    assert "config" not in after["current"]
    assert len(json.dumps(after)) < 20_000
