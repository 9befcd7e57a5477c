"""Where moto behaves differently from AWS in ways a release can see, put back to AWS's behaviour.

Each fix replaces one private moto method, which is why moto is pinned exactly.
"""
from __future__ import annotations

import threading
from typing import Callable

# Called with the execution ARN whenever an execution ends badly (stopped by StopExecution, failed,
# timed out): the local engine delivers the status-change event AWS would send to EventBridge.
end_listeners: list[Callable[[str], None]] = []
# Called with the execution ARN whenever an execution ends, however it ends (succeeded too), maybe
# twice for one end (a stop, then its worker's end): the status-change event of the ledger's rule.
every_end_listeners: list[Callable[[str], None]] = []

_dynamodb_write = threading.Lock()


def make_dynamodb_writes_atomic() -> None:
    """DynamoDB checks a write's condition and writes as one step; moto checks, then writes, so two
    releases locking at the same instant could both win. One lock around moto's writes restores
    the guarantee the release lock relies on."""
    from moto.dynamodb.models import DynamoDBBackend

    for name in ("put_item", "update_item", "delete_item"):
        original = getattr(DynamoDBBackend, name)
        if getattr(original, "cutover_fix", False):
            continue

        def atomic(self, *args, _original=original, **kwargs):
            with _dynamodb_write:
                return _original(self, *args, **kwargs)

        atomic.cutover_fix = True
        setattr(DynamoDBBackend, name, atomic)


def keep_early_task_token_answers() -> None:
    """Step Functions accepts SendTaskSuccess as soon as the token exists. moto sets up the
    heartbeat watch only after it has recorded TaskSubmitted, and an answer that came before
    would go unseen until the heartbeat ran out; looking for it first keeps it."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
        StateTaskServiceCallback,
    )

    original = StateTaskServiceCallback._wait_for_task_token_heartbeat
    if getattr(original, "cutover_fix", False):
        return

    def answered_first(self, env, callback_endpoint, heartbeat_endpoint):
        outcome = callback_endpoint.get_outcome()
        if outcome is not None:
            return outcome
        return original(self, env, callback_endpoint, heartbeat_endpoint)

    answered_first.cutover_fix = True
    StateTaskServiceCallback._wait_for_task_token_heartbeat = answered_first


def end_task_token_waits_on_stop() -> None:
    """StopExecution ends the execution at once on AWS (a running Lambda invocation goes on, its
    result unused) and ends a `.waitForTaskToken` wait; an answer to that token is then
    refused with TaskTimedOut. moto leaves the wait running (the execution never ends) and would
    still take the answer: the stop marks every token of the execution as timed out, then wakes
    the wait, which sees a stopped program and ends ABORTED. The history ends with the stop's
    ExecutionAborted at once (moto wrote it only once the running state returned). That state's
    late end is still recorded after it, as moto did (AWS records nothing more); the undo then
    sees the function ended instead of waiting for its time limit."""
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackConsumerTimeout
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped
    from moto.stepfunctions.parser.api import ExecutionAbortedEventDetails, ExecutionStatus, HistoryEventType
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
    from moto.stepfunctions.parser.backend.execution import Execution
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend
    from moto.core.exceptions import AWSError
    from moto.stepfunctions.parser.api import InvalidToken

    class TaskTimedOut(AWSError):
        # moto's own TaskTimedOut sets no error type, so its answer would carry an empty code.
        TYPE = "TaskTimedOut"
        STATUS = 400

    original_stop = Execution.stop
    if getattr(original_stop, "cutover_fix", False):
        return

    def stop(self, stop_date, error, cause):
        worker = self.exec_worker
        endpoints = list(worker.env.callback_pool_manager._pool.values()) if worker else []
        for endpoint in endpoints:
            endpoint.report(CallbackConsumerTimeout())
        original_stop(self, stop_date, error, cause)
        # Told before the execution shows ABORTED: whoever sees it ended and then waits for the
        # status-change deliveries must find this one among them. The delivery itself waits until
        # the execution has ended.
        for listener in list(end_listeners) + list(every_end_listeners):
            listener(self.exec_arn)
        if worker and isinstance(worker.env.program_state(), ProgramStopped):
            # The execution ends at once, as on AWS; moto would wait for the state that runs (a
            # Lambda invocation, which StopExecution does not stop: a watch sleeps on to its hold's end).
            self.exec_status, self.stop_date = ExecutionStatus.ABORTED, stop_date
            # Its history says so at once too, with the stop's error and cause.
            worker.env.event_manager.add_event(
                context=worker.env.event_history_context, event_type=HistoryEventType.ExecutionAborted,
                event_details=EventDetails(executionAbortedEventDetails=ExecutionAbortedEventDetails(error=error, cause=cause)))
        for endpoint in endpoints:
            endpoint.interrupt_all()

    stop.cutover_fix = True
    Execution.stop = stop

    # The stop wrote the execution's ExecutionAborted; moto's own, once the running state returns, would be a second.
    original_add_event = EventManager.add_event

    def add_event(self, context, event_type, *args, **kwargs):
        if event_type == HistoryEventType.ExecutionAborted:
            if getattr(self, "cutover_aborted", False):
                return context.last_published_event_id
            self.cutover_aborted = True
        return original_add_event(self, context, event_type, *args, **kwargs)

    EventManager.add_event = add_event

    # The woken wait fails its state; a stopped execution stays ABORTED whatever its states raise.
    original_set_error = Environment.set_error

    def set_error(self, error):
        if not isinstance(self._program_state, ProgramStopped):
            original_set_error(self, error)

    Environment.set_error = set_error

    def refuse_closed(name: str):
        original = getattr(StepFunctionsParserBackend, name)

        def answer(self, task_token, *args, **kwargs):
            try:
                return original(self, task_token, *args, **kwargs)
            except InvalidToken:
                # moto looks only at running executions; a token of one that has ended is timed out.
                if any(e.exec_worker and e.exec_worker.env.callback_pool_manager.get(task_token)
                       for e in self._get_executions()):
                    raise TaskTimedOut("Task Timed Out: 'Provided task does not exist anymore'") from None
                raise

        setattr(StepFunctionsParserBackend, name, answer)

    for name in ("send_task_success", "send_task_failure", "send_task_heartbeat"):
        refuse_closed(name)


def keep_the_reason_of_a_stop() -> None:
    """StopExecution's `error` and `cause` are the stop's reason: AWS writes them into the
    ExecutionAborted event and DescribeExecution returns them. moto drops both (it stops every
    execution with empty ones)."""
    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow
    from moto.stepfunctions.exceptions import ExecutionDoesNotExist
    from moto.stepfunctions.responses import StepFunctionResponse

    if getattr(StepFunctionResponse.stop_execution, "cutover_fix", False):
        return

    def stop_execution(self):
        arn = self._get_param("executionArn")
        error, cause = self._get_param("error"), self._get_param("cause")
        backend = self.stepfunction_backend
        backend._validate_execution_arn(arn)
        machine = backend._get_state_machine_for_execution(arn)
        execution = next((x for x in machine.executions if x.execution_arn == arn), None)
        if execution is None:
            raise ExecutionDoesNotExist("Execution Does Not Exist: '" + arn + "'")
        execution.stop(stop_date=utcnow(), error=error or "", cause=cause or "")
        if error is not None:
            execution.error = error
        if cause is not None:
            execution.cause = cause
        return ActionResult({"stopDate": execution.stop_date})

    stop_execution.cutover_fix = True
    StepFunctionResponse.stop_execution = stop_execution


def announce_bad_ends() -> None:
    """AWS sends a status-change event for every execution that ends; moto sends none. A stop is
    announced by `end_task_token_waits_on_stop`; a failure or a timeout here, as the execution's
    worker ends, before its status is set: a listener sees RUNNING at first and waits for the end."""
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramError, ProgramTimedOut
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

    original = BaseExecutionWorkerCommunication.terminated
    if getattr(original, "cutover_fix", False):
        return

    def terminated(self):
        if isinstance(self.execution.exec_worker.env.program_state(), (ProgramError, ProgramTimedOut)):
            for listener in list(end_listeners):
                listener(self.execution.exec_arn)
        for listener in list(every_end_listeners):
            listener(self.execution.exec_arn)
        original(self)

    terminated.cutover_fix = True
    BaseExecutionWorkerCommunication.terminated = terminated


class StoppedBeforeScheduling(Exception):
    """A stop landed while a Task state was being set up: the state schedules nothing more."""

    CAUSE = "the execution was stopped before the state scheduled its call"

    def __init__(self) -> None:
        super().__init__(self.CAUSE)


def schedule_nothing_once_stopped() -> None:
    """A stop that lands while a Task state prepares its call: AWS schedules nothing after a stop.
    moto's interpreter skips ("prunes") every part it evaluates once the execution is stopped, yet
    the Task pops the value its timeout or heartbeat part should have pushed: it takes the state's
    data instead, writes it into the LambdaFunctionScheduled or TaskScheduled event as the timeout,
    and every later GetExecutionHistory of that execution fails (a map where a number belongs).
    A pruned timeout or heartbeat now ends the state there, before anything is scheduled; the
    interpreter's loop then ends the stopped execution as it would have, and the failure moto makes
    of that end is not written after the stop (no call was made that could fail)."""
    from moto.stepfunctions.parser.asl.component.common.timeouts.heartbeat import Heartbeat
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import Timeout
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager

    for component in (Timeout, Heartbeat):
        original = component.eval
        if getattr(original, "cutover_fix", False):
            continue

        def evaluate(self, env, original=original):
            depth = len(env.stack)
            original(self, env)
            # Checked by what it pushed, not by asking whether the execution runs: the stop can land
            # between that question and moto's own.
            if len(env.stack) == depth:
                raise StoppedBeforeScheduling()

        evaluate.cutover_fix = True
        component.eval = evaluate

    original_add_event = EventManager.add_event
    if getattr(original_add_event, "cutover_schedule_fix", False):
        return

    def add_event(self, context, event_type, event_details=None, *args, **kwargs):
        details = next(iter(event_details.values()), None) if event_details else None
        if isinstance(details, dict) and details.get("cause") == StoppedBeforeScheduling.CAUSE:
            return context.last_published_event_id
        return original_add_event(self, context, event_type, event_details, *args, **kwargs)

    add_event.cutover_schedule_fix = True
    EventManager.add_event = add_event


def answer_percentiles() -> None:
    """CloudWatch answers a percentile statistic (p99, p99.9…) of raw values; moto answered none
    (an empty value). Nearest rank over the period's values, as many datapoints as were published;
    a statistic set counts only when it is one value (SampleCount 1, or Minimum = Maximum), as on AWS."""
    import math
    import re

    from moto.cloudwatch.models import MetricAggregatedDatum, Statistics

    original = Statistics.get_statistics_for_type
    if getattr(original, "cutover_fix", False):
        return

    def get_statistics_for_type(self, stat: str):
        match = re.fullmatch(r"p(\d{1,2}(?:\.\d+)?|100)", stat)
        if not match:
            return original(self, stat)
        values = list(self.metric_single_values_list)
        for datum in self.metric_aggregated_list:
            if isinstance(datum, MetricAggregatedDatum) and (datum.sample_count == 1 or datum.min == datum.max):
                values.extend([datum.min] * int(datum.sample_count))
        if not values:
            return None
        values.sort()
        rank = max(1, math.ceil(float(match.group(1)) / 100 * len(values)))
        return values[rank - 1]

    get_statistics_for_type.cutover_fix = True
    Statistics.get_statistics_for_type = get_statistics_for_type


def install() -> None:
    answer_percentiles()
    make_dynamodb_writes_atomic()
    keep_early_task_token_answers()
    end_task_token_waits_on_stop()
    keep_the_reason_of_a_stop()
    announce_bad_ends()
    schedule_nothing_once_stopped()
