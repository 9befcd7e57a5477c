"""The bench's report and accounting, from tiny made-up inputs: no engine, no timing."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bench import counting, floor, release_costs, report, steady_state
from cutover.operations import executions as operations

MACHINE = {"nproc": 2, "cpu": "Test CPU", "python": "3.11.0", "moto": "5.2.5", "boto3": "1.44.5",
           "load_average": [0.5, 0.4, 0.3], "date": "2026-01-01"}
RELEASE = {
    "scenario": "one route", "routes": 1, "traffic_steps": [50, 100], "state_transitions": 35,
    "cost_usd": 0.000875, "cost_usd_per_1000_releases": 0.88, "lambda_invocations": 3, "api_calls": 4,
    "api_calls_floor": 3, "api_calls_floor_by_step": {"ShiftTraffic": 2, "CleanUp": 1},
    "api_calls_by_operation": {"elbv2:DescribeRules": 3, "ecs:ListServices": 1},
    "steps": {"ShiftTraffic": {"invocations": 2, "handler_ms": 20.0, "api_calls": 3, "calls": {"elbv2:DescribeRules": 3}},
              "CleanUp": {"invocations": 1, "handler_ms": 5.0, "api_calls": 1, "calls": {"ecs:ListServices": 1}}},
    "time": {"total_s": 5.2, "health_polls_s": 1.0, "traffic_holds_s": 1.0, "other_waits_s": 0.0,
             "approval_wait_s": 0.5, "overhead_s": 2.7, "handlers_s": 0.025},
    "uncounted_clients": [],
}
CLEANUP = {"services": 1000, "setup_s": 16.4, "cleanup_s": 3.6, "api_calls": 5, "discovery_calls": 2, "discovery_target": 5,
           "api_calls_by_operation": {"resourcegroupstaggingapi:GetResources": 1, "ecs:DescribeServices": 1,
                                      "elbv2:DescribeTargetGroups": 1, "ecs:DeleteService": 1, "elbv2:DeleteTargetGroup": 1},
           "deleted": ["1"]}
COLD = {"asset": {"files": 3, "bytes": 1000, "zipped_bytes": 400, "bytecode": True},
        "layer": {"files": 40, "bytes": 9000, "zipped_bytes": 3000, "bytecode": True}, "repeats": 3,
        "baseline": "boto3_only", "target_ratio": 1.5,
        "imports": {"boto3_only": {"cpu_median_ms": 300.0, "median_ms": 310.0, "min_ms": 290.0, "max_ms": 330.0},
                    "cutover_steps.steps.load_release": {"cpu_median_ms": 480.0, "median_ms": 490.0, "min_ms": 470.0, "max_ms": 720.0},
                    "cutover_steps.steps.lock_service": {"cpu_median_ms": 330.0, "median_ms": 340.0, "min_ms": 320.0, "max_ms": 350.0}},
        "handlers": {"LoadRelease": "cutover_steps.steps.load_release", "LockService": "cutover_steps.steps.lock_service"},
        "ratios": {"LoadRelease": 1.6, "LockService": 1.1},
        "traced": {"module": "cutover_steps.steps.load_release", "cpu_median_ms": 750.0, "median_ms": 760.0, "min_ms": 740.0,
                   "max_ms": 790.0},
        "layer_sources_only": {"module": "cutover_steps.steps.load_release", "cpu_median_ms": 540.0, "median_ms": 550.0,
                               "min_ms": 530.0, "max_ms": 560.0},
        "profile": {"module": "cutover_steps.steps.load_release", "self_ms_by_package": {"pydantic": 80.0, "everything else": 20.0}}}


def tables_of(markdown: str) -> list[list[str]]:
    tables, current = [], []
    for line in markdown.splitlines() + [""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    return tables


def test_every_table_of_the_report_is_well_formed():
    # Given results of every part; When they are rendered
    markdown = report.render({"machine": MACHINE, "releases": [RELEASE], "cleanup": [CLEANUP], "cold_start": COLD})

    # Then each table has a header, a separator and rows, all with the same number of columns
    tables = tables_of(markdown)
    assert len(tables) == 8
    for lines in tables:
        widths = {line.count("|") for line in lines}
        assert len(widths) == 1, lines
        assert set(lines[1]) <= set("|-:")
        assert len(lines) >= 3
    assert "2 CPUs (Test CPU), Python 3.11.0, moto 5.2.5" in markdown


def test_cleanup_table_shows_the_calls_that_find_what_to_delete_beside_their_target():
    markdown = report.cleanup_table([CLEANUP])
    header, _, row = markdown.splitlines()[:3]
    # 5 calls, of which 2 find the version to delete (the target is at most 5)
    assert "finding what to delete (target ≤ 5)" in header
    assert row.startswith("| 1,000 | 3.60 | 5 |") and row.endswith("| 2 | 16.4 |")


def test_a_report_of_one_part_leaves_the_others_out():
    markdown = report.render({"machine": MACHINE, "cleanup": [CLEANUP]})
    assert "## CleanUp at scale" in markdown and "## Cold start" not in markdown and "## One release" not in markdown


def _event(kind: str, at: float, name: str | None = None) -> dict:
    event = {"type": kind, "timestamp": datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=at)}
    if name and kind.endswith("StateEntered"):
        event["stateEnteredEventDetails"] = {"name": name}
    return event


def test_time_split_takes_waits_and_the_approval_out_of_the_overhead():
    events = [
        _event("ExecutionStarted", 0),
        _event("WaitStateEntered", 1, "Wait before checking health again"), _event("WaitStateExited", 2),
        _event("TaskStateEntered", 2, operations.APPROVAL_STATE),
        _event("TaskSubmitted", 2.5), _event("TaskSucceeded", 6.5),
        _event("WaitStateEntered", 7, "Hold traffic"), _event("WaitStateExited", 9),
        _event("SucceedStateEntered", 9.5, "The release succeeded"), _event("ExecutionSucceeded", 10),
    ]
    split = release_costs.time_split(events)
    assert split["total_s"] == 10 and split["approval_wait_s"] == 4
    assert split["health_polls_s"] == 1 and split["traffic_holds_s"] == 2 and split["overhead_s"] == 3
    assert release_costs.transitions(events) == 4


def test_cold_start_table_shows_each_handler_against_the_boto3_only_handler_and_the_target():
    # Given a handler at 1.6x and one at 1.1x a boto3-only handler
    lines = report.cold_imports(COLD).splitlines()

    # Then the header names the target, each handler says whether it meets it, and the baseline comes first
    assert lines[0].endswith("| × boto3 only (CPU) | ≤ 1.5× |")
    assert lines[2].startswith("| (boto3 only) | boto3_only | 300 |")
    assert lines[3].startswith("| LoadRelease |") and lines[3].endswith("| 1.60 | NO |")
    assert lines[4].startswith("| LockService |") and lines[4].endswith("| 1.10 | yes |")
    assert lines[5].endswith("| 2.50 | (opt-in) |")
    # And what the PyYAML layer's bytecode saves is shown beside it
    assert "with the PyYAML layer without bytecode" in lines[6] and lines[6].endswith("| 1.80 | (before) |")


def test_the_code_table_shows_the_asset_and_the_layer_and_whether_each_ships_bytecode():
    _, _, asset, layer = report.cold_asset(COLD).splitlines()
    assert asset == "| code asset: the cutover_steps package, with hash-checked bytecode | 3 | 1,000 | 400 |"
    assert layer.startswith("| package layer: PyYAML, with hash-checked bytecode | 40 |")


def test_every_service_the_registry_grants_gets_a_counted_client():
    names = counting.handler_client_names()
    assert {"ecs", "elbv2", "dynamodb", "application-autoscaling"} <= set(names)
    assert "iam" not in names


def test_release_calls_are_shown_beside_their_floor_and_the_target():
    # Given a release of 4 calls whose floor is 3 (1.33x, above the 1.3x target)
    header, _, row = report.release_floor([RELEASE]).splitlines()
    assert header == "| release | AWS API calls | floor | × floor | ≤ 1.3× |"
    assert row == "| one route | 4 | 3 | 1.33 | NO |"
    # And each step shows its invocations, calls and floor
    assert "| ShiftTraffic | 2 / 3 / 2 |" in report.release_steps([RELEASE])


def test_the_floor_grows_with_routes_traffic_steps_holds_and_polls_only():
    config = {"routes": [{"name": "a"}], "service_settings": {"autoscaling": {"policies": [{"name": "cpu"}]}},
              "release": {"traffic_steps": [{"percent": 50, "hold_seconds": 60}, {"percent": 100, "hold_seconds": 0}],
                          "alarm_names": ["5xx"], "alarm_check_seconds": 10}}
    polls = {"CheckHealth": {"invocations": 2, "calls": {"elbv2:DescribeTargetHealth": 3}}}
    one = floor.per_step(floor.release_of(config, polls, old_autoscaling=True))
    # 60 s watched every 10 s: six looks (the one before the switch is ReadLiveRoutes'); a zero-length hold needs none
    assert one["WatchAlarms"] == 6 and one["ReadLiveRoutes"] == 3
    assert one["CheckHealth"] == 3 and one["ShiftTraffic"] == 2 and one["CreateService"] == 3
    assert one["RetireOldVersion"] == 7
    two_routes = {"CheckHealth": {"invocations": 2, "calls": {"elbv2:DescribeTargetHealth": 6}}}
    two = floor.per_step(floor.release_of({**config, "routes": [{"name": "a"}, {"name": "b"}]}, two_routes,
                                          old_autoscaling=True))
    # A second route adds its own creates, rule changes and health reads; batched reads stay one call
    assert sum(two.values()) - sum(one.values()) == 1 + 1 + 3 + 2
    assert two["LoadRelease"] == one["LoadRelease"] and two["ReadLiveRoutes"] == one["ReadLiveRoutes"]


def test_deleting_a_version_raises_the_cleanup_floor_by_what_deletion_must_call():
    config = {"routes": [{"name": "a"}], "service_settings": {}, "release": {"traffic_steps": []}}
    steps = {"CheckHealth": {"calls": {"elbv2:DescribeTargetHealth": 1}}}
    nothing = floor.per_step(floor.release_of(config, steps, old_autoscaling=False))["CleanUp"]
    one = floor.per_step(floor.release_of(config, steps, old_autoscaling=False, deleted_versions=1, service_versions=3))["CleanUp"]
    # One DescribeServices of the service's versions, one DescribeTargetGroups, then DescribeTaskDefinition,
    # DeregisterTaskDefinition, DeleteService and one DeleteTargetGroup per route
    assert one - nothing == 1 + 1 + 2 + 1 + 1
    kept = floor.per_step(floor.release_of({**config, "release": {"traffic_steps": [], "deleted_revisions": "keep"}}, steps,
                                           old_autoscaling=False, deleted_versions=1, service_versions=3))["CleanUp"]
    assert one - kept == 2


def test_the_steady_state_is_shown_beside_its_floor_and_the_target_step_by_step():
    steady = {**RELEASE, "scenario": "steady state, production settings", "time_scale": 10, "revisions_before": 10,
              "deleted": ["web-2"]}
    tables = tables_of(steady_state.render(steady))
    assert tables[0][2] == "| steady state, production settings | 10 | 1 | 4 | 3 | 1.33 | NO |"
    assert "| ShiftTraffic | 3 | 2 | DescribeRules 3 |" in tables[1]

def test_production_releases_are_shown_beside_their_targets_and_a_longer_hold_beside_the_shorter():
    # Given the 60 s hold within the targets and a 10-minute hold that took one more loop
    short = {**RELEASE, "scenario": "production, 60 s hold", "time_scale": 10, "state_transitions": 28, "lambda_invocations": 18}
    long = {**short, "scenario": "production, 10 min hold", "state_transitions": 30, "lambda_invocations": 19}
    header, _, first, second = report.release_targets([RELEASE, short, long]).splitlines()
    # Then only the production releases are listed, each against the targets, the longer hold by what it adds
    assert "| ≤ 30 |" in header and "| ≤ 18 |" in header
    assert first == "| production, 60 s hold | 1/10 | 28 | yes | 18 | yes | 0 | 0 |"
    assert second == "| production, 10 min hold | 1/10 | 30 | yes | 19 | NO | 2 | 1 |"
