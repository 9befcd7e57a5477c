"""`cutover sandbox up`: the local engine as an AWS endpoint on 127.0.0.1, with the demo environment."""
from __future__ import annotations

import contextlib
import faulthandler
import importlib.util
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from cutover.sandbox import settings as sandbox_settings
from cutover.exits import UsageError
from cutover.definition import step_code
from cutover.local import account, environment, faults, functions_shown, lambdas
from cutover.local.engine import ACCOUNT, REGION, TABLE_NAME, LocalEngine, parse_event_delivery
from cutover.local.iam import policies
from cutover_steps.registry import BY_KEY
from cutover.local.traffic import Behaviour, parse_behaviour
from cutover.output.reports import Event, Report
from cutover.output.streaming import Emit

DEFAULT_PORT = 4566
# The engine's longest wait when it stops (cutover.local.engine: executions, status changes) is three minutes.
STOP_REPORT_SECONDS = 200


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the server binds: a port left in TIME_WAIT by a stopped sandbox is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def load_functions(specs: list[str], *, any_name: bool = False) -> dict[str, Callable[[Any, Any], Any]]:
    """`NAME=FILE:FUNCTION` each: the Python function FUNCTION of FILE, to serve as the Lambda function NAME
    (named check-… unless `any_name`: the stack's own settings then say which functions releases may invoke)."""
    found: dict[str, Callable[[Any, Any], Any]] = {}
    for spec in specs:
        name, _, target = spec.partition("=")
        path, _, attribute = target.rpartition(":")
        if not name or not path or not attribute:
            raise ValueError(f"--function {spec!r}: write NAME=FILE:FUNCTION, e.g. check-smoke=checks.py:handler")
        if not any_name and not name.startswith(account.CHECK_FUNCTION_PREFIX):
            raise ValueError(f"--function {spec!r}: the sandbox's stack lets releases invoke functions named "
                             f"{account.CHECK_FUNCTION_PREFIX}*; name it {account.CHECK_FUNCTION_PREFIX}{name}")
        if not os.path.isfile(path):
            raise ValueError(f"--function {spec!r}: no file {path}")
        module_spec = importlib.util.spec_from_file_location(f"cutover_sandbox_{name.replace('-', '_')}", path)
        module = importlib.util.module_from_spec(module_spec)
        try:
            module_spec.loader.exec_module(module)
        except Exception as error:  # noqa: BLE001 - any error of the user's file is reported as such
            raise ValueError(f"--function {spec!r}: {path} failed to load: {type(error).__name__}: {error}") from error
        function = getattr(module, attribute, None)
        if not callable(function):
            raise ValueError(f"--function {spec!r}: {path} has no function {attribute}")
        found[name] = function
    return found


@dataclass(frozen=True)
class Timing:
    """What the sandbox does in time as AWS does: slow functions, how status changes arrive, the sweep."""

    slow: dict[str, float] = field(default_factory=dict)
    event_delivery: str = "normal"
    sweep_every: float | None = None
    time_limits: dict[str, int] = field(default_factory=dict)

    @classmethod
    def parse(cls, slow: list[str], event_delivery: str = "normal", sweep_every: float | None = None,
              time_limit: list[str] | None = None) -> Timing:
        """From the flags; a bad value raises ValueError naming the flag and what it takes."""
        delays = _seconds_per_step("--slow", slow, _delay, "a number", "ShiftTraffic:6")
        parse_event_delivery(event_delivery)
        if sweep_every is not None and sweep_every <= 0:
            raise ValueError(f"--sweep-every {sweep_every}: a number of seconds above 0, e.g. 10")
        low, high = LAMBDA_TIMEOUT_SECONDS
        limits = _seconds_per_step("--time-limit", time_limit or [], _timeout,
                                   f"a whole number from {low} to {high} (Lambda's bounds)", "ShiftTraffic:20")
        return cls(delays, event_delivery, sweep_every, limits)

    def lines(self) -> str:
        return ("".join(f"  slow           {step}: sleeps {seconds:g} s before its change\n" for step, seconds in self.slow.items())
                + "".join(f"  time limit     {step}: {seconds} s (the stack deploys {BY_KEY[step].timeout_seconds} s)\n"
                          for step, seconds in self.time_limits.items())
                + (f"  status change  {self.event_delivery}\n" if self.event_delivery != "normal" else "")
                + (f"  sweep          every {self.sweep_every:g} s\n" if self.sweep_every else ""))


# Lambda's bounds of a function's timeout, in whole seconds (CreateFunction, Timeout).
# https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html#lambda-CreateFunction-request-Timeout
LAMBDA_TIMEOUT_SECONDS = (1, 900)


def _seconds_per_step(flag: str, specs: list[str], read: Callable[[str], float | None], what: str,
                      example: str) -> dict[str, Any]:
    """`FLAG STEP:SECONDS` each, as {step: seconds}; `read` gives the seconds, or None when the text is
    not `what` the flag takes."""
    found = {}
    for spec in specs:
        step, sep, text = spec.partition(":")
        seconds = read(text) if sep else None
        if step not in BY_KEY or seconds is None:
            raise ValueError(f"{flag} {spec!r}: write STEP:SECONDS, with STEP one of {', '.join(BY_KEY)} "
                             f"and SECONDS {what}, e.g. {example}")
        found[step] = seconds
    return found


def _delay(text: str) -> float | None:
    """--slow: any number of seconds from 0."""
    try:
        seconds = float(text)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def _timeout(text: str) -> int | None:
    """--time-limit: a function's timeout, as Lambda takes it."""
    low, high = LAMBDA_TIMEOUT_SECONDS
    return int(text) if text.isdigit() and low <= int(text) <= high else None


def _demo_inside(settings: dict[str, Any]) -> bool:
    """Whether the demo's next version (web-2 on cluster demo, target group demo-web-2, family web) is in scope."""
    return ((not settings.get("cluster_names") or "demo" in settings["cluster_names"])
            and "web-2".startswith(settings.get("service_name_prefix", ""))
            and f"{environment.ENV}-web-2".startswith(settings.get("target_group_name_prefix", ""))
            and (not settings.get("task_definition_families") or "web" in settings["task_definition_families"]))


def scope_text(settings: dict[str, Any], source: str | None) -> str:
    """The banner's account of what the steps' IAM allows, and where it comes from."""
    if source is None:
        head = ("  IAM scope      the demo's names only (the sandbox's own stack settings); "
                "--settings FILE rehearses under yours:\n")
    else:
        head = (f"  IAM scope      the stack settings of {source} (their ARNs moved into account {ACCOUNT}, "
                f"region {REGION}):\n")
    lines = "".join(f"                   {line}\n" for line in sandbox_settings.scope(settings))
    outside = ("" if _demo_inside(settings) else
               "                   the demo service (web on cluster demo) is outside them: its release is refused, "
               "as AWS would\n")
    return head + lines + outside
def checked_options(*, fail: list[str], functions: list[str], settings: str | None, slow: list[str], event_delivery: str,
                    sweep_every: float | None, version_behaviour: list[str], traffic: float | None,
                    time_limit: list[str] | None = None) -> tuple[Timing, dict[str, Behaviour]]:
    """`sandbox up`'s options, each checked before anything starts (UsageError naming the flag): its timing
    and the versions' behaviours."""
    try:
        faults.parse_rehearsal(fail)
        load_functions(functions, any_name=settings is not None)
        return Timing.parse(slow, event_delivery, sweep_every, time_limit), behaviours(version_behaviour, traffic)
    except ValueError as error:
        raise UsageError(str(error)) from error


def behaviours(specs: list[str], traffic: float | None) -> dict[str, Behaviour]:
    """`--version-behaviour VERSION:error_rate=R,p99_ms=N` each, checked against `--traffic`."""
    if traffic is not None and traffic <= 0:
        raise ValueError(f"--traffic: requests a second must be above 0, got {traffic:g}")
    if specs and traffic is None:
        raise ValueError("--version-behaviour: sets how a version answers the simulated requests; add --traffic RPS")
    found: dict[str, Behaviour] = {}
    for spec in specs:
        try:
            version, behaviour = parse_behaviour(spec)
        except ValueError as error:
            raise ValueError(f"--version-behaviour {error}") from None
        found[version] = behaviour
    return found


def up(emit: Emit, port: int = DEFAULT_PORT, directory: str = ".sandbox", stop: threading.Event | None = None,
       fail: list[str] | None = None, functions: list[str] | None = None, timing: Timing | None = None,
       settings: str | None = None, traffic: float | None = None,
       behaviours: dict[str, Behaviour] | None = None) -> Report:
    """Serve until stopped: a `ready` event once the endpoint, state machine and files exist, and the
    report of the stop.

    `fail` ("STEP:MODE", …) makes those steps fail every time, for rehearsals. `functions`
    ("NAME=FILE:FUNCTION", …) deploys Python functions as Lambda functions, for verification checks.
    `settings` (a file of the stack's settings, e.g. cdk.json) scopes the steps' IAM as that stack would.
    `traffic` (requests a second) sends simulated requests through the public rule, each version
    answering as `behaviours` says, with the load balancer's metrics in the emulated CloudWatch.
    """
    failures = faults.parse_rehearsal(fail or [])
    timing = timing or Timing()
    stack_settings = (sandbox_settings.read(settings, region=REGION, account=ACCOUNT) if settings
                      else policies.local_settings())
    handlers = load_functions(functions or [], any_name=settings is not None)
    if not port_free(port):
        raise UsageError(f"--port: {port} on 127.0.0.1 is in use; choose another")
    stop = stop or threading.Event()
    # Ctrl-C and SIGTERM end the wait below; the engine then lets running executions finish. The
    # handler only notes the signal: a handler runs between two instructions of the main thread, and
    # one that took a lock (Event.set) could wait forever on a lock that thread holds. SIGUSR1 prints
    # every thread's stack, to see what a sandbox that does not stop still waits for.
    signalled: list[int] = []
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda number, _frame: signalled.append(number))
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    # The server would log every request (the data plane polls several times a second).
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # The steps' roles as the user's stack would synthesize them (seconds of CDK), while the engine starts;
    # in place before the banner, so before any step runs.
    synth = _Synthesis(stack_settings) if settings else None
    try:
        with LocalEngine(port=port, event_delivery=timing.event_delivery, sweep_every=timing.sweep_every) as engine, \
                faults.rehearsal(fail or []), _installed(settings is not None):
            lambdas.delays.update(timing.slow)
            lambdas.time_limits.update(timing.time_limits)
            deployed = {name: engine.add_function(name, handler) for name, handler in handlers.items()}
            env = environment.create(engine.client)
            text = environment.config_text(env.values)
            environment.bootstrap_live_version(engine.client, yaml.safe_load(text))
            if traffic:
                engine.send_traffic([alb.public_rule_arn for alb in env.albs], traffic, behaviours)
            os.makedirs(directory, exist_ok=True)
            config_path = os.path.join(directory, "deploy.yaml")
            with open(config_path, "w", encoding="utf-8") as f:
                f.write(text)
            variables = {
                # boto3 reads the region from AWS_DEFAULT_REGION, the AWS CLI and other SDKs from AWS_REGION.
                "AWS_ENDPOINT_URL": engine.endpoint_url, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
                "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "CUTOVER_STATE_MACHINE_ARN": engine.state_machine_arn,
            }
            env_path = os.path.join(directory, "env")
            with open(env_path, "w", encoding="utf-8") as f:
                f.writelines(f"export {key}={value}\n" for key, value in variables.items())
            ready = {"endpoint": engine.endpoint_url, "region": REGION, "state_machine_arn": engine.state_machine_arn,
                     "config": config_path, "env": env_path, "functions": deployed,
                     "failing": [{"step": step, "mode": mode} for step, mode in failures],
                     "slow": timing.slow, "time_limits": timing.time_limits, "event_delivery": timing.event_delivery,
                     "sweep_every": timing.sweep_every,
                     "settings": settings, "scope": sandbox_settings.scope(stack_settings),
                     "demo_in_scope": _demo_inside(stack_settings),
                     "traffic": traffic and {"rps": traffic, "behaviours": {v: vars(b) for v, b in (behaviours or {}).items()}}}
            if synth:
                synth.wait()
                engine.tell_steps_the_roles_for_ecs()
            # The functions and roles as the stack deploys them, for account-level checks (get-function-configuration,
            # get-role-policy): made once the roles the engine enforces are known.
            ready["step_functions"] = functions_shown.show(engine.client, {
                "RELEASE_TABLE": TABLE_NAME, "NOTIFICATION_TOPIC_ARN": engine.topic_arn, **step_code.environment()})
            emit(Event("ready", ready,
                f"Cutover sandbox ready\n"
                f"  endpoint       {engine.endpoint_url}  (region {REGION}, any credentials)\n"
                f"  state machine  {engine.state_machine_arn}\n"
                f"  demo service   web, version 1 live on cluster demo; config in {config_path}\n"
                f"  step functions {len(ready['step_functions'])} on {step_code.RUNTIME_NAME}, as the stack deploys them "
                f"(aws lambda list-functions)\n"
                + scope_text(stack_settings, settings)
                + "".join(f"  failing        {step}: {faults.REHEARSAL_MODES[mode]}\n" for step, mode in failures)
                + "".join(f"  function       {arn}  (release.verify[].lambda.function_arn)\n" for arn in deployed.values())
                + timing.lines()
                + (f"  traffic        {traffic:g} requests/s through the public rule, AWS/ApplicationELB metrics per target group\n"
                   if traffic else "")
                + "".join(f"  version {v:<7}error_rate {b.error_rate:g}, p99 {b.p99_ms:g} ms\n" for v, b in (behaviours or {}).items())
                + f"\nIn another shell:\n"
                f"  source {env_path}\n"
                f"  cutover plan  --env demo --version 2 --image web:2 --config {config_path}\n"
                f"  cutover start --env demo --version 2 --image web:2 --config {config_path} --name web-2 --wait\n"
                f"  cutover approve web-2        # from a third shell, while start --wait waits\n"
                f"  cutover history web-2\n"
                f"  cutover rollback --env demo --service web --wait\n"
                f"\nCtrl-C stops the sandbox."
            ))
            # Woken every half second, not only by `stop`: a signal the kernel hands to another thread
            # does not interrupt a wait of the main thread, and its handler runs only once that wait ends.
            while not signalled and not stop.wait(0.5):
                pass
            # Running executions finish before the engine stops: that can take a while. If it takes
            # longer than any of its waits should, the threads' stacks say what it still waits for.
            emit(Event("stopping", {}, "stopping the sandbox"))
            faulthandler.dump_traceback_later(STOP_REPORT_SECONDS)
    finally:
        faulthandler.cancel_dump_traceback_later()
    return Report({"endpoint": ready["endpoint"]}, lambda: "")


class _Synthesis(threading.Thread):
    def __init__(self, settings: dict[str, Any]) -> None:
        super().__init__(name="cutover-sandbox-synth", daemon=True)
        self.settings, self.error = settings, None
        self.start()

    def run(self) -> None:
        try:
            policies.install(self.settings)
        except Exception as error:  # noqa: BLE001 - reported by wait(), in the sandbox's own thread
            self.error = error

    def wait(self) -> None:
        self.join()
        if self.error is not None:
            raise UsageError(f"--settings: the stack does not synthesize with these settings: {self.error}") from self.error


@contextlib.contextmanager
def _installed(active: bool) -> Iterator[None]:
    """Put the committed policies back when the sandbox stops (an in-process sandbox, as the tests run it)."""
    try:
        yield
    finally:
        if active:
            policies.uninstall()
