"""What a Cutover deployment may touch, as a typed props object read from CDK context or built in code."""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs
from constructs import Node

from cutover import DEFINITION, UNDO_DEFINITION

# The one definition: statemachine/ of a checkout, or its copy inside the installed package.
DEFAULT_DEFINITION = Path(DEFINITION)
DEFAULT_UNDO_DEFINITION = Path(UNDO_DEFINITION)

# Context keys (`cdk deploy -c cutover:clusterNames=prod,staging`, or the `context` of cdk.json).
CONTEXT_KEYS = {
    "cluster_names": "cutover:clusterNames",
    "listener_rule_arns": "cutover:listenerRuleArns",
    "listener_arns": "cutover:listenerArns",
    "task_role_arns": "cutover:taskRoleArns",
    "task_definition_families": "cutover:taskDefinitionFamilies",
    "target_group_name_prefix": "cutover:targetGroupNamePrefix",
    "service_name_prefix": "cutover:serviceNamePrefix",
    "config_bucket_names": "cutover:configBucketNames",
    "notification_emails": "cutover:notificationEmails",
    "state_machine_name": "cutover:stateMachineName",
    "trace_aws_calls": "cutover:traceAwsCalls",
    "check_function_arns": "cutover:checkFunctionArns",
    "check_subnet_ids": "cutover:checkSubnetIds",
    "check_security_group_ids": "cutover:checkSecurityGroupIds",
    "sweep_minutes": "cutover:sweepMinutes",
    "config_key_arns": "cutover:configKeyArns",
    "infrastructure_role_arns": "cutover:infrastructureRoleArns",
    "ledger_retention_days": "cutover:ledgerRetentionDays",
}


@dataclass(frozen=True)
class ReleaseOrchestratorProps:
    """The ECS and load balancer resources the release functions may change, and who hears about releases.

    Every list left empty means "any such resource in this account and region": convenient to try
    Cutover, and what a real deployment should narrow.
    """

    cluster_names: tuple[str, ...] = ()
    """ECS clusters whose services may be created, scaled and deleted."""
    listener_rule_arns: tuple[str, ...] = ()
    """ALB listener rules (preparing and public) the functions may modify."""
    listener_arns: tuple[str, ...] = ()
    """ALB listeners all of whose rules the functions may modify (instead of, or with, listener_rule_arns)."""
    task_role_arns: tuple[str, ...] = ()
    """Task and task execution roles that task definitions may name (iam:PassRole to ECS tasks only)."""
    task_definition_families: tuple[str, ...] = ()
    """Task definition families the functions may register and tag."""
    target_group_name_prefix: str = ""
    """Target groups the functions create and delete have names starting with this (e.g. `prod-`)."""
    service_name_prefix: str = ""
    """ECS services the functions create and delete have names starting with this."""
    config_bucket_names: tuple[str, ...] = ()
    """S3 buckets deploy configs are read from (`--config-uri s3://…`)."""
    notification_emails: tuple[str, ...] = ()
    """Addresses subscribed to release notifications (approval requests, failures)."""
    check_function_arns: tuple[str, ...] = ()
    """Lambda functions that verification checks (`release.verify[].lambda`) may invoke, with their versions
    and aliases. None by default: a config written by CI must not make the checks invoke any function of the
    account. A name may end in `*` (`function:smoke-*`); every function (`*`, `function:*`) is refused."""
    config_key_arns: tuple[str, ...] = ()
    """KMS keys (customer managed) that encrypt deploy configs in the config buckets (SSE-KMS): LoadRelease may
    decrypt with them through S3 (kms:Decrypt), the CI policy may encrypt uploads (kms:GenerateDataKey)."""
    infrastructure_role_arns: tuple[str, ...] = ()
    """Roles a service's config may hand to ECS in CreateService (`service_settings.role`,
    `volume_configurations[].managed_ebs_volume.role_arn`, `vpc_lattice_configurations[].role_arn`): CreateService
    may pass them to ECS only (iam:PassRole with iam:PassedToService ecs.amazonaws.com). None by default."""
    check_subnet_ids: tuple[str, ...] = ()
    """Subnets of the services' VPC for the functions that run verification checks, so that HTTP checks reach
    URLs inside it (give check_security_group_ids too). Those subnets need a route to the Lambda, CloudWatch
    and Step Functions APIs (NAT or VPC endpoints)."""
    check_security_group_ids: tuple[str, ...] = ()
    """Security groups of the functions that run verification checks, with check_subnet_ids."""
    state_machine_name: str | None = None
    """Defaults to a name unique to the construct (`<stack name>-Release` in the Cutover stack)."""
    trace_aws_calls: bool = False
    """X-Ray subsegments for every AWS call of the step functions (Powertools Tracer). Off by default:
    the X-Ray SDK adds about 250 ms to each function's cold start, up to 16 of them per release, and
    the execution history already records every step's input, output and error. Lambda's and Step
    Functions' own X-Ray traces stay on either way."""
    sweep_minutes: int = 5
    """How often the safety net looks for a release that ended holding its lock with no undo started
    (a status change EventBridge never delivered) and starts its undo, in minutes."""
    ledger_retention_days: int = 730
    """How long the release ledger keeps each release, rollback and stop (`cutover releases`); DynamoDB's
    TTL deletes the entries of a day this many days after it. Step Functions keeps an execution's own
    history 90 days after it ends."""
    definition_path: Path = DEFAULT_DEFINITION
    undo_definition_path: Path = DEFAULT_UNDO_DEFINITION
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN
    """For the release table (what can be rolled back to) and the log groups, when the stack is deleted."""

    def __post_init__(self) -> None:
        if not 1 <= self.sweep_minutes <= 1440:
            raise ValueError(f"sweep_minutes must be from 1 to 1440, got {self.sweep_minutes}")
        for arn in self.check_function_arns:
            _refuse_any_function(arn)
        for name, arns, kind in (("config_key_arns", self.config_key_arns, ":kms:"),
                                 ("infrastructure_role_arns", self.infrastructure_role_arns, ":iam::")):
            for arn in arns:
                if not arn.startswith("arn:") or kind not in arn or "*" in arn:
                    raise ValueError(f"{name}: {arn!r} is not the ARN of one {'KMS key' if kind == ':kms:' else 'IAM role'} "
                                     f"(e.g. {'arn:aws:kms:eu-west-1:111122223333:key/…' if kind == ':kms:' else 'arn:aws:iam::111122223333:role/ecs-infrastructure'})")
        if bool(self.check_subnet_ids) != bool(self.check_security_group_ids):
            raise ValueError("check_subnet_ids and check_security_group_ids go together: give both (the functions that "
                             "run verification checks join the VPC with them) or neither")

    @classmethod
    def from_context(cls, node: Node) -> ReleaseOrchestratorProps:
        """Props from CDK context; lists may be given as JSON arrays or comma-separated strings."""
        return cls.from_settings({key: node.try_get_context(key) for key in CONTEXT_KEYS.values()})

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> ReleaseOrchestratorProps:
        """Props from context keys and their values (the `context` of cdk.json, `cutover sandbox up --settings`)."""
        values: dict[str, Any] = {}
        types = {f.name: f.type for f in fields(cls)}
        for name, key in CONTEXT_KEYS.items():
            raw = settings.get(key)
            if raw is None or raw == "" or raw == []:
                continue
            if "tuple" in str(types[name]):
                values[name] = _as_tuple(raw)
            elif "bool" in str(types[name]):
                values[name] = _as_bool(key, raw)
            elif str(types[name]) == "int":
                values[name] = _as_days(key, raw) if name == "ledger_retention_days" else _as_minutes(key, raw)
            else:
                values[name] = str(raw)
        return cls(**values)


def _refuse_any_function(arn: str) -> None:
    name = arn.split(":function:", 1)[1] if ":function:" in arn else ""
    if not arn.startswith("arn:") or ":lambda:" not in arn or not name:
        raise ValueError(f"check_function_arns (cutover:checkFunctionArns): {arn!r} is not a Lambda function ARN "
                         "(arn:aws:lambda:REGION:ACCOUNT:function:NAME)")
    if not name.strip("*"):
        raise ValueError(f"check_function_arns (cutover:checkFunctionArns): {arn!r} would let releases invoke every "
                         "function of the account, Cutover's own included; list the check functions (a name may end "
                         "in *, e.g. function:smoke-*)")
def _as_days(key: str, raw: Any) -> int:
    try:
        days = int(str(raw).strip())
    except ValueError:
        days = 0
    if days < 1:
        raise ValueError(f"context {key} must be a whole number of days (1 or more), got {raw!r}")
    return days


def _as_bool(key: str, raw: Any) -> bool:
    text = str(raw).strip().lower()
    if text not in ("true", "false"):
        raise ValueError(f"context {key} must be true or false, got {raw!r}")
    return text == "true"


def _as_minutes(key: str, raw: Any) -> int:
    try:
        minutes = int(str(raw).strip())
    except ValueError:
        minutes = 0
    if not 1 <= minutes <= 1440:
        raise ValueError(f"context {key} must be a whole number of minutes from 1 to 1440, got {raw!r}")
    return minutes


def _as_tuple(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, str):
        text = raw.strip()
        if text.startswith("["):
            raw = json.loads(text)
        else:
            raw = text.split(",")
    return tuple(str(item).strip() for item in raw if str(item).strip())
