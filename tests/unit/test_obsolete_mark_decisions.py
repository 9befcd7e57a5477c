"""The obsolete mark is decided from what the versions' tags and ECS's descriptions say, with no call:
which versions a cleanup would delete, which revisions stay in use, and which retired version an
earlier release left unmarked."""
from __future__ import annotations

from cutover_steps.config.models import DeployConfig
from cutover_steps.decisions import obsolete_mark
from cutover_steps.decisions.obsolete_mark import BY, SINCE, Versions
from cutover_steps.plan.models import build_plan
from tests.unit.configs import raw_config

ACCOUNT = "arn:aws:ecs:us-east-1:123456789012"


def plan_of(version: str = "3"):
    return build_plan(action="release", env="demo", version=version, image=f"web:{version}", environment={},
                      config=DeployConfig.model_validate(raw_config()), release_id=f"r-{version}")


def service_arn(name: str, cluster: str = "demo") -> str:
    return f"{ACCOUNT}:service/{cluster}/{name}"


def group_arn(name: str) -> str:
    return f"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/{name}/0123456789abcdef"


def version_tags(version: str, **extra: str) -> dict[str, str]:
    return {**{k: v for k, v in plan_of(version).tags().items() if k != "cutover:release"}, **extra}


def described(name: str, tags: dict[str, str], *, desired: int = 0, status: str = "ACTIVE",
              groups: tuple[str, ...] = ()) -> dict:
    return {"serviceName": name, "serviceArn": service_arn(name), "status": status, "desiredCount": desired,
            "taskDefinition": f"arn:td/{name}:1", "tags": [{"key": k, "value": v} for k, v in tags.items()],
            "loadBalancers": [{"targetGroupArn": arn} for arn in groups]}


def test_the_obsolete_versions_are_those_ecs_confirms_marked_and_ours_oldest_first_with_their_marked_groups():
    plan = plan_of()
    # Given version 1 marked last, version 2 marked first (its group marked too), a version marked but
    # already deleted, and another team's marked service in the same cluster
    v1 = version_tags("1", **{SINCE: "2026-11-20T00:00:00Z", BY: "demo/2"})
    v2 = version_tags("2", **{SINCE: "2026-11-10T00:00:00Z", BY: "demo/1"})
    marked_group, unmarked_group = group_arn("demo-web-2"), group_arn("demo-web-2-api")
    found = Versions(
        tags={marked_group: {**v2}, unmarked_group: version_tags("2")},
        described={
            "web-1": described("web-1", v1),
            "web-2": described("web-2", v2, groups=(marked_group, unmarked_group)),
            "web-0": described("web-0", version_tags("0", **{SINCE: "2026-11-01T00:00:00Z"}), status="INACTIVE"),
            "pay-1": described("pay-1", {"cutover:env": "demo", "cutover:service": "pay", SINCE: "2026-11-01T00:00:00Z"}),
        })
    # When the obsolete versions are decided
    versions = obsolete_mark.obsolete_versions(plan, found)
    # Then the cleanup would delete web-2 then web-1, web-2 with only its marked target group
    assert [(v["ecs_service"], v["version"], v["by"]) for v in versions] == [("web-2", "2", "demo/1"), ("web-1", "1", "demo/2")]
    assert versions[0]["target_groups"] == [marked_group]


def test_a_revision_still_run_by_a_version_that_stays_is_in_use_and_one_of_a_leaving_version_is_not():
    found = Versions(described={"web-1": described("web-1", {}), "web-3": described("web-3", {}, desired=2),
                                "web-0": described("web-0", {}, status="INACTIVE")})
    assert obsolete_mark.revisions_in_use(found, leaving={"web-1"}) == {"arn:td/web-3:1"}


def test_a_version_an_earlier_release_retired_but_left_unmarked_is_found_and_confirmed_at_zero():
    plan = plan_of()
    # Given the query's tags: version 1 unmarked, version 2 retired now, version 4 marked, the version
    # released, and a service of the same name in another cluster
    found = Versions(tags={
        service_arn("web-1"): version_tags("1"), service_arn("web-2"): version_tags("2"),
        service_arn("web-4"): version_tags("4", **{SINCE: "2026-11-01T00:00:00Z"}), service_arn("web-3"): version_tags("3"),
        service_arn("web-5", cluster="other"): version_tags("5"),
    })
    # When the candidates are picked, then only version 1 is one (ECS is asked about it alone)
    assert obsolete_mark.unmarked(plan, {"web-2"}, found) == {"web-1": service_arn("web-1")}
    # And ECS's answer decides: at zero and ours, it is marked; still running, or gone, it is not
    assert obsolete_mark.left_unmarked(plan, {"web-1": described("web-1", version_tags("1"))}) == ["web-1"]
    assert obsolete_mark.left_unmarked(plan, {"web-1": described("web-1", version_tags("1"), desired=2)}) == []
    assert obsolete_mark.left_unmarked(plan, {"web-1": described("web-1", version_tags("1"), status="INACTIVE")}) == []
