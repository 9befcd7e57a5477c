"""The deploy config's rules that span fields, written once over the config's data (its JSON form), and
how its problems are worded.

The models of cutover_steps.config.models run them in their validators, and LoadRelease's checker
(cutover_steps.config.check) runs the same functions on the same data, so the command line and the
state machine never disagree on what is valid. Each raises ValueError with the message people see.
"""
from __future__ import annotations

import re
from typing import Any

from cutover_steps.plan.view import load_balancer_of

MAX_CONFIG_BYTES = 64 * 1024  # keeps every state's data well under Step Functions' 256 KiB
# The checks of one phase run one after the other inside a step whose function has 60 s: at worst
# (every HTTP attempt and every Lambda check timing out) they must end well before that.
HTTP_CHECKS_BUDGET_SECONDS = 40
# A Lambda check's read timeout is this much above its budget (timeout_seconds): the answer of a
# function that takes its whole budget is still read, not cut off by the connection first.
LAMBDA_READ_MARGIN_SECONDS = 2
DEFAULT_APPROVAL_TIMEOUT = 86400
# Names that say their value is a secret. A plain value travels in the start input and the task
# definition, which the execution history shows to anyone with states:GetExecutionHistory.
SECRET_NAME = re.compile(
    r"PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIAL|AUTH_?KEY|SIGNING_?KEY|"
    r"DATABASE_URL|DSN", re.IGNORECASE)


def looks_secret(name: str) -> bool:
    return bool(SECRET_NAME.search(name))


def _plain_secrets_message(field: str, names: list[str], where: str) -> str:
    listed = ", ".join(names)
    return (f"{field}: {listed} looks like a secret, and a plain value is readable by anyone who reads the execution "
            f"history or the task definition; give it in secrets ({{name: {names[0]}, value_from: <Secrets Manager "
            f"or SSM parameter ARN>}}) instead, or, if it is not secret, list it in {where}allow_plaintext: [{listed}]")


def no_plain_secrets(container: dict[str, Any]) -> None:
    """A container's environment holds no value whose name says it is a secret, unless allowed by name."""
    allowed = set(container["allow_plaintext"])
    found = sorted(n for n in container["environment"] if looks_secret(n) and n not in allowed)
    if found:
        raise ValueError(_plain_secrets_message("environment", found, ""))


def deploy_time_secrets(environment: dict[str, Any], config: dict[str, Any]) -> list[str]:
    """The deploy-time variables (`--env-var`) that look like secrets and that no container receiving
    them allows as plain text."""
    receivers = [c for c in config["task_definition"]["containers"] if c.get("image") is None]
    return sorted(n for n in environment
                  if looks_secret(n) and not any(n in (c.get("allow_plaintext") or []) for c in receivers))


def refuse_deploy_time_secrets(environment: dict[str, Any], config: dict[str, Any]) -> None:
    found = deploy_time_secrets(environment, config)
    if found:
        raise ValueError(_plain_secrets_message(
            "environment (--env-var)", found, "the containers' (those that receive the release's image) "))
# How long one execution may run: the definition's TimeoutSeconds (statemachine/release.asl.json; a
# unit test holds the two equal). Past it the execution times out wherever it is.
EXECUTION_TIMEOUT_SECONDS = 8 * 86400
# Beside the waits a config sets, what the other steps of one run may take at most (each step's
# function time limit, its retries, the undo): an allowance, generous against the minutes they take.
STEPS_ALLOWANCE_SECONDS = 3600
# The health waits of one run: the new version's, the re-check before switching, and the old
# version's when traffic goes back to it.
HEALTH_WAITS = 3


def unique_container_names(containers: list[dict[str, Any]]) -> None:
    names = [c["name"] for c in containers]
    if len(set(names)) != len(names):
        raise ValueError(f"container names must be unique, got {names}")


def autoscaling_limits(scaling: dict[str, Any]) -> None:
    if scaling["min"] > scaling["max"]:
        raise ValueError(f"min ({scaling['min']}) must not exceed max ({scaling['max']})")


def one_placement(settings: dict[str, Any]) -> None:
    if settings["launch_type"] and settings["capacity_provider_strategy"]:
        raise ValueError("set launch_type or capacity_provider_strategy, not both")
    if not settings["launch_type"] and not settings["capacity_provider_strategy"]:
        raise ValueError("set launch_type (e.g. FARGATE) or capacity_provider_strategy")


def timeout_below_interval(check: dict[str, Any]) -> None:
    # AWS refuses it at CreateTargetGroup, which runs after the lock is taken.
    if check["timeout_seconds"] >= check["interval_seconds"]:
        raise ValueError(
            f"timeout_seconds ({check['timeout_seconds']}) must be below interval_seconds ({check['interval_seconds']}); "
            "lower the timeout or raise the interval"
        )


def two_rules(route: dict[str, Any]) -> None:
    preparing, public = route["preparing_rule_arn"], route["public_rule_arn"]
    if preparing == public:
        raise ValueError("preparing_rule_arn and public_rule_arn must be different rules")
    # The route's target group serves both rules, and a target group belongs to one load balancer.
    if load_balancer_of(preparing) != load_balancer_of(public):
        raise ValueError(
            f"preparing_rule_arn is a rule of load balancer {load_balancer_of(preparing)} and "
            f"public_rule_arn of {load_balancer_of(public)}; a target group belongs to one load "
            "balancer, so both rules of a route must be on the same one (add a route per load balancer)"
        )


def default_heartbeat(data: Any) -> Any:
    """The approval settings as given, with a heartbeat when none is: run before they are validated.

    Filled in here so that no timeout gives a heartbeat of zero or less, which the waitForTaskToken
    state would reject at run time, after the version was prepared.
    """
    if isinstance(data, dict) and data.get("heartbeat_seconds") is None:
        timeout = data.get("timeout_seconds", DEFAULT_APPROVAL_TIMEOUT)
        if isinstance(timeout, int) and not isinstance(timeout, bool) and timeout >= 2:
            data = {**data, "heartbeat_seconds": timeout - 60 if timeout > 120 else timeout // 2}
    return data


def heartbeat_below_timeout(approval: dict[str, Any]) -> None:
    if approval["heartbeat_seconds"] is not None and approval["heartbeat_seconds"] >= approval["timeout_seconds"]:
        raise ValueError("heartbeat_seconds must be below timeout_seconds")


def _days(seconds: int) -> str:
    return f"{seconds} s ({seconds / 86400:.1f} days)"


def longest_run(release: dict[str, Any]) -> tuple[int, list[str]]:
    """The longest an execution of these release settings can run, and what it is made of."""
    approval = release["approval"]["timeout_seconds"] if release["approval"]["mode"] == "manual" else 0
    holds = sum(step["hold_seconds"] for step in release["traffic_steps"])
    health = HEALTH_WAITS * release["health_timeout_seconds"]
    # With inconclusive: ask, the end of every watched hold (and the bake) may wait for an operator's answer.
    asked = [s for s in release["traffic_steps"] if s["hold_seconds"]] + ([1] if release["bake_seconds"] else [])
    analysis = release.get("analysis") or {}
    asking = analysis.get("inconclusive") == "ask"
    questions = len(asked) * release["approval"]["timeout_seconds"] if asking else 0
    # With inconclusive: extend (the default), each of them may be extended by up to max_extend_seconds.
    extending = analysis.get("inconclusive") == "extend"
    extensions = len(asked) * analysis["max_extend_seconds"] if extending else 0
    parts = [("approval.timeout_seconds", approval), (f"{len(release['traffic_steps'])} traffic holds", holds),
             ("bake_seconds", release["bake_seconds"]), (f"{HEALTH_WAITS} x health_timeout_seconds", health),
             (f"{len(asked)} x approval.timeout_seconds for the analysis' questions (inconclusive: ask)", questions),
             (f"{len(asked)} x analysis.max_extend_seconds (inconclusive: extend)", extensions),
             ("the other steps", STEPS_ALLOWANCE_SECONDS)]
    return sum(seconds for _, seconds in parts), [f"{name} {seconds} s" for name, seconds in parts if seconds]


def fits_in_execution(release: dict[str, Any]) -> None:
    total, parts = longest_run(release)
    if total > EXECUTION_TIMEOUT_SECONDS:
        raise ValueError(
            f"the longest run these settings allow is {_days(total)} ({', '.join(parts)}), longer than a release's "
            f"execution may run, {_days(EXECUTION_TIMEOUT_SECONDS)}; shorten the holds, bake_seconds, "
            "approval.timeout_seconds or health_timeout_seconds"
            + (", or lower analysis.max_extend_seconds" if any("max_extend_seconds" in part for part in parts) else "")
        )


def worst_seconds(http: dict[str, Any]) -> int:
    """How long an HTTP check takes when every attempt times out."""
    return http["attempts"] * http["timeout_seconds"] + http["attempts"] - 1


def worst_check_seconds(check: dict[str, Any]) -> int:
    """How long a check of either kind takes at worst."""
    if check["http"] is not None:
        return worst_seconds(check["http"])
    return check["lambda"]["timeout_seconds"] + LAMBDA_READ_MARGIN_SECONDS


def one_kind(check: dict[str, Any]) -> None:
    if (check["http"] is None) == (check["lambda"] is None):
        kinds = "http (url, expect_status, timeout_seconds, attempts) or lambda (function_arn)"
        if check["http"] is None:
            raise ValueError(f"http: check {check['name']!r} needs one of {kinds}")
        raise ValueError(f"lambda: check {check['name']!r} has both http and lambda; keep one (a check is one or the other)")
    if len(set(check["when"])) != len(check["when"]):
        raise ValueError(f"when: name each phase once, got {check['when']}")


def unique_checks(checks: list[dict[str, Any]]) -> None:
    names = [c["name"] for c in checks]
    if len(set(names)) != len(names):
        repeated = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"check names must be unique; rename {', '.join(repeated)}")
    for phase in ("prepared", "hold"):
        ran = [c for c in checks if phase in c["when"] and (c["http"] is not None or c["lambda"] is not None)]
        worst = sum(worst_check_seconds(c) for c in ran)
        if worst > HTTP_CHECKS_BUDGET_SECONDS:
            raise ValueError(
                f"the {phase} checks ({', '.join(c['name'] for c in ran)}) could take {worst} s when every one times "
                f"out (HTTP: attempts x timeout_seconds + a second between attempts; Lambda: timeout_seconds + "
                f"{LAMBDA_READ_MARGIN_SECONDS} s); at most {HTTP_CHECKS_BUDGET_SECONDS} s: lower attempts or "
                "timeout_seconds, or run fewer checks in that phase"
            )


def one_source(metric: dict[str, Any]) -> None:
    """An analysis metric reads one source and has the threshold its kind is judged by."""
    name = metric["name"]
    if (metric["alb"] is None) == (metric["cloudwatch"] is None):
        if metric["alb"] is None:
            raise ValueError(f"alb: metric {name!r} needs alb (error_rate or p99_latency) or cloudwatch "
                             "(namespace, metric_name, dimensions, stat)")
        raise ValueError(f"cloudwatch: metric {name!r} has both alb and cloudwatch; keep one")
    if (metric["max_increase"] is None) == (metric["max_ratio"] is None):
        raise ValueError(f"max_ratio: metric {name!r} needs one threshold, max_increase (new - old) or max_ratio "
                         "(new / old), not both or none")
    if metric["alb"] == "error_rate" and metric["max_increase"] is None:
        raise ValueError(f"max_ratio: metric {name!r} (error_rate) is judged by how much the error share may rise: "
                         "use max_increase (e.g. 0.01 for one point)")
    if metric["alb"] == "p99_latency" and metric["max_ratio"] is None:
        raise ValueError(f"max_increase: metric {name!r} (p99_latency) is judged as new / old: use max_ratio (e.g. 1.2)")
    if metric["cloudwatch"] is not None:
        for key, value in metric["cloudwatch"]["dimensions"].items():
            if "${" in value.replace("${version}", ""):
                raise ValueError(f"cloudwatch.dimensions: {key} is {value!r}, but only ${{version}} is replaced "
                                 "(by each version's own)")


def unique_metrics(metrics: list[dict[str, Any]]) -> None:
    names = [m["name"] for m in metrics]
    if len(set(names)) != len(names):
        repeated = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"metric names must be unique; rename {', '.join(repeated)}")


def analysis_has_holds(settings: dict[str, Any]) -> None:
    """The judge runs during holds and the bake: with neither, it would never run."""
    if settings.get("analysis") is None:
        return
    if not any(s["hold_seconds"] for s in settings["traffic_steps"]) and not settings["bake_seconds"]:
        raise ValueError("analysis: the judge runs during traffic holds and the bake, and this config has neither; "
                         "give a traffic step a hold_seconds or set bake_seconds")


def ends_at_100(steps: list[dict[str, Any]]) -> None:
    percents = [s["percent"] for s in steps]
    if percents[-1] != 100:
        raise ValueError(f"the last traffic step must be 100 percent, got {percents}")
    if any(b <= a for a, b in zip(percents, percents[1:])):
        raise ValueError(f"traffic step percents must increase, got {percents}")


def routes_fit(config: dict[str, Any]) -> None:
    task_definition, settings, routes = config["task_definition"], config["service_settings"], config["routes"]
    containers = {c["name"]: c for c in task_definition["containers"]}
    names = [r["name"] for r in routes]
    if len(set(names)) != len(names):
        raise ValueError(f"route names must be unique, got {names}")
    rules = [a for r in routes for a in (r["preparing_rule_arn"], r["public_rule_arn"])]
    if len(set(rules)) != len(rules):
        raise ValueError("each route needs its own preparing and public rule")
    for route in routes:
        container = containers.get(route["container"])
        if container is None:
            raise ValueError(
                f"route {route['name']!r} names container {route['container']!r}, "
                f"which is not in task_definition.containers ({sorted(containers)})"
            )
        if route["port"] not in {p["container_port"] for p in container["port_mappings"]}:
            raise ValueError(
                f"route {route['name']!r} uses port {route['port']}, which container "
                f"{route['container']!r} does not map in port_mappings"
            )
    if not any(c["image"] is None for c in task_definition["containers"]):
        raise ValueError("leave image empty on at least one container: the release fills it in")
    if task_definition["network_mode"] == "awsvpc" and settings["network"] is None:
        raise ValueError("network_mode awsvpc needs service_settings.network (subnets, security_groups)")
    required = config["release"]["required_healthy"]
    if required is not None and required > settings["desired_count"]:
        raise ValueError(
            f"release.required_healthy ({required}) exceeds service_settings.desired_count "
            f"({settings['desired_count']})"
        )
    scaling = settings["autoscaling"]
    if required is not None and scaling is not None and required > scaling["min"]:
        # Autoscaling may scale the new version in to min while it waits for approval; the health
        # re-check before the switch would then never see enough healthy targets.
        raise ValueError(
            f"release.required_healthy ({required}) exceeds service_settings.autoscaling.min ({scaling['min']}); "
            "lower required_healthy or raise min"
        )
    if scaling is not None:
        _request_count_policies(scaling, names)


def _request_count_policies(scaling: dict[str, Any], routes: list[str]) -> None:
    for index, policy in enumerate(scaling["policies"]):
        field = f"service_settings.autoscaling.policies.{index}.route"
        if policy["metric"] != "ALBRequestCountPerTarget":
            if policy["route"] is not None:
                raise ValueError(f"{field}: only ALBRequestCountPerTarget counts requests of a route; remove route")
            continue
        if policy["route"] is None and len(routes) > 1:
            raise ValueError(
                f"{field}: ALBRequestCountPerTarget needs the route whose target group counts the requests "
                f"(AWS's ResourceLabel); set it to one of {routes}"
            )
        if policy["route"] is not None and policy["route"] not in routes:
            raise ValueError(f"{field}: no route named {policy['route']!r}; set it to one of {routes}")


def complete_start(start: dict[str, Any]) -> None:
    if start["action"] == "release":
        missing = [f for f in ("version", "image") if start[f] is None]
        if missing:
            raise ValueError(f"a release needs {' and '.join(missing)}")
        if (start["config"] is None) == (start["config_uri"] is None):
            raise ValueError("give exactly one of config (inline object) or config_uri (s3://bucket/key)")
        if start["config"] is not None:
            refuse_deploy_time_secrets(start["environment"], start["config"])
    elif start["service"] is None:
        raise ValueError("a rollback needs service (the deploy config's service name)")


def _model_fields(root: str, parents: tuple[Any, ...]) -> dict[str, bool]:
    """Key -> required, of the model found at `parents` below the model named `root` (cutover_steps.config.models);
    {} when there is none (a mapping, a pass-through field)."""
    import typing

    from pydantic import BaseModel

    from cutover_steps.config import models as config

    def model_in(annotation: Any) -> Any:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return annotation
        return next((found for arg in typing.get_args(annotation) if (found := model_in(arg)) is not None), None)

    model = getattr(config, root, None)
    for part in parents:
        if isinstance(part, int) or model is None:
            continue
        field = next((f for name, f in model.model_fields.items() if part in (name, f.alias)), None)
        model = model_in(field.annotation) if field else None
    if model is None:
        return {}
    return {(f.alias or name): f.is_required() for name, f in model.model_fields.items()}


def _nearest_key(root: str, loc: tuple[Any, ...]) -> str | None:
    """The known key of that place closest to the unknown key at `loc`, if one is close."""
    import difflib

    close = difflib.get_close_matches(str(loc[-1]), list(_model_fields(root, loc[:-1])), n=1, cutoff=0.6)
    return close[0] if close else None


def format_validation_error(error: Any) -> str:
    """One line per problem, each naming the field path: what Catch and the CLI show."""
    lines = []
    root = getattr(error, "title", "")
    problems = error.errors()
    missing = {tuple(p["loc"]) for p in problems if p["type"] == "missing"}
    nearest = {tuple(p["loc"]): _nearest_key(root, tuple(p["loc"])) for p in problems if p["type"] == "extra_forbidden"}
    # A required key that is missing because it was misspelt is said once, with the misspelling.
    misspelt = {(*loc[:-1], key) for loc, key in nearest.items() if key and (*loc[:-1], key) in missing}
    for problem in problems:
        path = ".".join(str(p) for p in problem["loc"]) or "(top level)"
        message = problem["msg"]
        # A pass-through field's check names the field below the model's own level (aws_fields).
        nested = re.match(r"^Value error, ([a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)*): (.+)$", message, re.S)
        if nested and problem["type"] == "value_error":
            path, message = (f"{path}.{nested.group(1)}" if path != "(top level)" else nested.group(1)), nested.group(2)
        if problem["type"] == "extra_forbidden":
            message = "unknown key; remove it or check its spelling against the config reference"
            key = nearest.get(tuple(problem["loc"]))
            if key:
                required = (*problem["loc"][:-1], key) in misspelt
                message += f"; did you mean {key}{' (a required key, missing here)' if required else ''}?"
        elif problem["type"] == "missing":
            if tuple(problem["loc"]) in misspelt:
                continue  # said with the misspelt key
            message = "required field is missing"
        elif problem["type"] == "string_pattern_mismatch":
            message = _pattern_words(problem["ctx"]["pattern"]) or message
        lines.append(f"{path}: {message}")
    return "; ".join(lines)


def _pattern_words(pattern: str) -> str | None:
    """A pattern of the config said as a rule in words (cutover_steps.config.models.PATTERN_WORDS)."""
    from cutover_steps.config import models as config

    words = config.PATTERN_WORDS.get(pattern)
    return f"must be {words}" if words else None
