"""CleanUp and RecordRelease decide without AWS, on what their reads found: which obsolete versions
are deleted and kept, which retired versions are marked, and what the release record would say."""
from __future__ import annotations

from datetime import datetime, timezone

from cutover_steps.config.models import DeployConfig
from cutover_steps.decisions.obsolete_mark import BY, SINCE, Versions
from cutover_steps.plan.models import build_plan
from cutover_steps.runtime.step import StepEvent
from cutover_steps.steps import clean_up, obsolete, record_release
from tests.unit.configs import raw_config

ACCOUNT = "arn:aws:ecs:us-east-1:123456789012"
NOW = "2026-12-01T10:00:00.000000Z"


def plan_of(version: str = "3", **release: object):
    raw = raw_config()
    raw.setdefault("release", {}).update(release)
    return build_plan(action="release", env="demo", version=version, image=f"web:{version}", environment={},
                      config=DeployConfig.model_validate(raw), release_id=f"r-{version}")


def event_of(plan, results: dict | None = None) -> StepEvent:
    return StepEvent(raw={"plan": plan.model_dump(mode="json")}, results=results or {},
                     release={"execution_id": "arn:aws:states:us-east-1:123456789012:execution:release:r-3"})


def service_arn(name: str) -> str:
    return f"{ACCOUNT}:service/demo/{name}"


def group_arn(name: str) -> str:
    return f"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/{name}/0123456789abcdef"


def version_tags(version: str, **extra: str) -> dict[str, str]:
    return {**{k: v for k, v in plan_of(version).tags().items() if k != "cutover:release"}, **extra}


def described(name: str, tags: dict[str, str], *, desired: int = 0, groups: tuple[str, ...] = ()) -> dict:
    return {"serviceName": name, "serviceArn": service_arn(name), "status": "ACTIVE", "desiredCount": desired,
            "taskDefinition": f"arn:td/{name}:1", "tags": [{"key": k, "value": v} for k, v in tags.items()],
            "loadBalancers": [{"targetGroupArn": arn} for arn in groups]}


def marked(version: str, since: str, by: str) -> dict[str, str]:
    return version_tags(version, **{SINCE: since, BY: by})


RETIRED_NOW = {"retire": {"retired": [{"ecs_service": "web-2", "version": "2", "desired_count_before": 2}]},
               "live": {"old_services": [{"ecs_service": "web-2", "version": "2", "target_groups": [group_arn("demo-web-2")]}]}}


def cleanup_found(described_now: dict[str, dict], tags: dict[str, dict[str, str]], retired: dict | None = None,
                  unmarked: dict | None = None) -> clean_up.Found:
    return clean_up.Found(Versions(tags=tags, described=described_now),
                          obsolete.MarkingFound(retired=retired or {}, unmarked=unmarked or {}, since=NOW))


def test_cleanup_deletes_what_an_earlier_release_marked_and_marks_the_version_retired_now_and_one_left_unmarked():
    plan = plan_of()
    # Given version 1 marked by the release of 2 (its group marked too), version 2 retired by this
    # release and not marked yet, and version 0 retired at zero by an earlier release that could not mark it
    v1 = marked("1", "2026-11-01T00:00:00Z", "demo/2")
    found = cleanup_found(
        described_now={"web-1": described("web-1", v1, groups=(group_arn("demo-web-1"),)),
                       "web-2": described("web-2", version_tags("2"), groups=(group_arn("demo-web-2"),))},
        tags={group_arn("demo-web-1"): v1, service_arn("web-1"): v1, service_arn("web-2"): version_tags("2"),
              service_arn("web-0"): version_tags("0")},
        retired={"web-2": described("web-2", version_tags("2"))},
        unmarked={"web-0": described("web-0", version_tags("0"))})
    # When CleanUp decides
    decided = clean_up.decide(event_of(plan, RETIRED_NOW), found)
    # Then version 1 is deleted, nothing is kept, and its revision is not in use by what stays
    assert [clean_up.brief(v) for v in decided.delete] == [{"ecs_service": "web-1", "version": "1", "obsolete_since": "2026-11-01T00:00:00Z"}]
    assert decided.keep == [] and decided.refusal is None
    assert "arn:td/web-1:1" not in decided.in_use and "arn:td/web-2:1" in decided.in_use
    # And version 2 is marked obsolete by this release, version 0 as one an earlier release left unmarked
    assert decided.retired_marks == {"web-2": {"marked": True, "mark_found": None}}
    assert decided.mark_earlier == ["web-0"]
    assert [(i.action, i.resource, i.name) for i in decided.intents] == [
        ("delete", "version", "web-1"), ("change", "obsolete mark", "web-2"), ("change", "obsolete mark", "web-0")]
    assert decided.marks[0].intent.after == {SINCE: NOW, BY: "demo/3"}
    assert decided.marks[0].target_groups == [group_arn("demo-web-2")]
    # And what the step would report deletes version 1 with its group, its revision deregistered
    expected = clean_up.expect(event_of(plan, RETIRED_NOW), decided)
    assert expected.deleted == [{"ecs_service": "web-1", "version": "1", "obsolete_since": "2026-11-01T00:00:00Z",
                                 "changed": "deleted", "target_groups": ["demo-web-1"],
                                 "task_definition": {"revision": "arn:td/web-1:1", "changed": "deregistered"}}]
    assert [m["changed"] for m in expected.marked] == ["marked obsolete", "marked obsolete"]


def test_cleanup_keeps_the_newest_obsolete_versions_as_configured_and_never_what_this_release_marked():
    plan = plan_of(retired_versions_to_keep=2)
    # Given versions 0 and 1 marked by earlier releases, and version 2 already marked by this one (a re-run)
    tags = {"web-0": marked("0", "2026-10-01T00:00:00Z", "demo/1"), "web-1": marked("1", "2026-11-01T00:00:00Z", "demo/2"),
            "web-2": marked("2", "2026-12-01T00:00:00Z", "demo/3")}
    found = cleanup_found({name: described(name, t) for name, t in tags.items()},
                          {service_arn(name): t for name, t in tags.items()},
                          retired={"web-2": described("web-2", tags["web-2"])})
    # When CleanUp decides
    decided = clean_up.decide(event_of(plan, RETIRED_NOW), found)
    # Then the oldest goes, the next is kept (the version retired now counts toward the two kept)
    assert [v["ecs_service"] for v in decided.delete] == ["web-0"]
    assert [v["ecs_service"] for v in decided.keep] == ["web-1"]
    # And the version retired now is found marked, not marked again
    assert decided.retired_marks == {"web-2": {"marked": False, "mark_found": "already obsolete since 2026-12-01T00:00:00Z"}}
    assert decided.mark_earlier == []


def test_cleanup_of_a_version_whose_revision_a_staying_version_runs_keeps_that_revision():
    plan = plan_of()
    # Given version 1 marked and version 2 (staying, unmarked) running the same revision
    v1 = marked("1", "2026-11-01T00:00:00Z", "demo/2")
    shared = {**described("web-2", version_tags("2"), desired=2), "taskDefinition": "arn:td/web-1:1"}
    found = cleanup_found({"web-1": described("web-1", v1), "web-2": shared},
                          {service_arn("web-1"): v1, service_arn("web-2"): version_tags("2")})
    # When CleanUp decides, then version 1 is deleted and its revision kept for version 2
    decided = clean_up.decide(event_of(plan), found)
    expected = clean_up.expect(event_of(plan), decided)
    assert expected.deleted[0]["task_definition"] == {"revision": "arn:td/web-1:1", "changed": None,
                                                      "found": "still run by a version that stays; kept"}
    # And with nothing retired now, nothing is marked
    assert decided.marks == [] and expected.marked == []


def test_cleanup_does_not_mark_a_retired_version_that_is_gone_or_someone_elses():
    plan = plan_of()
    results = {"retire": {"retired": [{"ecs_service": "web-2", "version": "2"}, {"ecs_service": "web-9", "version": "9"}]}}
    other = {"cutover:env": "demo", "cutover:service": "pay"}
    found = cleanup_found({}, {}, retired={"web-2": None, "web-9": described("web-9", other)})
    decided = clean_up.decide(event_of(plan, results), found)
    assert decided.retired_marks["web-2"] == {"marked": False, "mark_found": "service no longer exists"}
    assert decided.retired_marks["web-9"]["marked"] is False
    assert [i.action for i in decided.intents] == ["keep", "keep"]


def test_the_first_record_names_this_version_and_the_retired_one_a_rollback_brings_back():
    plan = plan_of()
    results = {**RETIRED_NOW, "lock": {"taken_at": "2026-12-01T09:50:00+00:00"}}
    found = record_release.Found(record={}, retired_item=None, at=datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc))
    # When RecordRelease decides on no record yet
    decided = record_release.decide(event_of(plan, results), found)
    # Then it creates the record: version 3 serves, version 2 is what a rollback brings back
    (intent,) = decided.intents
    assert (intent.action, intent.resource, intent.name) == ("create", "release record", "release#demo#web")
    assert intent.after["current"]["version"] == "3" and intent.after["previous"]["version"] == "2"
    assert intent.after["previous"]["desired_count"] == 2
    # And both versions' items are written, the retired one's with a config since its item has none
    assert set(decided.items) == {"version#demo#web#3", "version#demo#web#2"}
    assert "config" in decided.items["version#demo#web#2"]
    # And the release took ten minutes from its lock
    assert decided.release_seconds == 600
    assert record_release.expect(event_of(plan, results), decided).to_json() == {"changed": "nothing -> 3", "previous": "2"}


def test_a_record_that_says_it_all_already_is_kept_and_a_rerun_finds_what_it_retired_in_the_record():
    plan = plan_of()
    at = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
    first = record_release.decide(event_of(plan, RETIRED_NOW), record_release.Found({}, None, at))
    written = dict(first.record.after)
    # Given the record that release wrote, with the retirement's own entry for version 2, and a re-run
    # whose retire step found nothing left to retire
    written["retired"] = {"web-2": {"version": "2", "release": plan.release_id, "desired_count": 2}}
    rerun = {"retire": {"retired": []}, "live": RETIRED_NOW["live"]}
    # When RecordRelease decides again
    decided = record_release.decide(event_of(plan, rerun), record_release.Found(written, {"config": {}}, at))
    # Then version 2 is still what a rollback brings back, and the record needs no write
    assert decided.previous["version"] == "2"
    assert decided.record.action == "keep" and decided.release_seconds is None
    assert record_release.expect(event_of(plan, rerun), decided).to_json() == {
        "changed": None, "found": "record already says 3 serves", "previous": "2"}
