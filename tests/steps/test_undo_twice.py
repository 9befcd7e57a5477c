"""The undo steps against moto, run twice: the first undoes, the second finds it undone and changes nothing."""
from __future__ import annotations

import pytest

from tests.conftest import wait_until_serving
from tests.steps.test_steps_twice import Stepper, prepared

OBSOLETE_TAG = "cutover:obsolete-since"
FAILURE = {"Error": "VerificationFailed", "Cause": "contract tests failed"}


@pytest.fixture
def stepper(demo) -> Stepper:
    return Stepper(demo)


def service_state(demo, name: str) -> tuple[int, bool, bool]:
    found = demo.service(name)
    tags = {t["key"] for t in found.get("tags") or []}
    # Autoscaling acts unless the scalable target is gone or parked (0..0, scaling suspended).
    target = demo.scalable_target(name)
    return found["desiredCount"], target is not None and target["MaxCapacity"] > 0, OBSOLETE_TAG in tags


def test_tear_down_twice_undoes_the_prepared_version_once(stepper, demo):
    # Given v2 prepared beside v1: on the preparing rule, scaled up, with its scalable target
    prepared(stepper)
    assert demo.forward(demo.preparing_rule) == {"demo-web-2": 1}

    # When the teardown runs, then runs again (a retried undo)
    first = stepper.run("TearDownPrepared", "undo", failure=FAILURE)["undone"]
    after_first = (demo.forward(demo.preparing_rule), service_state(demo, "web-2"), demo.target_group_names())
    again = stepper.run("TearDownPrepared", "undo", failure=FAILURE)["undone"]

    # Then the first put the preparing rule back, scaled v2 to zero and marked it obsolete
    assert first["preparing_rules"][0]["changed"] == "preparing rule put back"
    assert first["service"]["changed"] == "scalable target parked at 0..0, scaling suspended; desired count 2 -> 0"
    assert first["obsolete"]["changed"] == "marked obsolete"
    assert after_first[:2] == ({"demo-web-1": 1}, (0, False, True))
    # and the second found each of those done and changed nothing
    assert again["preparing_rules"][0] == {"route": "www", "changed": None,
                                           "found": "preparing rule does not forward to the new version"}
    assert again["service"]["changed"] is None and again["service"]["found"] == "already at zero, its scaling parked"
    assert again["obsolete"]["changed"] is None and again["obsolete"]["found"].startswith("already obsolete since")
    assert (demo.forward(demo.preparing_rule), service_state(demo, "web-2"), demo.target_group_names()) == after_first


def test_traffic_rollback_twice_brings_the_old_version_back_once(stepper, demo):
    # Given v2 switched to 100 % and v1 retired (at zero, its scalable target parked and remembered)
    prepared(stepper)
    for key, name in (("ReadLiveRoutes", "live"), ("ShiftTraffic", "traffic"), ("ShiftTraffic", "traffic"),
                      ("RetireOldVersion", "retire")):
        stepper.run(key, name)
    assert demo.forward(demo.public_rule) == {"demo-web-2": 1} and service_state(demo, "web-1")[:2] == (0, False)

    # When the rollback's first phase runs twice: v1 back to its count and autoscaling, once
    restored = stepper.run("RollBackTraffic", "rollback", failure=FAILURE, phase="restore")
    restored_again = stepper.run("RollBackTraffic", "rollback", failure=FAILURE, phase="restore")
    assert restored["old_services"][0]["changed"] == "desired count 0 -> 2; autoscaling restored"
    assert restored_again["old_services"][0]["changed"] is None
    assert service_state(demo, "web-1")[:2] == (2, True)

    # And, once v1 is healthy again (the state machine waits for that), when the second phase runs
    # twice: the public rule back on v1 and v2 torn down, once
    wait_until_serving(demo)
    phase = {"failure": FAILURE, "phase": "traffic", "rollback": {"old_services": restored["old_services"]}}
    moved = stepper.run("RollBackTraffic", "undo", **phase)["undone"]
    moved_again = stepper.run("RollBackTraffic", "undo", **phase)["undone"]
    assert moved["rules"][0]["changed"] == "back on the old version"
    assert moved_again["rules"][0] == {"route": "www", "changed": None, "found": "already on the old version"}
    assert moved_again["new_version"]["service"]["changed"] is None
    assert demo.forward(demo.public_rule) == {"demo-web-1": 1}
    assert service_state(demo, "web-2") == (0, False, True)


def test_traffic_rollback_puts_back_the_policies_of_an_old_version_whose_scalable_target_is_gone(stepper, demo):
    # Given v2 switched to 100 % and v1 retired, then v1's scalable target deregistered (as a Cutover
    # that still deregistered on retirement left it): its target-tracking policy is only in the record
    prepared(stepper)
    for key, name in (("ReadLiveRoutes", "live"), ("ShiftTraffic", "traffic"), ("ShiftTraffic", "traffic"),
                      ("RetireOldVersion", "retire")):
        stepper.run(key, name)
    aas = demo.client("application-autoscaling")
    aas.deregister_scalable_target(ServiceNamespace="ecs", ResourceId="service/demo/web-1",
                                   ScalableDimension="ecs:service:DesiredCount")

    # When the rollback brings v1 back
    restored = stepper.run("RollBackTraffic", "rollback", failure=FAILURE, phase="restore")

    # Then v1 autoscales again, with its bounds and its policy as they were before retirement
    assert restored["old_services"][0]["changed"] == "desired count 0 -> 2; autoscaling restored"
    target = demo.scalable_target("web-1")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 6)
    policies = aas.describe_scaling_policies(ServiceNamespace="ecs", ResourceId="service/demo/web-1")["ScalingPolicies"]
    assert [(p["PolicyName"], p["PolicyType"]) for p in policies] == [("cpu", "TargetTrackingScaling")]
