"""Elastic Load Balancing v2: target groups, their tags, and listener rules' forward actions."""
from __future__ import annotations

from typing import Any, Iterable

from botocore.exceptions import ClientError

from cutover_steps.adapters.clients import client
from cutover_steps.decisions.traffic import normalized  # noqa: F401 (callers' name)
from cutover_steps.plan.naming import target_group_name_of as name_of  # noqa: F401 (callers' name)
from cutover_steps.errors import InvalidReleaseInput

TAG_BATCH = 20  # DescribeTags takes at most 20 resource ARNs


def target_group_by_name(name: str) -> dict[str, Any] | None:
    try:
        groups = client("elbv2").describe_target_groups(Names=[name])["TargetGroups"]
    except ClientError as error:
        if error.response["Error"]["Code"] in ("TargetGroupNotFound", "TargetGroupNotFoundException"):
            return None
        raise
    return groups[0] if groups else None


def target_groups(arns: list[str]) -> list[dict[str, Any]]:
    """The target groups of these ARNs (none for an empty list, which AWS would read as "all")."""
    return client("elbv2").describe_target_groups(TargetGroupArns=arns)["TargetGroups"] if arns else []


def create_target_group(request: dict[str, Any]) -> dict[str, Any]:
    return client("elbv2").create_target_group(**request)["TargetGroups"][0]


def delete_target_group(arn: str) -> None:
    client("elbv2").delete_target_group(TargetGroupArn=arn)


def tags_of(arns: Iterable[str]) -> dict[str, dict[str, str]]:
    """Tags of many resources, 20 ARNs per call."""
    arns = list(dict.fromkeys(arns))
    found: dict[str, dict[str, str]] = {}
    for start in range(0, len(arns), TAG_BATCH):
        batch = arns[start : start + TAG_BATCH]
        for description in client("elbv2").describe_tags(ResourceArns=batch)["TagDescriptions"]:
            found[description["ResourceArn"]] = {t["Key"]: t["Value"] for t in description.get("Tags", [])}
    return found


def add_tags(arn: str, tags: dict[str, str]) -> None:
    client("elbv2").add_tags(ResourceArns=[arn], Tags=[{"Key": k, "Value": v} for k, v in tags.items()])


def remove_tags(arn: str, keys: list[str]) -> None:
    client("elbv2").remove_tags(ResourceArns=[arn], TagKeys=keys)


def rule(rule_arn: str, field: str = "rule") -> dict[str, Any]:
    try:
        return client("elbv2").describe_rules(RuleArns=[rule_arn])["Rules"][0]
    except ClientError as error:
        if error.response["Error"]["Code"] in ("RuleNotFound", "RuleNotFoundException"):
            raise InvalidReleaseInput(f"{field}: listener rule {rule_arn} does not exist") from error
        raise


def rules(rule_arns: dict[str, str]) -> dict[str, dict[str, Any]]:
    """{field: description} of every rule named by a config field, in one DescribeRules call (it takes
    any rules, of any listener); when one does not exist, the rule-by-rule reads name its field."""
    try:
        found = client("elbv2").describe_rules(RuleArns=sorted(set(rule_arns.values())))["Rules"]
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("RuleNotFound", "RuleNotFoundException"):
            raise
        return {field: rule(arn, field) for field, arn in rule_arns.items()}
    by_arn = {r["RuleArn"]: r for r in found}
    return {field: by_arn[arn] for field, arn in rule_arns.items()}


def set_forward(rule_arn: str, rule_description: dict[str, Any], weights: dict[str, int]) -> None:
    """Replace only the forward action; ModifyRule replaces the whole action list, so keep the rest."""
    forward = {
        "Type": "forward",
        "ForwardConfig": {
            "TargetGroups": [{"TargetGroupArn": arn, "Weight": weight} for arn, weight in weights.items()]
        },
    }
    actions = []
    for action in rule_description.get("Actions", []):
        if action.get("Type") == "forward":
            forward["Order"] = action.get("Order", len(actions) + 1)
            # Stickiness between the rule's target groups is someone's setting: keep it.
            stickiness = (action.get("ForwardConfig") or {}).get("TargetGroupStickinessConfig")
            if stickiness:
                forward["ForwardConfig"]["TargetGroupStickinessConfig"] = stickiness
            actions.append(forward)
        else:
            actions.append({k: v for k, v in action.items() if v is not None})
    if not any(a["Type"] == "forward" for a in actions):
        forward["Order"] = len(actions) + 1
        actions.append(forward)
    client("elbv2").modify_rule(RuleArn=rule_arn, Actions=actions)


def healthy_count(target_group_arn: str) -> tuple[int, int]:
    """(healthy targets, registered targets) of one target group."""
    states = [
        d["TargetHealth"]["State"]
        for d in client("elbv2").describe_target_health(TargetGroupArn=target_group_arn)["TargetHealthDescriptions"]
    ]
    return sum(1 for s in states if s == "healthy"), len(states)
