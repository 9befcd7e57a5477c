"""The deploy config (one service) and the start input of a release, as typed, validated models.

Unknown keys are rejected everywhere so that a typo fails the release before anything changes. The
task definition, its containers and the service settings also take any other field the ECS request
accepts (`PassesThrough`), checked against botocore's model of that request. The rules that span
fields live in cutover_steps.config.rules, which LoadRelease's checker (cutover_steps.config.check, generated
from these models) runs too.
"""
from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cutover_steps.config import aws_fields, rules as config_rules
from cutover_steps.config.rules import MAX_CONFIG_BYTES, format_validation_error
from cutover_steps.plan.view import DeployConfigReads, ReleaseSettingsReads, RouteReads

__all__ = ["MAX_CONFIG_BYTES", "format_validation_error"]  # re-exported: where the command line reads them

ENV_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?$"
SERVICE_PATTERN = r"^[A-Za-z0-9]([A-Za-z0-9_-]{0,98}[A-Za-z0-9])?$"
VERSION_PATTERN = r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,62}[A-Za-z0-9])?$"
RULE_ARN = r"^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:listener-rule/app/[^/]+/[0-9a-f]+/[0-9a-f]+/[0-9a-f]+$"
# Image references are printable ASCII without spaces (registry/name:tag@digest); anything else
# would only fail later, in RegisterTaskDefinition or when ECS pulls, after the release began.
IMAGE_PATTERN = r"^[!-~]+$"
ROLE_ARN = r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$"
NAME_PATTERN = r"^[A-Za-z0-9_-]{1,255}$"
ENV_VAR_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
ROUTE_NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,14}[a-z0-9])?$"
# The rules of the patterns, in words: what an error says instead of the regular expression.
PATTERN_WORDS = {
    ENV_PATTERN: "1-20 lowercase letters, digits and hyphens, starting and ending with a letter or digit (e.g. staging)",
    SERVICE_PATTERN: "1-100 letters, digits, hyphens and underscores, starting and ending with a letter or digit",
    VERSION_PATTERN: "1-64 letters, digits, dots, hyphens and underscores, starting and ending with a letter or digit, "
                     "no spaces (e.g. 1.4.2 or a commit id)",
    IMAGE_PATTERN: "an image reference without spaces (registry/name:tag or @sha256:digest)",
    RULE_ARN: "a listener rule ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener-rule/app/ALB/ID/LISTENER/RULE)",
    ROLE_ARN: "an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)",
    NAME_PATTERN: "1-255 letters, digits, hyphens and underscores",
    ROUTE_NAME_PATTERN: "1-16 lowercase letters, digits and hyphens, starting and ending with a letter or digit",
    r"^vpc-[0-9a-f]+$": "a VPC id (vpc- then hexadecimal digits)",
    r"^s3://[a-z0-9.-]{3,63}/.+$": "an S3 URI: s3://bucket/key",
    r"^\d+$": "a whole number written as a string, e.g. '256'",
    ENV_VAR_NAME: "a variable name: ASCII letters, digits and underscores, not starting with a digit",
}
STAT_PATTERN = r"^(Sum|Average|Minimum|Maximum|SampleCount|p(\d{1,2}(\.\d{1,2})?|100))$"


def checked_by(rule: Any) -> Any:
    """A validator running `rule` (cutover_steps.config.rules) on the model's data; `rule` names it for the checker."""
    def check(self: BaseModel) -> BaseModel:
        rule(self.model_dump(mode="json"))
        return self

    check.rule = rule
    return model_validator(mode="after")(check)


def checked_before_by(rule: Any) -> Any:
    """A validator passing the model's input through `rule` before the fields are validated."""
    def check(cls: type, data: Any) -> Any:
        return rule(data)

    check.rule = rule
    return model_validator(mode="before")(check)


def field_checked_by(field: str, rule: Any) -> Any:
    """A validator running `rule` on a list of models' data, once the list itself is valid."""
    def check(cls: type, items: list[BaseModel]) -> list[BaseModel]:
        rule([item.model_dump(mode="json") for item in items])
        return items

    check.rule = rule
    return field_validator(field)(check)


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class PassesThrough(Model):
    """A model whose other keys are fields of an ECS request (`aws_fields`), passed through as given."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)
    aws_shape: ClassVar[str]

    @model_validator(mode="after")
    def _aws_fields(self) -> Any:
        if self.model_extra:
            aws_fields.check_extra(self.aws_shape, self.model_extra, own=type(self).model_fields)
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

    name: str = Field(pattern=NAME_PATTERN)
    image: str | None = Field(
        default=None, pattern=IMAGE_PATTERN,
        description="Leave empty to receive the release's image; set it for sidecars whose image is fixed.",
    )
    essential: bool = True
    cpu: int | None = Field(default=None, ge=0)
    memory: int | None = Field(default=None, ge=4)
    memory_reservation: int | None = Field(default=None, ge=4)
    port_mappings: list[PortMapping] = Field(default_factory=list)
    environment: dict[str, str] = Field(
        default_factory=dict,
        description="Plain values; a name that looks like a secret (PASSWORD, SECRET, TOKEN, API_KEY, PRIVATE_KEY…) "
                    "is refused unless listed in allow_plaintext: give secrets as secrets",
    )
    secrets: list[Secret] = Field(default_factory=list)
    allow_plaintext: list[str] = Field(
        default_factory=list,
        description="Names in environment (or --env-var names this container receives) whose plain value is "
                    "not secret although the name looks so",
    )
    command: list[str] | None = None
    entry_point: list[str] | None = None
    log_configuration: LogConfiguration | None = None

    _no_plain_secrets = checked_by(config_rules.no_plain_secrets)


class TaskDefinition(PassesThrough):
    """The part of the task definition that lives in the service's repository."""

    aws_shape: ClassVar[str] = aws_fields.TASK_DEFINITION

    family: str = Field(pattern=NAME_PATTERN)
    cpu: str = Field(pattern=r"^\d+$", description="CPU units, e.g. '256'")
    memory: str = Field(pattern=r"^\d+$", description="MiB, e.g. '512'")
    network_mode: Literal["awsvpc", "bridge", "host"] = "awsvpc"
    requires_compatibilities: list[Literal["FARGATE", "EC2", "EXTERNAL"]] = Field(
        default_factory=lambda: ["FARGATE"]
    )
    execution_role_arn: str | None = Field(default=None, pattern=ROLE_ARN)
    task_role_arn: str | None = Field(default=None, pattern=ROLE_ARN)
    containers: list[Container] = Field(min_length=1, max_length=10)

    _unique_names = field_checked_by("containers", config_rules.unique_container_names)


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

    _min_le_max = checked_by(config_rules.autoscaling_limits)


class ServiceSettings(PassesThrough):
    aws_shape: ClassVar[str] = aws_fields.SERVICE

    desired_count: int = Field(ge=1, le=5000)
    launch_type: Literal["FARGATE", "EC2", "EXTERNAL"] | None = None
    capacity_provider_strategy: list[CapacityProvider] = Field(default_factory=list, max_length=6)
    platform_version: str | None = None
    network: NetworkConfiguration | None = None
    health_check_grace_period_seconds: int = Field(default=60, ge=0, le=2147483647)
    autoscaling: Autoscaling | None = None

    _one_placement = checked_by(config_rules.one_placement)


class HealthCheck(Model):
    path: str = Field(default="/", pattern=r"^/.{0,1023}$")
    interval_seconds: int = Field(default=15, ge=5, le=300)
    timeout_seconds: int = Field(default=5, ge=2, le=120)
    healthy_threshold: int = Field(default=2, ge=2, le=10)
    unhealthy_threshold: int = Field(default=3, ge=2, le=10)
    matcher: str = Field(default="200", pattern=r"^[0-9,-]{3,}$")

    _timeout_below_interval = checked_by(config_rules.timeout_below_interval)


class Route(RouteReads, Model):
    """One way in: a target group on one ALB, a preparing rule and a public rule of that ALB."""

    name: str = Field(pattern=ROUTE_NAME_PATTERN)
    container: str
    port: int = Field(ge=1, le=65535)
    vpc_id: str = Field(pattern=r"^vpc-[0-9a-f]+$")
    protocol: Literal["HTTP", "HTTPS"] = "HTTP"
    health_check: HealthCheck = Field(default_factory=HealthCheck)
    preparing_rule_arn: str = Field(pattern=RULE_ARN)
    public_rule_arn: str = Field(pattern=RULE_ARN)
    preparing_url: str | None = Field(default=None, description="Shown to approvers")

    _two_rules = checked_by(config_rules.two_rules)


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

    _default_heartbeat = checked_before_by(config_rules.default_heartbeat)
    _heartbeat_below_timeout = checked_by(config_rules.heartbeat_below_timeout)


LAMBDA_FUNCTION_ARN = r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]{1,128})?$"


class HttpCheck(Model):
    url: str = Field(pattern=r"^https?://[^\s/]+(/\S*)?$", description="http:// or https:// URL the check requests (GET)")
    expect_status: int = Field(default=200, ge=100, le=599)
    timeout_seconds: int = Field(default=5, ge=1, le=60, description="Per attempt")
    attempts: int = Field(default=3, ge=1, le=10, description="Tries (one second apart) before the check fails")


class LambdaCheck(Model):
    function_arn: str = Field(
        pattern=LAMBDA_FUNCTION_ARN,
        description="The function (ARN, optionally with a version or alias) invoked with the release context; "
                    "it answers {\"passed\": bool, \"message\": str}. The stack must list it in check_function_arns",
    )
    timeout_seconds: int = Field(
        default=10, ge=1, le=30,
        description="How long the check may take: invoked once per look, a function that has not answered by then "
                    "fails the check (timed out)",
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

    _one_kind = checked_by(config_rules.one_kind)


class CloudWatchMetric(Model):
    """A metric of the service's own, read for each version: `${version}` in a dimension's value is the version."""

    namespace: str = Field(pattern=r"^[^:]{1,255}$")
    metric_name: str = Field(min_length=1, max_length=255)
    dimensions: dict[str, str] = Field(default_factory=dict, max_length=30)
    stat: str = Field(default="Sum", pattern=STAT_PATTERN,
                      description="Sum, Average, Minimum, Maximum, SampleCount or a percentile such as p99; Sum and "
                                  "SampleCount are compared per request, as the versions serve different shares")


class AnalysisMetric(Model):
    """One metric the judge compares, new version against old: an ALB metric of each version's target group, or
    a CloudWatch metric of the service's own."""

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    alb: Literal["error_rate", "p99_latency"] | None = Field(
        default=None,
        description="error_rate: HTTPCode_Target_5XX_Count / RequestCount, judged by a two-proportion test; "
                    "p99_latency: TargetResponseTime p99",
    )
    cloudwatch: CloudWatchMetric | None = None
    max_increase: float | None = Field(default=None, ge=0, description="Fails when new − old is above it (error_rate: a share, 0.01 = one point)")
    max_ratio: float | None = Field(default=None, ge=1, description="Fails when new / old is above it")

    _one_source = checked_by(config_rules.one_source)


class Analysis(Model):
    """The canary judge: during every hold and the bake, each version judged by its own target group's metrics."""

    interval_seconds: int = Field(default=60, ge=1, le=600, description="How often it judges")
    min_requests: int = Field(default=200, ge=1, description="Fewer requests on either side: inconclusive, not a pass")
    confidence: float = Field(default=0.95, ge=0.5, le=0.999, description="Of the error-rate test")
    inconclusive: Literal["extend", "fail", "ask"] = Field(
        default="extend",
        description="At the end of a hold still inconclusive: extend the hold (up to max_extend_seconds, then fail), "
                    "fail, or ask an operator",
    )
    max_extend_seconds: int = Field(default=600, ge=0, le=86400)
    metrics: list[AnalysisMetric] = Field(min_length=1, max_length=10)

    _unique_metrics = field_checked_by("metrics", config_rules.unique_metrics)


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

    analysis: Analysis | None = Field(
        default=None, description="The canary judge: the new version compared with the old one during every hold and the bake",
    )
    capacity: Literal["full", "proportional"] = Field(
        default="full",
        description="full: the new version runs at desired_count from the start; proportional: before each traffic step "
                    "it is scaled to ceil(desired_count x percent / 100 x 1.25), never below required_healthy",
    )

    _unique_checks = field_checked_by("verify", config_rules.unique_checks)
    _judged = checked_by(config_rules.analysis_has_holds)
    _ends_at_100 = field_checked_by("traffic_steps", config_rules.ends_at_100)
    _fits_in_execution = checked_by(config_rules.fits_in_execution)


class DeployConfig(DeployConfigReads, Model):
    """Everything Cutover needs to know about one service, kept beside the service's code."""

    service: str = Field(pattern=SERVICE_PATTERN)
    cluster: str = Field(min_length=1, description="Cluster name or ARN")
    task_definition: TaskDefinition
    service_settings: ServiceSettings
    routes: list[Route] = Field(min_length=1, max_length=5)
    release: ReleaseSettings = Field(default_factory=ReleaseSettings)

    _routes_fit = checked_by(config_rules.routes_fit)


class StartedBy(Model):
    """Who started a release: the name they gave and the AWS identity that called StartExecution."""

    name: str = Field(min_length=1, max_length=256)
    identity: str | None = Field(default=None, max_length=2048, description="the caller's ARN (STS GetCallerIdentity)")


class StartInput(Model):
    """What CI passes to StartExecution."""

    action: Literal["release", "rollback"] = "release"
    env: str = Field(pattern=ENV_PATTERN, description="lowercase letters, digits, hyphens; 1-20 chars")
    version: str | None = Field(default=None, pattern=VERSION_PATTERN)
    image: str | None = Field(default=None, min_length=1, max_length=1024, pattern=IMAGE_PATTERN)
    config: DeployConfig | None = None
    config_uri: str | None = Field(default=None, pattern=r"^s3://[a-z0-9.-]{3,63}/.+$")
    service: str | None = Field(default=None, pattern=SERVICE_PATTERN, description="rollback only")
    require_approval: bool = Field(
        default=False, description="rollback only: wait for an operator's approval (a rollback does not otherwise, "
                                   "whatever the kept config's approval.mode)")
    environment: dict[
        Annotated[str, Field(pattern=ENV_VAR_NAME)], str
    ] = Field(default_factory=dict)
    started_by: StartedBy | None = Field(
        default=None, description="who started the release (cutover start and rollback fill it in); the ledger keeps it")

    _complete = checked_by(config_rules.complete_start)
