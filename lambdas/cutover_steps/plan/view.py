"""The plan as the steps read it: the state data LoadRelease validated, read without pydantic.

Only LoadRelease (and the command line) validate a config; every other step receives the plan
LoadRelease dumped, with every default filled in, and reads it through these views: the same
attribute names as the models of cutover_steps.config.models and cutover_steps.plan.models, and the same behaviour, which
lives here once as mixins both share. Importing pydantic and building the config models costs a
step's cold start about as much again as boto3 itself (docs/development.md, "Cold start").
"""
from __future__ import annotations

import copy
import hashlib
import json
from typing import Any, ClassVar

from cutover_steps.config import aws_fields
from cutover_steps.plan import naming

TAG_PREFIX = "cutover:"


def load_balancer_of(rule_arn: str) -> str:
    """`app/<name>/<id>` of the load balancer a listener rule ARN belongs to."""
    return "/".join(rule_arn.split(":listener-rule/", 1)[1].split("/")[:3])


# -- behaviour the models and the views share -----------------------------------------------------

class PlanReads:
    __slots__ = ()

    @property
    def service(self) -> str:
        return self.config.service

    def tags(self, **extra: str) -> dict[str, str]:
        """Tags on everything a release creates: how cleanup and rollback find their way back."""
        base = {
            f"{TAG_PREFIX}env": self.env,
            f"{TAG_PREFIX}service": self.service,
            f"{TAG_PREFIX}version": self.version,
            f"{TAG_PREFIX}release": self.release_id,
        }
        base.update({f"{TAG_PREFIX}{k}": v for k, v in extra.items()})
        return base


class DeployConfigReads:
    __slots__ = ()

    def request_count_route(self, policy: Any) -> Any:
        """The route whose target group an ALBRequestCountPerTarget policy counts."""
        return next((r for r in self.routes if r.name == policy.route), self.routes[0])

    @property
    def required_healthy(self) -> int:
        """Healthy targets a route needs; by default every desired task, but never above what
        autoscaling may scale the version in to."""
        if self.release.required_healthy:
            return self.release.required_healthy
        scaling = self.service_settings.autoscaling
        return min(self.service_settings.desired_count, scaling.min) if scaling else self.service_settings.desired_count


class ReleaseSettingsReads:
    __slots__ = ()

    def checks(self, phase: str) -> list[Any]:
        """The verification checks that run in `phase` (prepared or hold)."""
        return [c for c in self.verify if phase in c.when]


class RouteReads:
    __slots__ = ()

    @property
    def load_balancer(self) -> str:
        """`app/<name>/<id>`: the final part of the load balancer's ARN."""
        return load_balancer_of(self.public_rule_arn)


# -- the views ------------------------------------------------------------------------------------

class View:
    """Read-only attributes over one validated mapping; a field holding a model comes as its view."""

    __slots__ = ("_data",)
    # Fields whose values are models (or lists of models), and the view of each.
    MODELS: ClassVar[dict[str, type[View]]] = {}

    def __init__(self, data: dict[str, Any]) -> None:
        object.__setattr__(self, "_data", data)

    def __getattr__(self, name: str) -> Any:
        try:
            value = self._data[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}") from None
        view = self.MODELS.get(name)
        if view is None or value is None:
            return value
        return [view(item) for item in value] if isinstance(value, list) else view(value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"the plan is read-only ({type(self).__name__}.{name})")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._data == self._data

    __hash__ = None  # type: ignore[assignment]

    def model_dump(self, mode: str = "python") -> dict[str, Any]:
        return copy.deepcopy(self._data)


class PassesThroughView(View):
    """A model whose other keys are fields of an ECS request, passed through (cutover_steps.config.models.PassesThrough)."""

    __slots__ = ()
    AWS_SHAPE: ClassVar[str]
    # The model's own fields; every other key was passed through (a test compares them with the model's).
    FIELDS: ClassVar[frozenset[str]]

    def request_fields(self) -> dict[str, Any]:
        extra = {key: value for key, value in self._data.items() if key not in self.FIELDS}
        return aws_fields.request_fields(self.AWS_SHAPE, extra)


class ContainerView(PassesThroughView):
    __slots__ = ()
    AWS_SHAPE = aws_fields.CONTAINER
    FIELDS = frozenset({"name", "image", "essential", "cpu", "memory", "memory_reservation", "port_mappings",
                        "environment", "secrets", "allow_plaintext", "command", "entry_point", "log_configuration"})
    MODELS = {"port_mappings": View, "secrets": View, "log_configuration": View}


class TaskDefinitionView(PassesThroughView):
    __slots__ = ()
    AWS_SHAPE = aws_fields.TASK_DEFINITION
    FIELDS = frozenset({"family", "cpu", "memory", "network_mode", "requires_compatibilities", "execution_role_arn",
                        "task_role_arn", "containers"})
    MODELS = {"containers": ContainerView}


class AutoscalingView(View):
    __slots__ = ()
    MODELS = {"policies": View}


class ServiceSettingsView(PassesThroughView):
    __slots__ = ()
    AWS_SHAPE = aws_fields.SERVICE
    FIELDS = frozenset({"desired_count", "launch_type", "capacity_provider_strategy", "platform_version", "network",
                        "health_check_grace_period_seconds", "autoscaling"})
    MODELS = {"capacity_provider_strategy": View, "network": View, "autoscaling": AutoscalingView}


class RouteView(RouteReads, View):
    __slots__ = ()
    MODELS = {"health_check": View}


class VerifyCheckView(View):
    __slots__ = ()
    # `lambda` is a Python keyword: the model's field `lambda_` is written, and dumped, as `lambda`.
    MODELS = {"http": View, "lambda_": View}

    @property
    def lambda_(self) -> View | None:
        value = self._data.get("lambda")
        return None if value is None else View(value)


class AnalysisMetricView(View):
    __slots__ = ()
    MODELS = {"cloudwatch": View}


class AnalysisView(View):
    __slots__ = ()
    MODELS = {"metrics": AnalysisMetricView}


class ReleaseSettingsView(ReleaseSettingsReads, View):
    __slots__ = ()
    MODELS = {"approval": View, "traffic_steps": View, "verify": VerifyCheckView, "analysis": AnalysisView}


class DeployConfigView(DeployConfigReads, View):
    __slots__ = ()
    MODELS = {"task_definition": TaskDefinitionView, "service_settings": ServiceSettingsView, "routes": RouteView,
              "release": ReleaseSettingsView}


class StartInputView(View):
    """The start input LoadRelease validated (cutover_steps.config.models.StartInput dumped)."""

    __slots__ = ()
    MODELS = {"config": DeployConfigView}


class RoutePlanView(View):
    __slots__ = ()
    MODELS = {"route": RouteView}


class PlanView(PlanReads, View):
    __slots__ = ()
    MODELS = {"config": DeployConfigView, "routes": RoutePlanView}


def read_plan(data: dict[str, Any]) -> PlanView:
    """The plan LoadRelease returned (cutover_steps.plan.models.Plan dumped), for reading."""
    return PlanView(data)


# -- building the plan: the same code for the models (cutover_steps.plan.models, the command line) and LoadRelease --

def release_id_of(start_input: Any) -> str:
    """The release, not the execution: the same start input gives the same id, so a retried step,
    a re-started execution and a redriven one all recognise what the first one created."""
    canonical = json.dumps(start_input, sort_keys=True, separators=(",", ":"))
    return "r-" + hashlib.sha256(canonical.encode()).hexdigest()[:16]


def plan_fields(
    *,
    action: str,
    env: str,
    version: str,
    image: str | None,
    environment: dict[str, str],
    config: Any,
    release_id: str,
    names: dict[str, Any] | None = None,
    restore: dict[str, Any] | None = None,
    require_approval: bool = False,
) -> dict[str, Any]:
    """The plan's fields, in cutover_steps.plan.models.Plan's order, from a config model or view (the routes' too).

    `names` ({"ecs_service", "target_groups": {route: name}}) are the names a version actually has,
    from the release record, when they are not Cutover's own: an adopted version's.
    """
    many = len(config.routes) > 1
    given = (names or {}).get("target_groups") or {}
    routes = [
        {"route": route,
         "target_group_name": given.get(route.name) or naming.target_group_name(
             env, config.service, version, route.name if many else None)}
        for route in config.routes
    ]
    group_names = [r["target_group_name"] for r in routes]
    if len(set(group_names)) != len(group_names):
        raise ValueError(f"routes give the same target group name twice: {group_names}")
    approval = config.release.approval
    return {
        "action": action,
        "release_id": release_id,
        "env": env,
        "version": version,
        "image": image,
        "environment": environment,
        "config": config,
        "cluster": naming.cluster_name(config.cluster),
        "ecs_service": (names or {}).get("ecs_service") or naming.service_name(config.service, version),
        "lock_key": naming.lock_key(config.cluster, config.service),
        "record_key": naming.record_key(env, config.service),
        "routes": routes,
        "approval_heartbeat_seconds": approval.heartbeat_seconds or approval.timeout_seconds - 60,
        # A release waits when its config's approval mode is manual; a rollback, the way out of a bad
        # release, only when it was started with --require-approval (the definition's Choice reads this).
        "approval_needed": require_approval if action == "rollback" else approval.mode == "manual",
        "verify_prepared": bool(config.release.checks("prepared")),
        "restore": restore,
    }


def plan_data(**inputs: Any) -> dict[str, Any]:
    """The plan as LoadRelease hands it on (cutover_steps.plan.models.Plan dumped), from a validated config's view."""
    fields = plan_fields(**inputs)
    return {**fields, "config": fields["config"].model_dump(mode="json"),
            "routes": [{**r, "route": r["route"].model_dump(mode="json")} for r in fields["routes"]]}


def summary(plan: Any) -> dict[str, Any]:
    """What a release would create and change, for people: `cutover plan` and the audit."""
    settings = plan.config.service_settings
    return {
        "action": plan.action,
        "env": plan.env,
        "service": plan.service,
        "version": plan.version,
        "image": plan.image,
        "cluster": plan.cluster,
        "ecs_service": plan.ecs_service,
        "desired_count": settings.desired_count,
        "autoscaling": settings.autoscaling.model_dump() if settings.autoscaling else None,
        "task_definition_family": plan.config.task_definition.family,
        "routes": [
            {
                "route": r.route.name,
                "target_group": r.target_group_name,
                "preparing_rule": r.route.preparing_rule_arn,
                "public_rule": r.route.public_rule_arn,
            }
            for r in plan.routes
        ],
        "required_healthy": plan.config.required_healthy,
        "approval": plan.config.release.approval.mode,
        "traffic_steps": [s.model_dump() for s in plan.config.release.traffic_steps],
        "bake_seconds": plan.config.release.bake_seconds,
        "alarms": list(plan.config.release.alarm_names),
        "checks": [{"name": c.name, "kind": "http" if c.http else "lambda", "when": list(c.when)}
                   for c in plan.config.release.verify],
    }
