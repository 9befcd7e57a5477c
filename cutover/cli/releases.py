"""The commands of a release: start, rollback, approve, reject, stop, status, history; `--wait` follows one
to its end."""
from __future__ import annotations

from typing import Any

from cutover import exits
from cutover.exits import UsageError
from cutover.operations import executions as operations, start_checks
from cutover.output import render, reports
from cutover.cli.context import Context, caller_identity, env_vars, who


def _follow(ctx: Context, arn: str, attached: bool = False) -> int:
    from cutover.output.progress import Follower

    description = Follower(ctx.connection.sfn, arn, ctx.stream, live=ctx.live, poll=ctx.args.poll).run(timeout=ctx.args.timeout)
    status = description["status"]
    events = operations.history(ctx.connection.sfn, arn)
    failure = operations.execution_failure(events)
    warnings = operations.unfinished_work(description)

    def text() -> str:
        took = render.seconds_between(description.get("startDate"), description.get("stopDate"))
        return "\n".join([f"{description['name']}: {status}" + (" with warnings" if warnings else "")
                          + (f" after {render.duration(took)}" if took is not None else ""),
                          *([render.error_text(failure)] if failure else []), *reports.warning_lines(warnings)])

    ending = exits.STILL_RUNNING if status == "RUNNING" else exits.OK if status == "SUCCEEDED" else exits.FAILED
    data = {"executionArn": arn, "name": description["name"], "attached": attached, "status": status, "failure": failure,
            "warnings": warnings, **reports.stop_and_undo(ctx.connection.sfn, arn, status, events)}
    return ctx.finish("ended", reports.Report(data, lambda: "\n".join([text(), *reports.undo_run_lines(data)]), ending))


def _started(ctx: Context, arn: str, asked: str, attached: bool) -> int:
    name = arn.rsplit(":", 1)[-1]
    again = f"{asked} ended without success with this same input: this is a new attempt, {name}" if name != asked else None
    if ctx.args.wait:
        verb = "Attached to" if attached else "Started"
        ctx.stream(reports.Event(
            "started", {"executionArn": arn, "name": name, "attached": attached, "new_attempt_of": asked if again else None},
            "\n".join([*([again] if again else []),
                       f"{verb} {name}" + (" (it exists with the same input: a retried job)" if attached else ""), f"  {arn}"])))
        return _follow(ctx, arn, attached)
    if again and not ctx.json:
        ctx.say(again)
    return ctx.show(reports.Report(
        {"executionArn": arn, "name": name, "attached": attached, "status": "RUNNING", "failure": None},
        lambda: f"{'Attached to' if attached else 'Started'} {name}\n  {arn}\n"
                f"  follow it:  cutover status {name}   |   cutover history {name}"))


def cmd_start(ctx: Context) -> int:
    from cutover.operations import configfile

    a = ctx.args
    _check_name(a.name)
    start_input: dict[str, Any] = {"env": a.env, "version": a.version, "image": a.image, "environment": env_vars(a.env_var)}
    service = None
    if a.config:
        checked = configfile.check(a.config, env=a.env, client=ctx.client)
        if not checked.valid:
            raise UsageError(f"{a.config} is not a valid deploy config:\n  " + "\n  ".join(checked.problems))
        start_input["config"] = checked.data
        service = checked.config.service
    else:
        start_input["config_uri"] = a.config_uri
        service = start_checks.service_in(ctx.connection, a.config_uri, note=ctx.note)
    operations.check_start_input(start_input)
    if a.config:
        start_checks.refuse_taken_names(ctx.connection, checked.config, start_input, note=ctx.note)
    start_input["started_by"] = _started_by(ctx)
    name = a.name or operations.execution_name(f"{service or 'release'}-{a.env}", a.version, operations.ci_run_id())
    arn, attached = operations.start_or_attach(ctx.connection.sfn, ctx.connection.state_machine_arn(), start_input, name)
    return _started(ctx, arn, name, attached)


def _check_name(name: str | None) -> None:
    if name is not None:
        operations.check_execution_name(name)


def cmd_rollback(ctx: Context) -> int:
    a = ctx.args
    _check_name(a.name)
    start_input = operations.rollback_input(a.env, a.service, a.to, a.require_approval)
    operations.check_start_input(start_input)
    start_checks.refuse_nothing_to_roll_back(ctx.connection, a.env, a.service, a.to, note=ctx.note)
    start_input["started_by"] = _started_by(ctx)
    what = f"rollback-to-{a.to}" if a.to else "rollback"
    name = a.name or operations.execution_name(f"{a.service}-{a.env}", what, operations.ci_run_id())
    arn, attached = operations.start_or_attach(ctx.connection.sfn, ctx.connection.state_machine_arn(), start_input, name)
    return _started(ctx, arn, name, attached)


def _started_by(ctx: Context) -> dict[str, Any]:
    """Who starts the release, recorded in its input as approvals record who answered."""
    return {"name": who(ctx.args), "identity": caller_identity(ctx)}


def cmd_approve(ctx: Context) -> int:
    arn = ctx.connection.execution_arn(ctx.args.execution, ctx.args.wait_seconds)
    by, identity = who(ctx.args), caller_identity(ctx)
    question = operations.approve(ctx.connection.sfn, arn, by=by, identity=identity, comment=ctx.args.comment or "",
                                  wait_seconds=ctx.args.wait_seconds)
    then = ("the new version goes on, its canary analysis inconclusive" if question
            else "traffic shifts next")
    return ctx.show(reports.Report({"executionArn": arn, "decision": "approve", "by": by, "identity": identity,
                                    "question": question},
                                   lambda: f"Approved {arn.rsplit(':', 1)[-1]} as {by} ({identity}); {then}."))


def cmd_reject(ctx: Context) -> int:
    if not ctx.args.reason.strip():
        raise UsageError("--reason: say why the release is rejected; it goes into the audit history")
    arn = ctx.connection.execution_arn(ctx.args.execution, ctx.args.wait_seconds)
    by, identity = who(ctx.args), caller_identity(ctx)
    question = operations.reject(ctx.connection.sfn, arn, reason=ctx.args.reason, by=by, identity=identity,
                                 wait_seconds=ctx.args.wait_seconds)
    then = ("traffic is being rolled back to the old version" if question
            else "the prepared version is being torn down")
    return ctx.show(reports.Report(
        {"executionArn": arn, "decision": "reject", "by": by, "identity": identity, "reason": ctx.args.reason,
         "question": question},
        lambda: f"Rejected {arn.rsplit(':', 1)[-1]} as {by} ({identity}); {then}."))


def cmd_stop(ctx: Context) -> int:
    from cutover_steps.decisions.stop_record import StopRecord, cause_problem, reason_problem

    reason = ctx.args.reason
    problem = reason_problem(reason)
    if problem:
        raise UsageError(problem)
    arn = ctx.connection.execution_arn(ctx.args.execution)
    record = StopRecord(reason=reason.strip(), name=who(ctx.args), identity=caller_identity(ctx))
    problem = cause_problem(record)
    if problem:
        raise UsageError(problem)
    description = operations.stop(ctx.connection.sfn, arn, record)
    return ctx.show(reports.stopped(ctx.connection.sfn, description, record))


def cmd_status(ctx: Context) -> int:
    return ctx.show(reports.status(ctx.connection.sfn, ctx.connection.execution_arn(ctx.args.execution)))


def cmd_history(ctx: Context) -> int:
    arn = ctx.connection.execution_arn(ctx.args.execution)
    return ctx.show(reports.history(ctx.connection.sfn, arn, choices=ctx.args.all))
