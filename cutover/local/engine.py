"""The local engine: moto (in-process, or as a server on 127.0.0.1) with the release state
machine deployed from statemachine/, the real handlers, and the simulated ECS data plane.
"""
from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import re
import threading
import time
from typing import Any, Callable, Iterator

import boto3

from cutover import DEFINITION, UNDO_DEFINITION, envvars
from cutover.operations import executions as operations
from cutover.local import account_changes, aws_rules, lambdas, moto_fixes, moto_savings, sdk_data
from cutover.local.account import (ACCOUNT, PARTITION, REGION, STATE_MACHINE_NAME, TABLE_NAME, TOPIC_NAME,
                                   check_function_arn, function_arn)
from cutover.local.dataplane import DataPlane
from cutover.local.traffic import Behaviour, Traffic
from cutover_steps.adapters import clients as aws
from cutover_steps.runtime.observability import logger as step_logger
from cutover_steps.registry import BY_KEY, LEDGER_WRITER, STEPS, STOPPED_RELEASE_HANDLER, integration_arns
from cutover_steps.decisions.stopping import undo_state_machine_name

logger = logging.getLogger(__name__)
# An asynchronous Lambda invocation is tried at most three times.
ASYNC_ATTEMPTS = 3

# The undo function's on-failure destination: a status change it failed to handle three times.
DEAD_LETTER_QUEUE = "cutover-undo-dead-letters"
# How EventBridge delivers a status change here: at least once, best effort (`--event-delivery`).
EVENT_DELIVERIES = ("normal", "twice", "late:SECONDS", "lost")
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}


def definition(substitutions: dict[str, str], path: str = DEFINITION) -> str:
    """The ASL file with `${Name}` filled in, exactly as CDK's definition_substitutions does."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    missing = sorted(set(re.findall(r"\$\{(\w+)\}", text)) - set(substitutions))
    if missing:
        raise KeyError(f"no value for substitutions {missing}")
    return re.sub(r"\$\{(\w+)\}", lambda m: substitutions[m.group(1)], text)


def parse_event_delivery(text: str) -> tuple[str, float]:
    """("normal" | "twice" | "late" | "lost", seconds late); a bad value raises ValueError naming the choices."""
    mode, _, seconds = text.partition(":")
    if mode in ("normal", "twice", "lost") and not seconds:
        return mode, 0.0
    if mode == "late":
        try:
            late = float(seconds)
        except ValueError:
            late = -1.0
        if late >= 0:
            return mode, late
    raise ValueError(f"--event-delivery {text!r}: one of normal, twice, late:SECONDS (e.g. late:30), lost")


# Python's collector looks for garbage cycles every 700 new objects; the engine's process makes short-lived
# ones by the million (each emulated call's request, parse and answer). Two release test files took 21 s
# of CPU, 2.5 s of it collecting; every 10,000 objects, 18 s, 0.9 s of it collecting.
COLLECT_EVERY_OBJECTS = 10_000


def _collect_less_often() -> None:
    threshold = gc.get_threshold()
    if threshold[0] < COLLECT_EVERY_OBJECTS:
        gc.set_threshold(COLLECT_EVERY_OBJECTS, *threshold[1:])


class _ScaledSleep:
    """The `time` module as moto's retrier sees it, with sleeps scaled."""

    def __init__(self, scale: float):
        self.scale = scale

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds * self.scale)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def _scale_retry_sleeps(scale: float) -> None:
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    retrier_decl.time = time if scale == 1.0 else _ScaledSleep(scale)


class LocalEngine:
    """Start with `with LocalEngine() as engine:`; `engine.client("ecs")` talks to the emulated AWS."""

    def __init__(self, *, port: int | None = None, tick_seconds: float = 0.2, task_start_seconds: float = 0.5,
                 service_drain_seconds: float = 2.0, retry_backoff_scale: float = 1.0,
                 event_delivery: str = "normal", sweep_every: float | None = None, tagging_lag_seconds: float = 0.0):
        self.port = port
        # How the status changes of executions that end badly reach the undo (chosen per test: each
        # new account starts with the engine's own choice again).
        parse_event_delivery(event_delivery)
        self.event_delivery = self._event_delivery = event_delivery
        # The stack's schedule that sweeps for undos no status change started: off unless asked.
        self.sweep_every = sweep_every
        # How far the Resource Groups Tagging API lags behind tagging (AWS: eventually consistent).
        self.tagging_lag_seconds = tagging_lag_seconds
        self.lost_events: list[str] = []
        self.dead_letters: list[str] = []
        self._sweeper: threading.Thread | None = None
        self._sweeping = threading.Event()
        # The state machine's Retry back-off really sleeps; a scale below 1 shortens each sleep
        # (same attempts, same order) where a run must be quick, as the fault matrix's is.
        self.retry_backoff_scale = retry_backoff_scale
        self.endpoint_url = f"http://127.0.0.1:{port}" if port else None
        self.tick_seconds = tick_seconds
        self.task_start_seconds = task_start_seconds
        # A deleted ECS service drains this long before its name can be used again (AWS: minutes).
        self.service_drain_seconds = service_drain_seconds
        self._mock = None
        self._server = None
        self._saved_env: dict[str, str | None] = {}
        self.session: boto3.session.Session | None = None
        self.data_plane: DataPlane | None = None
        self._clients: dict[str, Any] = {}
        self.running = False
        self.state_machine_arn = ""
        self.undo_state_machine_arn = ""
        self.topic_arn = ""
        self._deliveries: list[threading.Thread] = []
        self.traffic: Traffic | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> LocalEngine:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _setenv(self, **values: str) -> None:
        for key, value in envvars.apply(values).items():
            self._saved_env.setdefault(key, value)

    def start(self) -> LocalEngine:
        """Start with a new, empty account. An engine that was stopped with `stop(reuse=True)` starts
        again this way, keeping what is costly to make: its SDK session and clients, its data plane."""
        if self.running:
            raise RuntimeError("the local engine is running already: stop it first")
        # Fake credentials keep any real AWS profile out of reach of the local engine.
        self._setenv(
            AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_SESSION_TOKEN="testing",
            AWS_DEFAULT_REGION=REGION, AWS_REGION=REGION, RELEASE_TABLE=TABLE_NAME,
            POWERTOOLS_TRACE_DISABLED="true", POWERTOOLS_METRICS_DISABLED="true",
            POWERTOOLS_LOG_LEVEL=os.environ.get("CUTOVER_LOG_LEVEL", "WARNING"), **moto_savings.ENVIRONMENT,
        )
        # The steps' logger reads its level when first imported, which the command line may have
        # done already (plan, validate): set it here too, or every step logs at INFO into the demo.
        step_logger.setLevel(os.environ["POWERTOOLS_LOG_LEVEL"])
        # moto's interpreter logs every error a state raises (an IsPresent test of a missing path
        # included) with a dump of the state's whole parse tree; the release reports its errors
        # itself (status, history), so those dumps would only bury them. CUTOVER_LOG_LEVEL=DEBUG shows them.
        if os.environ["POWERTOOLS_LOG_LEVEL"] != "DEBUG":
            logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL + 1)
        # First: the fixes below import moto, whose EC2 reads the SDK's EC2 model once on import.
        sdk_data.share()
        _collect_less_often()
        lambdas.install()
        lambdas.reset()
        moto_fixes.install()
        moto_savings.install()
        account_changes.install()
        aws_rules.install()
        aws_rules.reset()
        aws_rules.service_drain_seconds = self.service_drain_seconds
        aws_rules.tagging_lag_seconds = self.tagging_lag_seconds
        _scale_retry_sleeps(self.retry_backoff_scale)
        moto_fixes.end_listeners.append(self._execution_ended_badly)
        moto_fixes.every_end_listeners.append(self._execution_ended)
        if self.port:
            from moto.server import ThreadedMotoServer

            self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
            self._server.start()
            # moto's interpreter calls back into the server (its Lambda invokes) on MOTO_PORT, 5000 unless set.
            self._setenv(AWS_ENDPOINT_URL=self.endpoint_url, MOTO_PORT=str(self.port))
            import requests

            requests.post(f"{self.endpoint_url}/moto-api/config", json=MOTO_CONFIG, timeout=10).raise_for_status()
        else:
            from moto import mock_aws

            # Starting moto's mock empties every emulated service: a new account.
            self._mock = self._mock or mock_aws(config=MOTO_CONFIG)
            self._mock.start()
        self.running = True
        if self.session is None:
            # One session for every client of the engine: each new session loads the SDK's models again.
            self.session = boto3.session.Session(region_name=REGION)
        # The steps' clients are made anew (from the same session): no fault or hook of a previous
        # run can stay attached to them.
        aws.reset(self.session)
        self._deploy()
        if self.data_plane is None:
            self.data_plane = DataPlane(self.session, self.endpoint_url, tick_seconds=self.tick_seconds,
                                        task_start_seconds=self.task_start_seconds, make_client=self.client).start()
        self.data_plane.resume()
        self.lost_events, self.dead_letters, self.event_delivery = [], [], self._event_delivery
        self._sweeping.clear()
        if self.sweep_every:
            self._sweeper = threading.Thread(target=self._sweep_in_background, daemon=True, name="cutover-sweep")
            self._sweeper.start()
        return self

    def stop(self, *, reuse: bool = False) -> None:
        """Let running executions end and empty the account. `reuse`: keep the session, the clients
        and the data plane (paused) for the next `start()`, which is then much quicker."""
        if self.running:
            self._sweeping.set()
            if self._sweeper:
                self._sweeper.join(timeout=60)
                self._sweeper = None
            self.wait_for_running_executions()
            if self._execution_ended_badly in moto_fixes.end_listeners:
                moto_fixes.end_listeners.remove(self._execution_ended_badly)
            if self._execution_ended in moto_fixes.every_end_listeners:
                moto_fixes.every_end_listeners.remove(self._execution_ended)
            # A bad end's status-change event is delivered on a thread of its own: let it end first,
            # and the undo it started.
            self.wait_for_status_changes()
            # A watch whose execution was stopped sleeps on (StopExecution does not stop a running Lambda function).
            lambdas.end_running_handlers()
            if self.traffic:
                self.traffic.stop()
                self.traffic = None
            if self.data_plane:
                # Paused before the mock stops: a tick after it would go to the real AWS endpoints.
                self.data_plane.pause()
            if self._mock:
                self._mock.stop()
            if self._server:
                self._server.stop()
                self._server = None
            self.running = False
            lambdas.reset()
            aws.reset()
            _scale_retry_sleeps(1.0)
            envvars.apply(self._saved_env)
            self._saved_env.clear()
            self.state_machine_arn = self.undo_state_machine_arn = ""
        if not reuse or self.port:
            if self.data_plane:
                self.data_plane.stop()
            self.data_plane, self.session, self._mock = None, None, None
            self._clients.clear()

    @contextlib.contextmanager
    def new_account(self) -> Iterator[LocalEngine]:
        """Started for the block with a new, empty account, then stopped for reuse."""
        self.start()
        try:
            yield self
        finally:
            self.stop(reuse=True)

    def wait_for_running_executions(self, timeout: float = 120) -> None:
        """Running executions are threads that would outlive the mock: let them end first."""
        if not self.state_machine_arn:
            return
        sfn = self.client("stepfunctions")
        deadline = time.time() + timeout
        while time.time() < deadline:
            running = [e for machine in (self.state_machine_arn, self.undo_state_machine_arn) if machine
                       for e in sfn.list_executions(stateMachineArn=machine, statusFilter="RUNNING")["executions"]]
            if not running:
                return
            for execution in running:
                # Failing the token lets the flow undo the release in its own states before the engine goes.
                token = operations.pending_task_token(sfn, execution["executionArn"])
                if token:
                    sfn.send_task_failure(taskToken=token, error="EngineStopped", cause="the local engine stopped")
            time.sleep(0.2)

    def add_function(self, name: str, handler: Any) -> str:
        """Deploy a Python function `handler(event, context)` as the Lambda function `name` of this account
        (a check function for `release.verify`); returns its ARN. The local stack lets releases invoke
        functions named check-*; another name is refused to them, as the stack's IAM would refuse it."""
        lambdas.add_check_function(name, handler)
        return check_function_arn(name)

    def send_traffic(self, rules: list[str], rps: float, behaviours: dict[str, Behaviour] | None = None,
                     tick_seconds: float = 1.0) -> Traffic:
        """Simulated requests through `rules` (public listener rules) until the engine stops, with the
        load balancer's metrics of each target group in the emulated CloudWatch (cutover.local.traffic)."""
        from moto.cloudwatch.models import cloudwatch_backends

        if self.traffic:
            self.traffic.stop()
        self.traffic = Traffic(self.client, lambda: cloudwatch_backends[ACCOUNT][REGION], rules, rps, behaviours,
                               tick_seconds).start()
        return self.traffic

    # -- EventBridge, Lambda's asynchronous invocation, the sweep's schedule ---------------------------
    def _execution_ended_badly(self, execution_arn: str) -> None:
        """The stack's EventBridge rule (cutover/cdk/stopped_releases.py), emulated here: moto sends no
        Step Functions status-change events, so the engine delivers the one a stop, a failure or a
        timeout causes to the rule's target once the execution has ended, asynchronously, as
        EventBridge would: best effort, at least once. `event_delivery` chooses how: normal (once,
        at once), twice (two deliveries at the same time), late:SECONDS, or lost (never)."""
        if not execution_arn.startswith(self.state_machine_arn.replace(":stateMachine:", ":execution:") + ":"):
            return
        mode, late = parse_event_delivery(self.event_delivery)
        if mode == "lost":
            self.lost_events.append(execution_arn)
            return
        for _ in range(2 if mode == "twice" else 1):
            thread = threading.Thread(target=self._deliver_in_background, args=(execution_arn, late), daemon=True,
                                      name="eventbridge-status-change")
            # Started before it is listed: wait_for_status_changes may join the list at any moment, and
            # a thread that has not started yet cannot be joined.
            thread.start()
            self._deliveries.append(thread)

    def _execution_ended(self, execution_arn: str) -> None:
        """The stack's ledger rule (cutover/cdk/ledger.py), emulated here: every end of an execution,
        delivered to the ledger's function once the execution has ended, asynchronously."""
        if not execution_arn.startswith(self.state_machine_arn.replace(":stateMachine:", ":execution:") + ":"):
            return
        thread = threading.Thread(target=self._deliver_to_ledger, args=(execution_arn,), daemon=True,
                                  name="eventbridge-ledger")
        thread.start()
        self._deliveries.append(thread)

    def _invoke_async(self, function: Callable[[str], Any], execution_arn: str, what: str) -> bool:
        """EventBridge invokes its Lambda target asynchronously, and Lambda runs a failed asynchronous
        invocation twice more, a minute then two later (here a second each, scaled like retries):
        https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
        Whether one attempt succeeded."""
        for attempt in range(ASYNC_ATTEMPTS):
            try:
                function(execution_arn)
                return True
            except Exception:  # noqa: BLE001 - logged for the test to see once the last attempt fails
                if attempt == ASYNC_ATTEMPTS - 1:
                    logger.exception("%s failed for %s", what, execution_arn)
                else:
                    time.sleep(self.retry_backoff_scale)
        return False

    def _deliver_to_ledger(self, execution_arn: str) -> None:
        self._invoke_async(self.deliver_to_ledger, execution_arn, "the ledger's function")

    def _deliver_in_background(self, execution_arn: str, late: float = 0.0) -> None:
        if late and self._sweeping.wait(late):
            return  # the account ended before the late delivery
        # After its last attempt, Lambda sends the event to the function's on-failure destination.
        if not self._invoke_async(self.deliver_status_change, execution_arn, "the undo of stopped releases"):
            self._to_dead_letters(execution_arn)

    def _to_dead_letters(self, execution_arn: str) -> None:
        self.dead_letters.append(execution_arn)
        with contextlib.suppress(Exception):
            sqs = self.client("sqs")
            url = sqs.get_queue_url(QueueName=DEAD_LETTER_QUEUE)["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps(self._status_change(execution_arn)))

    def _status_change(self, execution_arn: str) -> dict[str, Any]:
        status = self.client("stepfunctions").describe_execution(executionArn=execution_arn)["status"]
        return {
            "version": "0", "source": "aws.states", "detail-type": "Step Functions Execution Status Change",
            "region": REGION, "account": ACCOUNT,
            "detail": {"executionArn": execution_arn, "stateMachineArn": self.state_machine_arn, "status": status},
        }

    def deliver_status_change(self, execution_arn: str, timeout: float = 60) -> Any:
        """Deliver the execution's end (ABORTED, TIMED_OUT, FAILED…) to the rule's target, as EventBridge
        does, once the execution has ended; returns what the target returned (the undo it started)."""
        sfn = self.client("stepfunctions")
        deadline = time.time() + timeout
        status = sfn.describe_execution(executionArn=execution_arn)["status"]
        while status == "RUNNING" and time.time() < deadline:
            time.sleep(0.1)
            status = sfn.describe_execution(executionArn=execution_arn)["status"]
        return lambdas.run_step(STOPPED_RELEASE_HANDLER, self._status_change(execution_arn),
                                function_arn(STOPPED_RELEASE_HANDLER))

    def sweep(self) -> Any:
        """What the stack's schedule does every few minutes: start the undo of every release that ended
        holding its lock (a status change never delivered, or dead-lettered)."""
        return lambdas.run_step(STOPPED_RELEASE_HANDLER, {"sweep": True}, function_arn(STOPPED_RELEASE_HANDLER))

    def _sweep_in_background(self) -> None:
        while not self._sweeping.wait(self.sweep_every):
            try:
                self.sweep()
            except Exception:  # noqa: BLE001 - the next sweep tries again, as the schedule would
                logger.exception("the sweep for undos failed")

    def deliver_to_ledger(self, execution_arn: str, timeout: float = 60) -> Any:
        """Deliver the execution's end to the ledger rule's target, once the execution has ended."""
        sfn = self.client("stepfunctions")
        deadline = time.time() + timeout
        while sfn.describe_execution(executionArn=execution_arn)["status"] == "RUNNING" and time.time() < deadline:
            time.sleep(0.1)
        return lambdas.run_step(LEDGER_WRITER, self._status_change(execution_arn), function_arn(LEDGER_WRITER))

    def wait_for_status_changes(self, timeout: float = 180) -> None:
        """Until every status change delivered so far has been handled and the undo it started has
        ended (the undo of a stop, the second attempt at an undo that failed)."""
        deadline = time.time() + timeout
        for delivery in list(self._deliveries):
            delivery.join(timeout=max(0.0, deadline - time.time()))
        self._deliveries = [d for d in self._deliveries if d.is_alive()]
        self.wait_for_undos(max(0.0, deadline - time.time()))

    def wait_for_undos(self, timeout: float = 180) -> list[dict[str, Any]]:
        """Until no undo runs; the undo executions, newest first."""
        if not self.undo_state_machine_arn:
            return []
        sfn = self.client("stepfunctions")
        deadline = time.time() + timeout
        while True:
            undos = sfn.list_executions(stateMachineArn=self.undo_state_machine_arn)["executions"]
            if not any(u["status"] == "RUNNING" for u in undos) or time.time() >= deadline:
                return undos
            time.sleep(0.1)

    # -- AWS ------------------------------------------------------------------------------------
    def client(self, name: str):
        """The engine's own client of a service (not a step's: no IAM check, no fault), made once."""
        if name not in self._clients:
            self._clients[name] = aws.client_from(self.session, name, endpoint_url=self.endpoint_url)
        return self._clients[name]

    def tell_steps_the_roles_for_ecs(self) -> None:
        """LoadRelease's environment as the stack sets it: the roles CreateService may pass to ECS, from the
        statements the engine enforces (cutover_steps.config.service_roles)."""
        from cutover.local.iam import policies
        from cutover_steps.config.service_roles import ALLOWED_VARIABLE

        self._setenv(**{ALLOWED_VARIABLE: policies.infrastructure_roles()})

    def _deploy(self) -> None:
        """What the CDK stack creates, made the same way in the emulated account."""
        self.client("dynamodb").create_table(
            TableName=TABLE_NAME, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        )
        self.topic_arn = self.client("sns").create_topic(Name=TOPIC_NAME)["TopicArn"]
        self._setenv(NOTIFICATION_TOPIC_ARN=self.topic_arn)
        self.tell_steps_the_roles_for_ecs()
        role = self.client("iam").create_role(
            RoleName="cutover-state-machine",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
        )["Role"]["Arn"]
        substitutions = {step.substitution: function_arn(step.key) for step in STEPS}
        substitutions["NotificationTopicArn"] = self.topic_arn
        substitutions.update(integration_arns(PARTITION))
        sfn = self.client("stepfunctions")
        self.state_machine_arn = sfn.create_state_machine(
            name=STATE_MACHINE_NAME, definition=definition(substitutions), roleArn=role, type="STANDARD",
        )["stateMachineArn"]
        undo_substitutions = {BY_KEY[STOPPED_RELEASE_HANDLER].substitution: function_arn(STOPPED_RELEASE_HANDLER)}
        self.undo_state_machine_arn = sfn.create_state_machine(
            name=undo_state_machine_name(STATE_MACHINE_NAME), definition=definition(undo_substitutions, UNDO_DEFINITION),
            roleArn=role, type="STANDARD",
        )["stateMachineArn"]
        self._setenv(UNDO_STATE_MACHINE_ARN=self.undo_state_machine_arn)
        self.client("sqs").create_queue(QueueName=DEAD_LETTER_QUEUE)
