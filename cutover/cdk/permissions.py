"""Least privilege for the step functions: which resources each IAM action of a step may act on, and why."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import Aws
from aws_cdk import aws_iam as iam

from cutover.cdk.settings import ReleaseOrchestratorProps
from cutover_steps.decisions.stopping import undo_state_machine_name

UNSCOPED = "unscoped"
# CloudWatch alarm actions that AWS authorizes on `*` for Cutover's uses: DescribeAlarms returns composite
# alarms only to a caller granted it on `*`, and Application Auto Scaling validates its callers' alarm
# permissions without naming an alarm.
EVERY_ALARM = "every_alarm"
# ECS tags services and task definitions through one action: a step may tag only the kinds of ECS
# resource its other calls work on.
TAGGED = "tagged"
# GetMetricData is scoped to CloudWatch datasets; an account has one, `default`.
METRIC_DATA = "metric_data"
_TAGGED_KINDS = {
    "services": ("ecs:CreateService", "ecs:DescribeServices", "ecs:UpdateService", "ecs:DeleteService"),
    "task_definitions": ("ecs:RegisterTaskDefinition",),
}

# Every action a step may declare, and the kind(s) of resource it is granted on. An action missing here
# fails synth on purpose: a new call needs a decision about its resources, not a silent `*`.
SCOPE_OF_ACTION: dict[str, tuple[str, ...]] = {
    "s3:GetObject": ("config_objects",),
    "dynamodb:GetItem": ("table",),
    "dynamodb:PutItem": ("table",),
    "dynamodb:UpdateItem": ("table",),
    "dynamodb:DeleteItem": ("table",),
    "dynamodb:Scan": ("table",),
    "states:DescribeExecution": ("executions",),
    "states:GetExecutionHistory": ("executions",),
    "states:StartExecution": ("undo_state_machine",),
    "sns:Publish": ("topic",),
    "cloudwatch:DescribeAlarms": (EVERY_ALARM,),
    "cloudwatch:PutMetricAlarm": (EVERY_ALARM,),
    "cloudwatch:DeleteAlarms": (EVERY_ALARM,),
    "cloudwatch:GetMetricData": (METRIC_DATA,),
    "iam:CreateServiceLinkedRole": ("autoscaling_service_linked_role",),
    "iam:PassRole": ("task_roles",),
    "ecs:DescribeClusters": ("clusters",),
    "ecs:CreateService": ("services",),
    "ecs:DescribeServices": ("services",),
    "ecs:UpdateService": ("services",),
    "ecs:DeleteService": ("services",),
    "ecs:RegisterTaskDefinition": ("task_definitions",),
    "ecs:DeleteTaskDefinitions": ("task_definitions",),
    "ecs:DeregisterTaskDefinition": (UNSCOPED,),
    "ecs:TagResource": (TAGGED,),
    "ecs:UntagResource": (TAGGED,),
    "ecs:ListServices": (UNSCOPED,),
    "ecs:DescribeTaskDefinition": (UNSCOPED,),
    "elasticloadbalancing:CreateTargetGroup": ("target_groups",),
    "elasticloadbalancing:DeleteTargetGroup": ("target_groups",),
    "elasticloadbalancing:AddTags": ("target_groups",),
    "elasticloadbalancing:RemoveTags": ("target_groups",),
    "elasticloadbalancing:ModifyRule": ("listener_rules",),
    "elasticloadbalancing:DescribeRules": (UNSCOPED,),
    "elasticloadbalancing:DescribeTags": (UNSCOPED,),
    "elasticloadbalancing:DescribeTargetGroups": (UNSCOPED,),
    "elasticloadbalancing:DescribeTargetHealth": (UNSCOPED,),
    "application-autoscaling:RegisterScalableTarget": ("scalable_targets",),
    "application-autoscaling:DeregisterScalableTarget": ("scalable_targets",),
    "application-autoscaling:PutScalingPolicy": ("scalable_targets",),
    "application-autoscaling:DescribeScalableTargets": (UNSCOPED,),
    "application-autoscaling:DescribeScalingPolicies": (UNSCOPED,),
    "tag:GetResources": (UNSCOPED,),
    "lambda:InvokeFunction": ("check_functions",),
}

_TOKEN_NAMES = {Aws.PARTITION: "<AWS::Partition>", Aws.REGION: "<AWS::Region>", Aws.ACCOUNT_ID: "<AWS::AccountId>"}


def arn(service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
    """An ARN in this stack's partition (and region and account unless told otherwise)."""
    return (f"arn:{Aws.PARTITION}:{service}:{Aws.REGION if region else ''}:"
            f"{Aws.ACCOUNT_ID if account else ''}:{resource}")


def nag_form(resource: str) -> str:
    """How cdk-nag names a resource in a finding, so a suppression can name exactly that resource."""
    for token, name in _TOKEN_NAMES.items():
        resource = resource.replace(token, name)
    return f"Resource::{resource}"


@dataclass(frozen=True)
class Grant:
    resources: tuple[str, ...]
    why: str
    """Why the resources are what they are; becomes the cdk-nag reason where they hold a wildcard."""
    conditions: Mapping[str, Any] = field(default_factory=dict)


class ResourceScope:
    """The resources one Cutover deployment may touch, built from its props."""

    def __init__(self, props: ReleaseOrchestratorProps, *, table_arn: str, topic_arn: str,
                 state_machine_name: str) -> None:
        self.grants = _grants(props, table_arn=table_arn, topic_arn=topic_arn,
                              state_machine_name=state_machine_name)

    def statements(self, calls: Iterable[str]) -> list[iam.PolicyStatement]:
        """One statement per kind of resource, granting exactly `calls` and nothing else."""
        calls = set(calls)
        by_scopes: dict[tuple[str, ...], list[str]] = {}
        for action in sorted(calls):
            by_scopes.setdefault(scopes_of(action, calls), []).append(action)
        statements = []
        for scopes, actions in by_scopes.items():
            grants = [self.grants[name] for name in scopes]
            if not any(grant.resources for grant in grants):
                continue  # a setting left empty grants nothing (check_function_arns)
            conditions: dict[str, Any] = {}
            for grant in grants:
                conditions.update(grant.conditions)
            statements.append(iam.PolicyStatement(
                actions=actions,
                resources=list(dict.fromkeys(r for grant in grants for r in grant.resources)),
                conditions=conditions or None,
            ))
        return statements

    def implied(self, calls: Iterable[str]) -> list[iam.PolicyStatement]:
        """What AWS checks besides a step's own calls, for the resources the settings list: decrypting a deploy
        config encrypted with a listed key (s3:GetObject), passing a listed role to ECS (ecs:CreateService)."""
        calls = set(calls)
        statements = []
        for call, action, name in (("s3:GetObject", "kms:Decrypt", "config_keys"),
                                   ("ecs:CreateService", "iam:PassRole", "infrastructure_roles")):
            grant = self.grants[name]
            if call in calls and grant.resources:
                statements.append(iam.PolicyStatement(actions=[action], resources=list(grant.resources),
                                                      conditions=dict(grant.conditions) or None))
        return statements

    def wildcard_reasons(self, calls: Iterable[str]) -> dict[str, str]:
        """cdk-nag finding (`Resource::…`) -> reason, for every wildcard resource `calls` are granted on."""
        calls = set(calls)
        reasons: dict[str, list[str]] = {}
        for action in sorted(calls):
            for name in scopes_of(action, calls):
                grant = self.grants[name]
                for resource in grant.resources:
                    if "*" in resource:
                        why = reasons.setdefault(nag_form(resource), [])
                        if grant.why not in why:
                            why.append(grant.why)
        return {applies_to: " ".join(why) for applies_to, why in reasons.items()}


def scopes_of(action: str, calls: set[str]) -> tuple[str, ...]:
    """The kinds of resource `action` is granted on, for a step making `calls`."""
    if action not in SCOPE_OF_ACTION:
        raise KeyError(f"{action} has no resource scope: add it to SCOPE_OF_ACTION in {__name__}")
    scopes = SCOPE_OF_ACTION[action]
    if scopes == (TAGGED,):
        scopes = tuple(kind for kind, uses in _TAGGED_KINDS.items() if calls & set(uses))
        if not scopes:
            raise ValueError(f"{action} is only granted with a call on what it tags ({', '.join(_TAGGED_KINDS)})")
    return scopes


def _grants(props: ReleaseOrchestratorProps, *, table_arn: str, topic_arn: str,
            state_machine_name: str) -> dict[str, Grant]:
    clusters = props.cluster_names or ("*",)
    cluster_text = ", ".join(props.cluster_names) or "any cluster (set cluster_names to narrow)"
    rules = tuple(props.listener_rule_arns) + tuple(
        listener.replace(":listener/", ":listener-rule/", 1) + "/*" for listener in props.listener_arns)
    return {
        UNSCOPED: Grant(
            ("*",),
            "Describe and List calls of ECS, Elastic Load Balancing and Application Auto Scaling, the Resource "
            "Groups Tagging API's GetResources and ECS DeregisterTaskDefinition do not support resource-level "
            "permissions, so they can only be granted on `*`."),
        "table": Grant((table_arn,), "The release table only."),
        "topic": Grant((topic_arn,), "The notification topic only."),
        "executions": Grant(
            (arn("states", f"execution:{state_machine_name}:*"),
             arn("states", f"execution:{undo_state_machine_name(state_machine_name)}:*")),
            "Executions of the release state machine and of its undo only; execution names are chosen by CI at "
            "run time (an undo is named after the release execution it undoes)."),
        "undo_state_machine": Grant(
            (arn("states", f"stateMachine:{undo_state_machine_name(state_machine_name)}"),),
            "The undo's state machine only: its executions are named after the release executions they undo."),
        EVERY_ALARM: Grant(
            ("*",),
            "cloudwatch:DescribeAlarms returns composite alarms only when granted on `*` (CloudWatch API "
            "reference, DescribeAlarms); Application Auto Scaling checks that its caller may describe, put and "
            "delete alarms for an ECS service's scaling without naming an alarm, and AWS grants these on `*` in "
            "every example (Application Auto Scaling user guide, permissions validation)."),
        METRIC_DATA: Grant(
            (arn("cloudwatch", "dataset/default"),),
            "cloudwatch:GetMetricData is scoped to a CloudWatch dataset (Service Authorization Reference, Amazon "
            "CloudWatch), and every metric is in the account's default dataset; only the function that watches the "
            "holds has it, for the canary judge's reads of each version's metrics (release.analysis)."),
        "autoscaling_service_linked_role": Grant(
            (arn("iam", "role/aws-service-role/ecs.application-autoscaling.amazonaws.com/"
                        "AWSServiceRoleForApplicationAutoScaling_ECSService", region=False),),
            "The first RegisterScalableTarget of an ECS service in an account creates Application Auto Scaling's "
            "service-linked role for ECS; only that role, only for that service.",
            {"StringEquals": {"iam:AWSServiceName": "ecs.application-autoscaling.amazonaws.com"}}),
        "config_objects": Grant(
            tuple(f"arn:{Aws.PARTITION}:s3:::{bucket}/*" for bucket in props.config_bucket_names)
            or (f"arn:{Aws.PARTITION}:s3:::*/*",),
            "Deploy configs are objects whose keys CI chooses per release; scoped to "
            + (f"the config buckets {', '.join(props.config_bucket_names)}." if props.config_bucket_names
               else "buckets of this account (s3:ResourceAccount); set config_bucket_names to narrow."),
            {} if props.config_bucket_names else {"StringEquals": {"s3:ResourceAccount": Aws.ACCOUNT_ID}}),
        "task_roles": Grant(
            tuple(props.task_role_arns) or (arn("iam", "role/*", region=False),),
            "Task and execution roles are named in each service's deploy config; passing them is allowed to "
            "ECS tasks only (iam:PassedToService)"
            + ("." if props.task_role_arns else ", for any role of this account until task_role_arns is set."),
            {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}),
        "clusters": Grant(
            tuple(arn("ecs", f"cluster/{cluster}") for cluster in clusters),
            f"Clusters are chosen per service in its deploy config; scoped to {cluster_text}."),
        "services": Grant(
            tuple(arn("ecs", f"service/{cluster}/{props.service_name_prefix}*") for cluster in clusters),
            "Each release creates an ECS service named after its version, known only at run time; scoped to "
            f"services named '{props.service_name_prefix}*' in {cluster_text}."),
        "task_definitions": Grant(
            tuple(arn("ecs", f"task-definition/{family}:*") for family in props.task_definition_families)
            or (arn("ecs", "task-definition/*"),),
            "Each release registers a new task definition revision; scoped to the revisions of "
            + (", ".join(props.task_definition_families) + "." if props.task_definition_families
               else "any family until task_definition_families is set.")),
        "target_groups": Grant(
            (arn("elasticloadbalancing", f"targetgroup/{props.target_group_name_prefix}*"),),
            "Each release creates target groups named after its version, known only at run time; scoped to "
            f"target groups named '{props.target_group_name_prefix}*' in this account and region."),
        "listener_rules": Grant(
            rules or (arn("elasticloadbalancing", "listener-rule/app/*"),),
            "Releases edit the preparing and public listener rules of each route; scoped to "
            + ("the listed rules and every rule of the listed listeners." if rules
               else "ALB listener rules of this account and region until listener_rule_arns or listener_arns "
                    "is set.")),
        "check_functions": Grant(
            tuple(f for function in props.check_function_arns for f in (function, f"{function}:*")),
            "Verification checks invoke the functions named in each service's deploy config; scoped to the check "
            f"functions {', '.join(props.check_function_arns)} and their versions and aliases (none unless "
            "check_function_arns lists them)."),
        "config_keys": Grant(
            tuple(props.config_key_arns),
            "Deploy configs in buckets encrypted with these customer managed keys (SSE-KMS); only through S3.",
            {"StringLike": {"kms:ViaService": f"s3.*.{Aws.URL_SUFFIX}"}}),
        "infrastructure_roles": Grant(
            tuple(props.infrastructure_role_arns),
            "Roles a service's config hands to ECS (service role, managed EBS volume and VPC Lattice roles); passed "
            "to ECS only.",
            {"StringEquals": {"iam:PassedToService": "ecs.amazonaws.com"}}),
        "scalable_targets": Grant(
            (arn("application-autoscaling", "scalable-target/*"),),
            "Scalable target ARNs carry a random id assigned by Application Auto Scaling, so they cannot be "
            "named in advance; scoped to scalable targets of this account and region."),
    }
