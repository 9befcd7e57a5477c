"""Touch only what this release owns: names that never collide, ownership by tags, checked against
a snapshot of the whole emulated account before and after."""
from __future__ import annotations

from cutover.local import faults, snapshot
from release import naming
from release.errors import ReleaseError
from tests.e2e.safety_fixtures import config_with, entered, finish, lock_item, start

V1 = ("demo", "web", "1")


class Broken(ReleaseError):
    """A step failure made on purpose."""


def test_a_failed_release_of_1_2_hyphenated_leaves_version_1_dot_2_alone(demo):
    # Given version 1.2 released over 1, so 1 is retired and 1.2 serves
    assert demo.release("1.2", config=config_with(demo))["status"] == "SUCCEEDED"
    before = snapshot.take(demo.client)
    # When 1-2 (whose readable name is 1.2's) fails after its target group exists, with delete on failure
    config = config_with(demo, on_prepare_failure="delete")
    with faults.refuse("RegisterTaskDefinition", Broken("registry unreachable")):
        result = finish(demo, start(demo, "1-2", config))
    # Then it failed and undid only its own work
    assert result["status"] == "FAILED" and result["error"] == "Broken", result.get("cause")
    after = snapshot.take(demo.client)
    assert snapshot.changes_outside(before, after, [("demo", "web", "1-2")], rules=[demo.preparing_rule]) == []
    # 1.2 still serves behind the public rule, with its own target group and service
    assert demo.forward(demo.public_rule) == {naming.target_group_name("demo", "web", "1.2"): 1}
    assert demo.service(naming.service_name("web", "1.2"))["desiredCount"] == 2
    # and 1-2's own target group, which it created, is gone
    assert naming.target_group_name("demo", "web", "1-2") not in demo.target_group_names()
    assert lock_item(demo) is None


def test_a_name_someone_else_holds_is_refused_before_the_lock(demo):
    # Given a target group with the name version 7 would use, made by hand without Cutover's tags
    demo.client("elbv2").create_target_group(Name="demo-web-7", Protocol="HTTP", Port=8080,
                                             VpcId=demo.env.values["VPC"], TargetType="ip")
    before = snapshot.take(demo.client)
    # When version 7 is released
    arn = start(demo, "7", config_with(demo))
    result = finish(demo, arn)
    # Then it is refused as bad input, naming the owner, before the lock was ever taken
    assert result["status"] == "FAILED" and result["error"] == "InvalidReleaseInput"
    assert "target group demo-web-7 is taken by something not made by Cutover" in result["cause"]
    assert "Lock the service" not in entered(demo, arn)
    # and nothing in the account changed
    assert snapshot.diff(before, snapshot.take(demo.client)) == []
