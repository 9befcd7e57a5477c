"""The deploy config (one service) and the start input of a release, as typed, validated models.

Unknown keys are rejected everywhere so that a typo fails the release before anything changes. The
task definition, its containers and the service settings also take any other field the ECS request
accepts (`PassesThrough`), checked against botocore's model of that request.
"""
from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from release import aws_fields
from release.plan_view import DeployConfigReads, ReleaseSettingsReads, RouteReads, load_balancer_of

MAX_CONFIG_BYTES = 64 * 1024  # keeps every state's data well under Step Functions' 256 KiB

ENV_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?$"
SERVICE_PATTERN = r"^[A-Za-z0-9]([A-Za-z0-9_-]{0,98}[A-Za-z0-9])?$"
VERSION_PATTERN = r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,62}[A-Za-z0-9])?$"
RULE_ARN = r"^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:listener-rule/app/[^/]+/[0-9a-f]+/[0-9a-f]+/[0-9a-f]+$"
# Image references are printable ASCII without spaces (registry/name:tag@digest); anything else
# would only fail later, in RegisterTaskDefinition or when ECS pulls, after the release began.
IMAGE_PATTERN = r"^[!-~]+$"
ROLE_ARN = r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$"


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class PassesThrough(Model):
    """A model whose other keys are fields of an ECS request (`aws_fields`), passed through as given."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)
    aws_shape: ClassVar[str]

    @model_validator(mode="after")
    def _aws_fields(self) -> Any:
        if self.model_extra:
            aws_fields.check_extra(self.aws_shape, self.model_extra)
        return self

    def request_fields(self) -> dict[str, Any]:
        """The passed-through fields as request members (the model's own are mapped by the steps)."""
        return aws_fields.request_fields(self.aws_shape, self.model_extra or {})


class PortMapping(Model):
    container_port: int = Field(ge=1, le=65535)
    protocol: Literal["tcp", "udp"] = "tcp"


class Secret(Model):
    name: str = Field(min_length=1)
    value_from: str = Field(min_length=1, description="Secrets Manager or SSM parameter ARN")


class LogConfiguration(Model):
    log_driver: str = "awslogs"
    options: dict[str, str] = Field(default_factory=dict)


class Container(PassesThrough):
    aws_shape: ClassVar[str] = aws_fields.CONTAINER

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,255}$")
    image: str | None = Field(
        default=None, pattern=IMAGE_PATTERN,
        description="Leave empty to receive the release's image; set it for sidecars whose image is fixed.",
    )
    essential: bool = True
    cpu: int | None = Field(default=None, ge=0)
    memory: int | None = Field(default=None, ge=4)
    memory_reservation: int | None = Field(default=None, ge=4)
    port_mappings: list[PortMapping] = Field(default_factory=list)
    environment: dict[str, str] = Field(default_factory=dict)
    secrets: list[Secret] = Field(default_factory=list)
    command: list[str] | None = None
    entry_point: list[str] | None = None
    log_configuration: LogConfiguration | None = None


class TaskDefinition(PassesThrough):
    """The part of the task definition that lives in the service's repository."""

    aws_shape: ClassVar[str] = aws_fields.TASK_DEFINITION

    family: str = Field(pattern=r"^[A-Za-z0-9_-]{1,255}$")
    cpu: str = Field(pattern=r"^\d+$", description="CPU units, e.g. '256'")
    memory: str = Field(pattern=r"^\d+$", description="MiB, e.g. '512'")
    network_mode: Literal["awsvpc", "bridge", "host"] = "awsvpc"
    requires_compatibilities: list[Literal["FARGATE", "EC2", "EXTERNAL"]] = Field(
        default_factory=lambda: ["FARGATE"]
    )
    execution_role_arn: str | None = Field(default=None, pattern=ROLE_ARN)
    task_role_arn: str | None = Field(default=None, pattern=ROLE_ARN)
    containers: list[Container] = Field(min_length=1, max_length=10)

    @field_validator("containers")
    @classmethod
    def _unique_names(cls, containers: list[Container]) -> list[Container]:
        names = [c.name for c in containers]
        if len(set(names)) != len(names):
            raise ValueError(f"container names must be unique, got {names}")
        return containers


class NetworkConfiguration(Model):
    subnets: list[str] = Field(min_length=1, max_length=16)
    security_groups: list[str] = Field(min_length=1, max_length=5)
    assign_public_ip: bool = False


class CapacityProvider(Model):
    capacity_provider: str
    weight: int = Field(default=1, ge=0, le=1000)
    base: int = Field(default=0, ge=0, le=100000)


class TargetTrackingPolicy(Model):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,200}$")
    metric: Literal[
        "ECSServiceAverageCPUUtilization",
        "ECSServiceAverageMemoryUtilization",
        "ALBRequestCountPerTarget",
    ]
    target: float = Field(gt=0)
    route: str | None = Field(
        default=None,
        description="ALBRequestCountPerTarget only: the route whose target group counts the requests; "
        "needed when the service has several routes",
    )
    scale_in_cooldown_seconds: int = Field(default=300, ge=0)
    scale_out_cooldown_seconds: int = Field(default=60, ge=0)


class Autoscaling(Model):
    # At least 1: a release waits for healthy targets, and a service scaled in to zero has none.
    min: int = Field(ge=1, le=5000)
    max: int = Field(ge=1, le=5000)
    policies: list[TargetTrackingPolicy] = Field(default_factory=list, max_length=10)

    @model_validator(mode="after")
    def _min_le_max(self) -> Autoscaling:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) must not exceed max ({self.max})")
        return self


class ServiceSettings(PassesThrough):
    aws_shape: ClassVar[str] = aws_fields.SERVICE

    desired_count: int = Field(ge=1, le=5000)
    launch_type: Literal["FARGATE", "EC2", "EXTERNAL"] | None = None
    capacity_provider_strategy: list[CapacityProvider] = Field(default_factory=list, max_length=6)
    platform_version: str | None = None
    network: NetworkConfiguration | None = None
    health_check_grace_period_seconds: int = Field(default=60, ge=0, le=2147483647)
    autoscaling: Autoscaling | None = None

    @model_validator(mode="after")
    def _one_placement(self) -> ServiceSettings:
        if self.launch_type and self.capacity_provider_strategy:
            raise ValueError("set launch_type or capacity_provider_strategy, not both")
        if not self.launch_type and not self.capacity_provider_strategy:
            raise ValueError("set launch_type (e.g. FARGATE) or capacity_provider_strategy")
        return self


class HealthCheck(Model):
    path: str = Field(default="/", pattern=r"^/.{0,1023}$")
    interval_seconds: int = Field(default=15, ge=5, le=300)
    timeout_seconds: int = Field(default=5, ge=2, le=120)
    healthy_threshold: int = Field(default=2, ge=2, le=10)
    unhealthy_threshold: int = Field(default=3, ge=2, le=10)
    matcher: str = Field(default="200", pattern=r"^[0-9,-]{3,}$")

    @model_validator(mode="after")
    def _timeout_below_interval(self) -> HealthCheck:
        # AWS refuses it at CreateTargetGroup, which runs after the lock is taken.
        if self.timeout_seconds >= self.interval_seconds:
            raise ValueError(
                f"timeout_seconds ({self.timeout_seconds}) must be below interval_seconds ({self.interval_seconds}); "
                "lower the timeout or raise the interval"
            )
        return self


class Route(RouteReads, Model):
    """One way in: a target group on one ALB, a preparing rule and a public rule of that ALB."""

    name: str = Field(pattern=r"^[a-z0-9]([a-z0-9-]{0,14}[a-z0-9])?$")
    container: str
    port: int = Field(ge=1, le=65535)
    vpc_id: str = Field(pattern=r"^vpc-[0-9a-f]+$")
    protocol: Literal["HTTP", "HTTPS"] = "HTTP"
    health_check: HealthCheck = Field(default_factory=HealthCheck)
    preparing_rule_arn: str = Field(pattern=RULE_ARN)
    public_rule_arn: str = Field(pattern=RULE_ARN)
    preparing_url: str | None = Field(default=None, description="Shown to approvers")

    @model_validator(mode="after")
    def _two_rules(self) -> Route:
        if self.preparing_rule_arn == self.public_rule_arn:
            raise ValueError("preparing_rule_arn and public_rule_arn must be different rules")
        # The route's target group serves both rules, and a target group belongs to one load balancer.
        if load_balancer_of(self.preparing_rule_arn) != load_balancer_of(self.public_rule_arn):
            raise ValueError(
                f"preparing_rule_arn is a rule of load balancer {load_balancer_of(self.preparing_rule_arn)} and "
                f"public_rule_arn of {load_balancer_of(self.public_rule_arn)}; a target group belongs to one load "
                "balancer, so both rules of a route must be on the same one (add a route per load balancer)"
            )
        return self


class TrafficStep(Model):
    percent: int = Field(ge=1, le=100, description="Share of requests for the new version")
    hold_seconds: int = Field(ge=0, le=86400)


class Approval(Model):
    # Step Functions takes any positive timeout; minimums of seconds let local runs and tests
    # exercise a timed-out approval without waiting minutes.
    mode: Literal["manual", "auto"] = "manual"
    timeout_seconds: int = Field(default=86400, ge=2, le=604800)
    heartbeat_seconds: int | None = Field(
        default=None, ge=1,
        description="Defaults to the timeout less one minute (half the timeout when that is two minutes or less)",
    )

    @model_validator(mode="before")
    @classmethod
    def _default_heartbeat(cls, data: Any) -> Any:
        # Filled in here so that no timeout gives a heartbeat of zero or less, which the
        # waitForTaskToken state would reject at run time, after the version was prepared.
        if isinstance(data, dict) and data.get("heartbeat_seconds") is None:
            timeout = data.get("timeout_seconds", 86400)
            if isinstance(timeout, int) and not isinstance(timeout, bool) and timeout >= 2:
                data = {**data, "heartbeat_seconds": timeout - 60 if timeout > 120 else timeout // 2}
        return data

    @model_validator(mode="after")
    def _heartbeat_below_timeout(self) -> Approval:
        if self.heartbeat_seconds is not None and self.heartbeat_seconds >= self.timeout_seconds:
            raise ValueError("heartbeat_seconds must be below timeout_seconds")
        return self


LAMBDA_FUNCTION_ARN = r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]{1,128})?$"


# The HTTP checks of one phase run one after the other inside a step whose function has 60 s: at
# worst (every attempt timing out) they must end well before that.
HTTP_CHECKS_BUDGET_SECONDS = 40


class HttpCheck(Model):
    url: str = Field(pattern=r"^https?://[^\s/]+(/\S*)?$", description="http:// or https:// URL the check requests (GET)")
    expect_status: int = Field(default=200, ge=100, le=599)
    timeout_seconds: int = Field(default=5, ge=1, le=60, description="Per attempt")
    attempts: int = Field(default=3, ge=1, le=10, description="Tries (one second apart) before the check fails")

    @property
    def worst_seconds(self) -> int:
        return self.attempts * self.timeout_seconds + self.attempts - 1


class LambdaCheck(Model):
    function_arn: str = Field(
        pattern=LAMBDA_FUNCTION_ARN,
        description="The function (ARN, optionally with a version or alias) invoked with the release context; "
                    "it answers {\"passed\": bool, \"message\": str}. The stack must list it in check_function_arns",
    )


class VerifyCheck(Model):
    """A verification check: an HTTP request or a Lambda function, run after the health gate and/or during holds."""

    # `lambda` is a Python keyword: the field is `lambda_`, written and read back as `lambda`.
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True, serialize_by_alias=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    http: HttpCheck | None = None
    lambda_: LambdaCheck | None = Field(default=None, alias="lambda")
    when: list[Literal["prepared", "hold"]] = Field(
        default_factory=lambda: ["prepared"], min_length=1,
        description="prepared: after the health gate, before approval; hold: at every alarm look during traffic "
                    "holds and the bake",
    )

    @model_validator(mode="after")
    def _one_kind(self) -> VerifyCheck:
        if (self.http is None) == (self.lambda_ is None):
            kinds = "http (url, expect_status, timeout_seconds, attempts) or lambda (function_arn)"
            if self.http is None:
                raise ValueError(f"http: check {self.name!r} needs one of {kinds}")
            raise ValueError(f"lambda: check {self.name!r} has both http and lambda; keep one (a check is one or the other)")
        if len(set(self.when)) != len(self.when):
            raise ValueError(f"when: name each phase once, got {self.when}")
        return self


class ReleaseSettings(ReleaseSettingsReads, Model):
    required_healthy: int | None = Field(
        default=None, ge=1, description="Healthy targets needed per route; defaults to desired_count"
    )
    # At most 10 minutes between two looks: the waiting steps look inside one invocation, which has to
    # sleep a whole interval and still keep a margin before Lambda's 15-minute limit.
    poll_interval_seconds: int = Field(default=15, ge=1, le=600)
    health_timeout_seconds: int = Field(default=600, ge=1, le=86400)
    approval: Approval = Field(default_factory=Approval)
    traffic_steps: list[TrafficStep] = Field(
        default_factory=lambda: [TrafficStep(percent=50, hold_seconds=60), TrafficStep(percent=100, hold_seconds=0)],
        min_length=1,
        max_length=20,
    )
    alarm_names: list[str] = Field(default_factory=list, max_length=100)
    alarm_check_seconds: int = Field(default=10, ge=1, le=600)
    bake_seconds: int = Field(
        default=0, ge=0, le=86400,
        description="After 100 %, how long the old version keeps its tasks and autoscaling while alarms are watched",
    )
    allow_alarms_before_switch: bool = False
    retired_versions_to_keep: int = Field(default=1, ge=1, le=20)
    deleted_revisions: Literal["deregister", "delete", "keep"] = Field(
        default="deregister",
        description="What cleanup does with the task definition revision of a version it deletes: deregister it "
                    "(INACTIVE), deregister and delete it, or keep it. A revision a remaining version still runs, or "
                    "one Cutover did not register, is always kept",
    )
    on_prepare_failure: Literal["scale_to_zero", "delete"] = "scale_to_zero"
    verify: list[VerifyCheck] = Field(
        default_factory=list, max_length=10,
        description="Checks that must pass: a failing one undoes the release as a failing health gate (prepared) or an "
                    "alarm (hold) does",
    )

    @field_validator("verify")
    @classmethod
    def _unique_checks(cls, checks: list[VerifyCheck]) -> list[VerifyCheck]:
        names = [c.name for c in checks]
        if len(set(names)) != len(names):
            repeated = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"check names must be unique; rename {', '.join(repeated)}")
        for phase in ("prepared", "hold"):
            http = [c for c in checks if phase in c.when and c.http is not None]
            worst = sum(c.http.worst_seconds for c in http)
            if worst > HTTP_CHECKS_BUDGET_SECONDS:
                raise ValueError(
                    f"the {phase} HTTP checks ({', '.join(c.name for c in http)}) could take {worst} s when every "
                    f"attempt times out (attempts x timeout_seconds + a second between attempts); at most "
                    f"{HTTP_CHECKS_BUDGET_SECONDS} s: lower attempts or timeout_seconds"
                )
        return checks

    @field_validator("traffic_steps")
    @classmethod
    def _ends_at_100(cls, steps: list[TrafficStep]) -> list[TrafficStep]:
        percents = [s.percent for s in steps]
        if percents[-1] != 100:
            raise ValueError(f"the last traffic step must be 100 percent, got {percents}")
        if any(b <= a for a, b in zip(percents, percents[1:])):
            raise ValueError(f"traffic step percents must increase, got {percents}")
        return steps


class DeployConfig(DeployConfigReads, Model):
    """Everything Cutover needs to know about one service, kept beside the service's code."""

    service: str = Field(pattern=SERVICE_PATTERN)
    cluster: str = Field(min_length=1, description="Cluster name or ARN")
    task_definition: TaskDefinition
    service_settings: ServiceSettings
    routes: list[Route] = Field(min_length=1, max_length=5)
    release: ReleaseSettings = Field(default_factory=ReleaseSettings)

    @model_validator(mode="after")
    def _routes_fit(self) -> DeployConfig:
        containers = {c.name: c for c in self.task_definition.containers}
        names = [r.name for r in self.routes]
        if len(set(names)) != len(names):
            raise ValueError(f"route names must be unique, got {names}")
        rules = [a for r in self.routes for a in (r.preparing_rule_arn, r.public_rule_arn)]
        if len(set(rules)) != len(rules):
            raise ValueError("each route needs its own preparing and public rule")
        for route in self.routes:
            container = containers.get(route.container)
            if container is None:
                raise ValueError(
                    f"route {route.name!r} names container {route.container!r}, "
                    f"which is not in task_definition.containers ({sorted(containers)})"
                )
            if route.port not in {p.container_port for p in container.port_mappings}:
                raise ValueError(
                    f"route {route.name!r} uses port {route.port}, which container "
                    f"{route.container!r} does not map in port_mappings"
                )
        if not any(c.image is None for c in self.task_definition.containers):
            raise ValueError("leave image empty on at least one container: the release fills it in")
        if self.task_definition.network_mode == "awsvpc" and self.service_settings.network is None:
            raise ValueError("network_mode awsvpc needs service_settings.network (subnets, security_groups)")
        required = self.release.required_healthy
        if required is not None and required > self.service_settings.desired_count:
            raise ValueError(
                f"release.required_healthy ({required}) exceeds service_settings.desired_count "
                f"({self.service_settings.desired_count})"
            )
        scaling = self.service_settings.autoscaling
        if required is not None and scaling is not None and required > scaling.min:
            # Autoscaling may scale the new version in to min while it waits for approval; the health
            # re-check before the switch would then never see enough healthy targets.
            raise ValueError(
                f"release.required_healthy ({required}) exceeds service_settings.autoscaling.min ({scaling.min}); "
                "lower required_healthy or raise min"
            )
        if scaling is not None:
            self._check_request_count_policies(scaling, names)
        return self

    def _check_request_count_policies(self, scaling: Autoscaling, routes: list[str]) -> None:
        for index, policy in enumerate(scaling.policies):
            field = f"service_settings.autoscaling.policies.{index}.route"
            if policy.metric != "ALBRequestCountPerTarget":
                if policy.route is not None:
                    raise ValueError(f"{field}: only ALBRequestCountPerTarget counts requests of a route; remove route")
                continue
            if policy.route is None and len(routes) > 1:
                raise ValueError(
                    f"{field}: ALBRequestCountPerTarget needs the route whose target group counts the requests "
                    f"(AWS's ResourceLabel); set it to one of {routes}"
                )
            if policy.route is not None and policy.route not in routes:
                raise ValueError(f"{field}: no route named {policy.route!r}; set it to one of {routes}")


class StartInput(Model):
    """What CI passes to StartExecution."""

    action: Literal["release", "rollback"] = "release"
    env: str = Field(pattern=ENV_PATTERN, description="lowercase letters, digits, hyphens; 1-20 chars")
    version: str | None = Field(default=None, pattern=VERSION_PATTERN)
    image: str | None = Field(default=None, min_length=1, max_length=1024, pattern=IMAGE_PATTERN)
    config: DeployConfig | None = None
    config_uri: str | None = Field(default=None, pattern=r"^s3://[a-z0-9.-]{3,63}/.+$")
    service: str | None = Field(default=None, pattern=SERVICE_PATTERN, description="rollback only")
    environment: dict[
        Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")], str
    ] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _complete(self) -> StartInput:
        if self.action == "release":
            missing = [f for f in ("version", "image") if getattr(self, f) is None]
            if missing:
                raise ValueError(f"a release needs {' and '.join(missing)}")
            if (self.config is None) == (self.config_uri is None):
                raise ValueError("give exactly one of config (inline object) or config_uri (s3://bucket/key)")
        elif self.service is None:
            raise ValueError("a rollback needs service (the deploy config's service name)")
        return self


def format_validation_error(error) -> str:
    """One line per problem, each naming the field path: what Catch and the CLI show."""
    lines = []
    for problem in error.errors():
        path = ".".join(str(p) for p in problem["loc"]) or "(top level)"
        message = problem["msg"]
        # A pass-through field's check names the field below the model's own level (aws_fields).
        nested = re.match(r"^Value error, ([a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)*): (.+)$", message, re.S)
        if nested and problem["type"] == "value_error":
            path, message = (f"{path}.{nested.group(1)}" if path != "(top level)" else nested.group(1)), nested.group(2)
        if problem["type"] == "extra_forbidden":
            message = "unknown key; remove it or check its spelling against the config reference"
        elif problem["type"] == "missing":
            message = "required field is missing"
        lines.append(f"{path}: {message}")
    return "; ".join(lines)
