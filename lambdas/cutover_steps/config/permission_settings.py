"""An access-denied answer to a step, told as what it is: the stack's settings do not cover the resource. Which
setting (cutover/cdk/settings.py, the `cutover:…` context keys) scopes each action the steps are granted."""
from __future__ import annotations

import re
from typing import Any

from cutover_steps.errors import PermissionDenied

# The codes AWS answers a call the caller's policies do not allow with (each service's "Common errors").
ACCESS_DENIED_CODES = {"AccessDenied", "AccessDeniedException", "AuthorizationError", "UnauthorizedOperation"}

_SERVICES = "cluster_names (cutover:clusterNames) and service_name_prefix (cutover:serviceNamePrefix)"
# Action, or its service prefix, -> the settings that scope its resources.
SETTING_OF_ACTION: dict[str, str] = {
    "ecs:DescribeClusters": "cluster_names (cutover:clusterNames)",
    "ecs:CreateService": _SERVICES,
    "ecs:DescribeServices": _SERVICES,
    "ecs:UpdateService": _SERVICES,
    "ecs:DeleteService": _SERVICES,
    "ecs:TagResource": f"{_SERVICES}, or task_definition_families (cutover:taskDefinitionFamilies)",
    "ecs:UntagResource": _SERVICES,
    "ecs:RegisterTaskDefinition": "task_definition_families (cutover:taskDefinitionFamilies)",
    "ecs:DeleteTaskDefinitions": "task_definition_families (cutover:taskDefinitionFamilies)",
    "elasticloadbalancing:CreateTargetGroup": "target_group_name_prefix (cutover:targetGroupNamePrefix)",
    "elasticloadbalancing:DeleteTargetGroup": "target_group_name_prefix (cutover:targetGroupNamePrefix)",
    "elasticloadbalancing:AddTags": "target_group_name_prefix (cutover:targetGroupNamePrefix)",
    "elasticloadbalancing:RemoveTags": "target_group_name_prefix (cutover:targetGroupNamePrefix)",
    "elasticloadbalancing:ModifyRule": "listener_rule_arns (cutover:listenerRuleArns) or listener_arns "
                                       "(cutover:listenerArns)",
    "iam:PassRole": "task_role_arns (cutover:taskRoleArns) for task and execution roles, infrastructure_role_arns "
                    "(cutover:infrastructureRoleArns) for the roles CreateService hands to ECS",
    "s3:GetObject": "config_bucket_names (cutover:configBucketNames)",
    "kms:Decrypt": "config_key_arns (cutover:configKeyArns)",
    "lambda:InvokeFunction": "check_function_arns (cutover:checkFunctionArns)",
}
_REFUSED = re.compile(r"perform: (?P<action>[\w-]+:\w+) on resource: (?P<resource>\S+)")


def access_denied(error: Any) -> bool:
    """Whether a botocore ClientError is AWS refusing the call to the caller's policies."""
    response = getattr(error, "response", None) or {}
    return (response.get("Error") or {}).get("Code") in ACCESS_DENIED_CODES


def denied(error: Any, operation: str = "", resource: str = "its resource") -> PermissionDenied:
    """The PermissionDenied to raise for an access-denied ClientError: the action, the resource and the setting."""
    details = error.response.get("Error") or {}
    message = details.get("Message") or ""
    found = _REFUSED.search(message)
    action = found["action"] if found else operation or getattr(error, "operation_name", "")
    resource = found["resource"] if found else resource
    setting = SETTING_OF_ACTION.get(action)
    allow = (f"the stack setting {setting} must cover it (then deploy the stack again)" if setting else
             "the stack grants this call on the resources its settings name; deploy the stack from this version of "
             "Cutover, or widen its settings")
    return PermissionDenied(f"AWS refused {action} on {resource} to the step's role ({details.get('Code')}): {allow}. "
                            f"AWS said: {message}")
