"""The AWS rules moto does not enforce, enforced by the local engine, all in this one module.

Each rule wraps one of moto's request handlers (or backend methods) and refuses what AWS refuses,
with AWS's error code, before moto acts. Wrapping moto itself, not the release's clients, makes a
rule hold for every caller: the steps, the tests, the data plane, in-process and in server mode.
These are private moto APIs, which is why moto is pinned exactly. `docs/fidelity.md` lists each
rule with the AWS documentation it comes from.
"""
from __future__ import annotations

import base64
import dataclasses
import functools
import json
import re
import threading
import unicodedata
import time
from datetime import timedelta
from typing import Any, Callable, Iterable

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.core.utils import utcnow

# How long a deleted ECS service stays DRAINING before it is INACTIVE. On AWS this lasts until
# its tasks have stopped (minutes, with the target groups' deregistration delay); the local
# engine keeps it short and configurable (LocalEngine(service_drain_seconds=...)).
service_drain_seconds = 5.0

DESCRIBE_SERVICES_MAX = 10
LIST_SERVICES_DEFAULT, LIST_SERVICES_MAX = 10, 100
DESCRIBE_TAGS_MAX = 20
SCALING_POLICIES_DEFAULT = SCALING_POLICIES_MAX = 10
ALARMS_DEFAULT, ALARMS_MAX = 50, 100
HISTORY_DEFAULT, HISTORY_MAX = 100, 1000
FORWARD_GROUPS_MAX, WEIGHT_MAX = 5, 999
TAG_KEY_MAX, TAG_VALUE_MAX = 128, 256
# ELBv2 and ECS tags: ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$ - letters, separators (spaces) and numbers of
# any script, and _ . : / = + - @
TAG_PATTERN_TEXT = r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$"
TAG_SYMBOLS = set("_.:/=+-@")
RESOURCE_LABEL = re.compile(r"^app/[^/]+/[0-9a-f]+/targetgroup/[^/]+/[0-9a-f]+$")

_draining: dict[str, tuple[Any, float]] = {}  # service ARN -> (moto service, when it becomes INACTIVE)
_service_tokens: dict[str, tuple[str, str]] = {}  # service ARN -> the clientToken it was created with, and the request
_used_tokens: dict[tuple[str, str], str] = {}  # (cluster, clientToken) -> the request it came with
_lock = threading.Lock()


class Refused(ServiceException):
    """An AWS error response: `code` as AWS names it, and a message in AWS's words."""

    def __init__(self, code: str, message: str):
        super().__init__(code, message)


def _validation(field: str, value: Any, constraint: str) -> Refused:
    """The shape of the validation errors of ELBv2 (query protocol)."""
    return Refused("ValidationError", f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {constraint}")


def _wrap(cls: type, name: str, make: Callable[[Callable], Callable]) -> None:
    original = getattr(cls, name)
    if getattr(original, "aws_rule", False):
        return
    wrapped = functools.wraps(original)(make(original))
    wrapped.aws_rule = True
    setattr(cls, name, wrapped)


def _check_before(cls: type, name: str, check: Callable[[Any], None]) -> None:
    """Run `check(response)` before moto handles the request; it raises what AWS would answer."""

    def make(original):
        def checked(self, *args, **kwargs):
            check(self)
            return original(self, *args, **kwargs)

        return checked

    _wrap(cls, name, make)


# -- paging --------------------------------------------------------------------------------------
# moto answers many List/Describe/Get calls with everything at once; AWS answers in pages of a fixed
# size (or a default one when the caller names none). The rules below page as AWS does, so a caller
# that reads only the first page fails here as it would on AWS, and calls count as AWS counts them.
def _page_size(asked: Any, default: int, most: int, refuse: Callable[[], Refused], least: int = 1) -> int:
    if asked is None or asked == "":
        return default
    if not least <= int(asked) <= most:
        raise refuse()
    return int(asked) or default


def _page(items: list[Any], token: str | None, size: int, error_code: str) -> tuple[list[Any], str | None]:
    """One page of `items` from the offset `token` carries, and the token of the next page (None at the end)."""
    start = 0
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode())
        except ValueError as error:
            raise Refused(error_code, "The pagination token is not valid.") from error
    following = start + size
    return items[start:following], (base64.urlsafe_b64encode(str(following).encode()).decode() if following < len(items) else None)


# -- tags (ELBv2 and ECS) ------------------------------------------------------------------------
def tag_character_allowed(character: str) -> bool:
    return character in TAG_SYMBOLS or unicodedata.category(character)[0] in "LZN"


def tag_problem(key: str, value: str | None) -> str | None:
    """Why AWS would refuse this tag, or None."""
    if not key or len(key) > TAG_KEY_MAX:
        return f"tag key {key!r} must be 1 to {TAG_KEY_MAX} characters"
    if value is not None and len(value) > TAG_VALUE_MAX:
        return f"tag value of {key!r} must be at most {TAG_VALUE_MAX} characters"
    for part in (key, value or ""):
        if not all(tag_character_allowed(c) for c in part):
            return f"{part!r} must satisfy regular expression pattern: {TAG_PATTERN_TEXT}"
    if key.lower().startswith("aws:"):
        return f"tag key {key!r} uses the prefix aws:, which is reserved for AWS use"
    return None


def _check_tags(tags: Iterable[dict[str, Any]] | None, key_name: str, value_name: str, refuse: Callable[[int, str], Refused]) -> None:
    for index, tag in enumerate(tags or [], start=1):
        problem = tag_problem(tag.get(key_name) or "", tag.get(value_name))
        if problem:
            raise refuse(index, problem)


def _elb_tags(response: Any) -> None:
    _check_tags(response._get_param("Tags", []), "Key", "Value",
                lambda i, problem: Refused("ValidationError", f"1 validation error detected at 'tags.{i}.member': {problem}"))


def _ecs_tags(response: Any) -> None:
    _check_tags(response._get_param("tags", []), "key", "value",
                lambda i, problem: Refused("InvalidParameterException", f"Invalid tag at tags.{i}: {problem}"))


# -- ELBv2 ---------------------------------------------------------------------------------------
def _describe_tags_limit(response: Any) -> None:
    arns = response._get_param("ResourceArns", [])
    if len(arns) > DESCRIBE_TAGS_MAX:
        raise _validation("resourceArns", arns, f"Member must have length less than or equal to {DESCRIBE_TAGS_MAX}")


def _forwarded_groups(actions: Iterable[Any]) -> list[str]:
    """Target group ARNs an action list forwards to (moto keeps actions as FakeAction or dicts)."""
    found = []
    for action in actions:
        data = getattr(action, "data", action)
        if data.get("Type") != "forward":
            continue
        if data.get("TargetGroupArn"):
            found.append(data["TargetGroupArn"])
        groups = (data.get("ForwardConfig") or {}).get("TargetGroups") or []
        found.extend(g["TargetGroupArn"] for g in groups if g.get("TargetGroupArn"))
    return found


def _check_forward(actions: list[dict[str, Any]]) -> None:
    for a, action in enumerate(actions or [], start=1):
        groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or []
        if len(groups) > FORWARD_GROUPS_MAX:
            raise _validation(f"actions.{a}.member.forwardConfig.targetGroups", [g.get("TargetGroupArn") for g in groups],
                              f"Member must have length less than or equal to {FORWARD_GROUPS_MAX}")
        for g, group in enumerate(groups, start=1):
            weight = group.get("Weight")
            if weight is not None and not 0 <= int(weight) <= WEIGHT_MAX:
                bound = "greater than or equal to 0" if int(weight) < 0 else f"less than or equal to {WEIGHT_MAX}"
                raise _validation(f"actions.{a}.member.forwardConfig.targetGroups.{g}.member.weight", weight, f"Member must have value {bound}")


def _load_balancers_of(backend: Any, group_arn: str, skip: str) -> set[str]:
    """The load balancers whose listeners or rules forward to a target group, leaving out `skip`
    (the rule or listener being changed: its own current actions are about to be replaced)."""
    found = set()
    for balancer in backend.load_balancers.values():
        for listener in balancer.listeners.values():
            if listener.arn != skip and group_arn in _forwarded_groups(listener.default_actions):
                found.add(balancer.arn)
            for rule_arn, rule in listener.rules.items():
                if rule_arn != skip and group_arn in _forwarded_groups(rule.actions):
                    found.add(balancer.arn)
    return found


def _check_one_load_balancer(backend: Any, balancer_arn: str, actions: list[dict[str, Any]], skip: str) -> None:
    """A target group serves one load balancer: forwarding to it from another one is refused."""
    refused = [arn for arn in dict.fromkeys(_forwarded_groups(actions))
               if _load_balancers_of(backend, arn, skip) - {balancer_arn}]
    if refused:
        raise Refused(
            "TargetGroupAssociationLimit",
            f"The following target groups cannot be associated with more than one load balancer: {', '.join(refused)}",
        )


def _listener(backend: Any, listener_arn: str) -> Any:
    for balancer in backend.load_balancers.values():
        if listener_arn in balancer.listeners:
            return balancer.listeners[listener_arn]
    return None


def _rule_changes(response: Any) -> None:
    backend = response.elbv2_backend
    actions = response._get_params().get("Actions") or []
    _check_forward(actions)
    rule_arn = response._get_param("RuleArn")
    listener_arn = response._get_param("ListenerArn") or (rule_arn or "").replace(":listener-rule/", ":listener/").rsplit("/", 1)[0]
    listener = _listener(backend, listener_arn)
    if listener is not None:
        _check_one_load_balancer(backend, listener.load_balancer_arn, actions, skip=rule_arn or "")


def _listener_changes(response: Any) -> None:
    backend = response.elbv2_backend
    actions = response._get_params().get("DefaultActions") or []
    _check_forward(actions)
    listener_arn = response._get_param("ListenerArn")
    balancer_arn = response._get_param("LoadBalancerArn")
    if listener_arn:
        listener = _listener(backend, listener_arn)
        balancer_arn = listener.load_balancer_arn if listener is not None else None
    if balancer_arn:
        _check_one_load_balancer(backend, balancer_arn, actions, skip=listener_arn or "")


def _health_check_interval(response: Any) -> None:
    """moto refuses a timeout above the interval, and an equal one only when both are given; AWS
    refuses an HTTP(S) timeout that is not below the interval, defaults included (30 s and 5 s)."""
    params = response._get_params()
    if params.get("Protocol", "HTTP") not in ("HTTP", "HTTPS"):
        return
    interval = int(params.get("HealthCheckIntervalSeconds") or 30)
    timeout = int(params.get("HealthCheckTimeoutSeconds") or 5)
    if timeout >= interval:
        raise Refused("ValidationError", f"Health check timeout '{timeout}' must be smaller than the interval '{interval}'")


# -- ECS -----------------------------------------------------------------------------------------
def _settle(now: float | None = None) -> None:
    """Services whose draining time is over become INACTIVE, as their last task stops on AWS."""
    now = time.time() if now is None else now
    with _lock:
        for arn, (service, until) in list(_draining.items()):
            if now >= until:
                service.status = "INACTIVE"
                del _draining[arn]


def _describe_services_limit(response: Any) -> None:
    _settle()
    names = response._get_param("services", [])
    if len(names) > DESCRIBE_SERVICES_MAX:
        raise Refused("InvalidParameterException", f"services can have at most {DESCRIBE_SERVICES_MAX} items.")


def _service_by_name(backend: Any, cluster: str, name: str) -> Any:
    cluster_name = (cluster or "default").rsplit("/", 1)[-1]
    return backend.services.get(f"{cluster_name}:{name.rsplit('/', 1)[-1]}")


def _create_service(original: Callable) -> Callable:
    def create(self, *args, **kwargs):
        _settle()
        _ecs_tags(self)
        existing = _service_by_name(self.ecs_backend, self._get_param("cluster", "default"), self._get_param("serviceName"))
        token = self._get_param("clientToken")
        request = _request_without_token(self)
        if existing is not None and existing.status == "DRAINING":
            raise Refused("InvalidParameterException", "Unable to Start a service that is still Draining.")
        if existing is not None and existing.status == "ACTIVE":
            # The same clientToken and the same parameters are a retry of the same request: AWS
            # answers with the service it made.
            if not token or _service_tokens.get(existing.arn) != (token, request):
                raise Refused("InvalidParameterException", "Creation of service was not idempotent.")
            return ActionResult({"service": existing})
        cluster = self._get_param("cluster", "default").rsplit("/", 1)[-1]
        if token and _used_tokens.get((cluster, token), request) != request:
            # A token stays bound to the request it first came with, even once that service is gone.
            raise Refused("InvalidParameterException", "Creation of service was not idempotent.")
        result = original(self, *args, **kwargs)
        created = _service_by_name(self.ecs_backend, self._get_param("cluster", "default"), self._get_param("serviceName"))
        if created is not None:
            # AWS gives every service its createdAt; moto gives none.
            created.created_at = utcnow()
            if token:
                _service_tokens[created.arn] = (token, request)
                _used_tokens[(cluster, token)] = request
        return result

    return create


def _request_without_token(response: Any) -> str:
    params = {k: v for k, v in json.loads(response.body or "{}").items() if k != "clientToken"}
    return json.dumps(params, sort_keys=True)


def _forget_scaling(account: str, region: str, cluster: str, service: str) -> None:
    """A deleted ECS service takes its scalable target, scaling policies and scheduled actions with it
    (moto kept them, so a service made again under the name would find them)."""
    from moto.applicationautoscaling.models import applicationautoscaling_backends

    backend = applicationautoscaling_backends[account][region]
    resource = f"service/{cluster}/{service}"
    for targets in backend.targets.values():
        targets.pop(resource, None)
    for key, policy in list(backend.policies.items()):
        if policy.service_namespace == "ecs" and policy.resource_id == resource:
            del backend.policies[key]
    backend.scheduled_actions = [a for a in backend.scheduled_actions
                                 if not (a.service_namespace == "ecs" and a.resource_id == resource)]


def _delete_service(original: Callable) -> Callable:
    def delete(self, *args, **kwargs):
        _settle()
        existing = _service_by_name(self.ecs_backend, self._get_param("cluster", "default"), self._get_param("service"))
        already_gone = existing is not None and existing.status != "ACTIVE"
        result = original(self, *args, **kwargs)
        if existing is not None and not already_gone:
            # moto makes a deleted service INACTIVE at once; on AWS it drains first.
            existing.status = "DRAINING"
            _forget_scaling(self.current_account, self.region, existing.cluster_arn.rsplit("/", 1)[-1], existing.name)
            with _lock:
                _draining[existing.arn] = (existing, time.time() + service_drain_seconds)
        return result

    return delete


def _update_service_active(response: Any) -> None:
    _settle()
    existing = _service_by_name(response.ecs_backend, response._get_param("cluster", "default"), response._get_param("service"))
    if existing is not None and existing.status != "ACTIVE":
        raise Refused("ServiceNotActiveException", "Service was not ACTIVE.")


def _list_services(original: Callable) -> Callable:
    """ListServices pages: 10 by default, maxResults 1..100, nextToken; only ACTIVE services
    (a DRAINING or INACTIVE one is no longer listed)."""

    def list_services(self, *args, **kwargs):
        _settle()
        limit = _page_size(self._get_param("maxResults"), LIST_SERVICES_DEFAULT, LIST_SERVICES_MAX,
                           lambda: Refused("InvalidParameterException", f"maxResults must be between 1 and {LIST_SERVICES_MAX}."))
        arns = self.ecs_backend.list_services(
            self._get_param("cluster", "default"), self._get_param("schedulingStrategy"),
            launch_type=self._get_param("launchType"),
        )
        status = {s.arn: s.status for s in self.ecs_backend.services.values()}
        arns = [arn for arn in arns if status.get(arn) == "ACTIVE"]
        page, token = _page(arns, self._get_param("nextToken"), limit, "InvalidParameterException")
        return ActionResult({"serviceArns": page, **({"nextToken": token} if token else {})})

    return list_services


# -- Application Auto Scaling --------------------------------------------------------------------
def _resource_label(response: Any) -> None:
    config = response._get_param("TargetTrackingScalingPolicyConfiguration") or {}
    metric = config.get("PredefinedMetricSpecification") or {}
    label = metric.get("ResourceLabel")
    if metric.get("PredefinedMetricType") == "ALBRequestCountPerTarget":
        if not label:
            raise Refused("ValidationException", "ResourceLabel is required for predefined metric type ALBRequestCountPerTarget.")
        if not RESOURCE_LABEL.match(label):
            raise Refused(
                "ValidationException",
                f"ResourceLabel {label} is not valid: expected app/<load-balancer-name>/<load-balancer-id>/targetgroup/<target-group-name>/<target-group-id>",
            )
        _check_label_attached(response, label)
    elif label:
        raise Refused("ValidationException", "ResourceLabel can only be specified for predefined metric type ALBRequestCountPerTarget.")


def _check_label_attached(response: Any, label: str) -> None:
    """The label's target group must serve the ECS service and belong to the label's load balancer."""
    from moto.ecs.models import ecs_backends
    from moto.elbv2.models import elbv2_backends

    account, region = response.current_account, response.region
    parts = response._get_param("ResourceId", "").split("/")
    if len(parts) != 3 or parts[0] != "service":
        return
    service = _service_by_name(ecs_backends[account][region], parts[1], parts[2])
    balancer_part, group_part = label.split("/targetgroup/")
    attached = [lb.get("targetGroupArn", "") for lb in (service.load_balancers if service else [])]
    group = next((arn for arn in attached if arn.endswith(f":targetgroup/{group_part}")), None)
    if group is None:
        raise Refused("ValidationException", f"Target group targetgroup/{group_part} is not attached to {response._get_param('ResourceId')}.")
    balancers = _load_balancers_of(elbv2_backends[account][region], group, skip="")
    if not any(arn.endswith(f":loadbalancer/{balancer_part}") for arn in balancers):
        raise Refused("ValidationException", f"Target group targetgroup/{group_part} is not associated with load balancer {balancer_part}.")


def _describe_scaling_policies(original: Callable) -> Callable:
    """DescribeScalingPolicies pages: 10 by default, MaxResults 1..10. moto answered up to 100 at once,
    ignored PolicyNames, and matched ResourceId as a substring (service/c/web-1 answered for web-10 too)."""

    def describe(self, *args, **kwargs):
        from moto.applicationautoscaling.responses import _build_policy

        asked = self._get_param("MaxResults")
        size = _page_size(asked, SCALING_POLICIES_DEFAULT, SCALING_POLICIES_MAX, lambda: Refused(
            "ValidationException", f"1 validation error detected: Value '{asked}' at 'maxResults' failed to satisfy "
                                   f"constraint: Member must have value less than or equal to {SCALING_POLICIES_MAX}"))
        wanted = {"service_namespace": self._get_param("ServiceNamespace"), "resource_id": self._get_param("ResourceId"),
                  "scalable_dimension": self._get_param("ScalableDimension")}
        names = self._get_param("PolicyNames") or []
        policies = [p for p in self.applicationautoscaling_backend.policies.values()
                    if all(value is None or getattr(p, key) == value for key, value in wanted.items())
                    and (not names or p.policy_name in names)]
        page, token = _page(policies, self._get_param("NextToken"), size, "InvalidNextTokenException")
        return json.dumps({"ScalingPolicies": [_build_policy(p) for p in page], **({"NextToken": token} if token else {})})

    return describe


def _deregister_scalable_target(original: Callable) -> Callable:
    """DeregisterScalableTarget deletes the target's scaling policies and scheduled actions with it;
    moto kept both, so a release that deregistered and put back only some of them looked whole."""

    def deregister(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        backend = self.applicationautoscaling_backend
        target = (self._get_param("ServiceNamespace"), self._get_param("ResourceId"), self._get_param("ScalableDimension"))
        for key, policy in list(backend.policies.items()):
            if (policy.service_namespace, policy.resource_id, policy.scalable_dimension) == target:
                del backend.policies[key]
        backend.scheduled_actions = [a for a in backend.scheduled_actions
                                     if (a.service_namespace, a.resource_id, a.scalable_dimension) != target]
        return result

    return deregister


# -- CloudWatch ----------------------------------------------------------------------------------
def _describe_alarms(original: Callable) -> Callable:
    """DescribeAlarms pages: 50 by default, MaxRecords 1..100, at most 100 AlarmNames; moto answered
    every alarm at once."""

    def describe(self, *args, **kwargs):
        names = self._get_param("AlarmNames", [])
        if len(names) > ALARMS_MAX:
            raise _validation("alarmNames", names, f"Member must have length less than or equal to {ALARMS_MAX}")
        asked = self._get_param("MaxRecords")
        size = _page_size(asked, ALARMS_DEFAULT, ALARMS_MAX, lambda: _validation(
            "maxRecords", asked, f"Member must have value less than or equal to {ALARMS_MAX}"))
        found = original(self, *args, **kwargs).result
        kinds = [("MetricAlarms", a) for a in found.get("MetricAlarms", [])] + [("CompositeAlarms", a) for a in found.get("CompositeAlarms", [])]
        page, token = _page(kinds, self._get_param("NextToken"), size, "InvalidNextToken")
        result: dict[str, Any] = {kind: [a for k, a in page if k == kind] for kind in ("MetricAlarms", "CompositeAlarms")}
        return ActionResult({**result, **({"NextToken": token} if token else {})})

    return describe


def _reserved_namespace(response: Any) -> None:
    """PutMetricData refuses namespaces beginning AWS/: those are the services' own (the local load
    balancer's metrics are written by the engine's traffic simulation, as ELB writes them)."""
    namespace = response._get_param("Namespace") or ""
    if namespace.startswith("AWS/"):
        raise Refused("InvalidParameterValue", f"The value {namespace} for parameter Namespace is invalid. "
                                               "Namespaces beginning with AWS/ are reserved for AWS use.")


def _metric_periods(response: Any) -> None:
    """A MetricStat's period is 1, 5, 10, 20, 30, 60 or a multiple of 60; moto took any."""
    for index, query in enumerate(response._get_params().get("MetricDataQueries") or [], start=1):
        period = (query.get("MetricStat") or {}).get("Period")
        if period is not None and not (int(period) in (1, 5, 10, 20, 30) or int(period) % 60 == 0):
            raise Refused("InvalidParameterValue", f"The parameter MetricDataQueries.member.{index}.MetricStat.Period "
                                                   "must be 1, 5, 10, 20, 30, 60, or any multiple of 60.")


def _metric_data_from_the_minute(original: Callable) -> Callable:
    """GetMetricData rounds a StartTime of the last 15 days down to the whole minute (to the period's
    division of the minute for periods under 60 s); moto took it to the second."""

    def get_metric_data(self, queries, start_time, end_time, *args, **kwargs):
        periods = [int((q.get("MetricStat") or {}).get("Period") or 60) for q in queries]
        step = min([p for p in periods if p < 60] or [60])
        start_time = start_time.replace(microsecond=0) - timedelta(seconds=start_time.second % step)
        return original(self, queries, start_time, end_time, *args, **kwargs)

    return get_metric_data


# -- Step Functions ------------------------------------------------------------------------------
def _data_limit_is_terminal() -> None:
    """States.DataLimitExceeded cannot be caught or retried by States.ALL; moto lets it be."""
    from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType

    terminal = StatesErrorName(typ=StatesErrorNameType.StatesStatesDataLimitExceeded)

    def make(original):
        def eval_body(self, env):
            error_name = env.stack[-1]
            if error_name == terminal and terminal not in self.error_names:
                env.stack.pop()
                env.stack.append(False)
                return
            original(self, env)

        return eval_body

    _wrap(ErrorEqualsDecl, "_eval_body", make)


# StopExecution: error at most 256 characters, cause at most 32,768 (API reference, StopExecution).
STOP_ERROR_MAX, STOP_CAUSE_MAX = 256, 32768


def _stop_execution_limits(response: Any) -> None:
    """StopExecution refuses an error or cause longer than its limits; moto took any length."""
    for field, most in (("error", STOP_ERROR_MAX), ("cause", STOP_CAUSE_MAX)):
        value = response._get_param(field)
        if value is not None and len(value) > most:
            raise Refused("ValidationException", f"1 validation error detected: Value at '{field}' failed to satisfy "
                                                 f"constraint: Member must have length less than or equal to {most}")


def _execution_history(original: Callable) -> Callable:
    """GetExecutionHistory pages: 100 events by default (maxResults 0), at most 1,000, reverseOrder
    honoured; moto answered every event at once, oldest first."""

    def history(self, *args, **kwargs):
        asked = self._get_param("maxResults")
        size = _page_size(asked, HISTORY_DEFAULT, HISTORY_MAX, lambda: Refused(
            "ValidationException", f"1 validation error detected: Value '{asked}' at 'maxResults' failed to satisfy "
                                   f"constraint: Member must have value less than or equal to {HISTORY_MAX}"), least=0)
        events = list(original(self, *args, **kwargs).result["events"])
        if self._get_param("reverseOrder"):
            events.reverse()
        page, token = _page(events, self._get_param("nextToken"), size, "InvalidToken")
        return ActionResult({"events": page, **({"nextToken": token} if token else {})})

    return history


# -- Resource Groups Tagging API -----------------------------------------------------------------
# How far GetResources lags behind tagging (AWS: eventually consistent, no bound given); 0: not at all.
tagging_lag_seconds = 0.0
# Resource ARN -> (its tags as last answered by moto, since when, the tags shown before that change).
_tag_views: dict[str, tuple[dict[str, str], float, dict[str, str] | None]] = {}


def _lagging_tags(original: Callable) -> Callable:
    """GetResources answers a change of a resource's tags (its creation included) only once the
    change is `tagging_lag_seconds` old, counted from when a GetResources answer first held it:
    until then, the tags it had before, or nothing for a resource it did not list yet."""

    def get_resources(self, *args, **kwargs):
        token, found = original(self, *args, **kwargs)
        if not tagging_lag_seconds:
            return token, found
        now, shown = time.monotonic(), []
        with _lock:
            for item in found:
                arn, tags = item.arn, dict(item.tags)
                seen = _tag_views.get(arn)
                if seen is None or seen[0] != tags:
                    before = None if seen is None else (seen[0] if now - seen[1] >= tagging_lag_seconds else seen[2])
                    seen = _tag_views[arn] = (tags, now, before)
                answer = seen[0] if now - seen[1] >= tagging_lag_seconds else seen[2]
                if answer is not None:
                    shown.append(dataclasses.replace(item, tags=dict(answer)))
        return token, shown

    return get_resources


def reset() -> None:
    """Forget services that were draining (the engine starts a new emulated account)."""
    global tagging_lag_seconds
    with _lock:
        _draining.clear()
        _service_tokens.clear()
        _tag_views.clear()
        _used_tokens.clear()
    tagging_lag_seconds = 0.0


def install() -> None:
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse
    from moto.cloudwatch.models import CloudWatchBackend
    from moto.cloudwatch.responses import CloudWatchResponse
    from moto.ecs.responses import EC2ContainerServiceResponse
    from moto.elbv2.responses import ELBV2Response
    from moto.stepfunctions.responses import StepFunctionResponse

    checks: dict[tuple[type, str], tuple[Callable[[Any], None], ...]] = {
        (ELBV2Response, "create_target_group"): (_elb_tags, _health_check_interval),
        (ELBV2Response, "add_tags"): (_elb_tags,),
        (ELBV2Response, "create_load_balancer"): (_elb_tags,),
        (ELBV2Response, "create_rule"): (_elb_tags, _rule_changes),
        (ELBV2Response, "modify_rule"): (_rule_changes,),
        (ELBV2Response, "create_listener"): (_elb_tags, _listener_changes),
        (ELBV2Response, "modify_listener"): (_listener_changes,),
        (ELBV2Response, "describe_tags"): (_describe_tags_limit,),
        (EC2ContainerServiceResponse, "tag_resource"): (_ecs_tags,),
        (EC2ContainerServiceResponse, "register_task_definition"): (_ecs_tags,),
        (EC2ContainerServiceResponse, "create_cluster"): (_ecs_tags,),
        (EC2ContainerServiceResponse, "describe_services"): (_describe_services_limit,),
        (EC2ContainerServiceResponse, "update_service"): (_update_service_active,),
        (ApplicationAutoScalingResponse, "put_scaling_policy"): (_resource_label,),
        (StepFunctionResponse, "stop_execution"): (_stop_execution_limits,),
        (CloudWatchResponse, "put_metric_data"): (_reserved_namespace,),
        (CloudWatchResponse, "get_metric_data"): (_metric_periods,),
    }
    for (cls, action), rules in checks.items():
        _check_before(cls, action, lambda response, rules=rules: [rule(response) for rule in rules])
    _wrap(EC2ContainerServiceResponse, "create_service", _create_service)
    _wrap(EC2ContainerServiceResponse, "delete_service", _delete_service)
    _wrap(EC2ContainerServiceResponse, "list_services", _list_services)
    _wrap(ApplicationAutoScalingResponse, "describe_scaling_policies", _describe_scaling_policies)
    _wrap(ApplicationAutoScalingResponse, "deregister_scalable_target", _deregister_scalable_target)
    _wrap(CloudWatchResponse, "describe_alarms", _describe_alarms)
    _wrap(CloudWatchBackend, "get_metric_data", _metric_data_from_the_minute)
    _wrap(StepFunctionResponse, "get_execution_history", _execution_history)
    from moto.resourcegroupstaggingapi.models import ResourceGroupsTaggingAPIBackend

    _wrap(ResourceGroupsTaggingAPIBackend, "get_resources", _lagging_tags)
    _data_limit_is_terminal()
