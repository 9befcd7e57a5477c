"""The `cutover` command: start, follow, approve and inspect releases; plan, validate, demo, sandbox."""
from __future__ import annotations

import argparse
import contextlib
import getpass
import io
import json
import os
import sys
from collections.abc import Callable
from typing import Any, TextIO

from cutover import exits, operations, render, reports, start_checks, streaming
from cutover.aws import errors as aws_errors, lookups
from cutover.aws.connection import Connection, connect, release_clients
from cutover.exits import NotFound, UsageError

# The exit codes of the --help text and docs/commands.md, and the error names of --output json.
EXIT_CODES = {e.code: e.meaning for e in exits.TABLE}
ERROR_CODES = {e.code: e.name for e in exits.TABLE if e.name}


class Context:
    """What every command gets: its options, where to write, and a lazily made connection."""

    def __init__(self, args: argparse.Namespace, out: TextIO, err: TextIO):
        self.args, self.out, self.err = args, out, err
        self._connection: Connection | None = None
        self._events: streaming.JsonLines | streaming.TextLines | None = None

    @property
    def json(self) -> bool:
        return getattr(self.args, "output", "text") == "json"

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            a = self.args
            self._connection = connect(profile=a.profile, region=a.region, endpoint_url=a.endpoint_url,
                                       state_machine_arn=a.state_machine_arn, stack_name=a.stack_name)
        return self._connection

    def client(self, name: str) -> Any:
        """An AWS client of the connection, made only when a command needs one."""
        return self.connection.client(name)

    def note(self, text: str) -> None:
        """A line for people on stderr that does not change how the command ends."""
        self.err.write(f"note: {text}\n")

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def show(self, report: reports.Report) -> int:
        """A command's report, as JSON for scripts or as text for people; its exit code."""
        if self.json:
            self.emit(report.data)
        else:
            text = report.text()
            if text:
                self.say(text)
        return report.exit.code

    def emit(self, data: Any) -> None:
        self.out.write(json.dumps(data, indent=2, default=streaming.json_default) + "\n")
        self.out.flush()

    def stream(self, event: reports.Event) -> None:
        """One event of a streaming command, as it happens: a line of JSON Lines, or its text."""
        if self._events is None:
            self._events = streaming.JsonLines(self.out) if self.json else streaming.TextLines(self.out)
        self._events(event)

    @property
    def live(self) -> bool:
        """Whether a status line can be rewritten in place (text on a terminal)."""
        return not self.json and self.out.isatty()

    def finish(self, kind: str, report: reports.Report) -> int:
        """A streaming command's report, as the last event of its stream; its exit code."""
        event = reports.Event.of(kind, report)
        if self.json or event.text:
            self.stream(event)
        elif self._events is not None:
            self._events.clear()
        return report.exit.code


def _who(args: argparse.Namespace) -> str:
    return getattr(args, "by", None) or os.environ.get("CUTOVER_USER") or os.environ.get("GITHUB_ACTOR") or getpass.getuser()


def _env_vars(pairs: list[str]) -> dict[str, str]:
    found = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--env-var {pair!r}: write it as NAME=value")
        found[key] = value
    return found


# -- following an execution ------------------------------------------------------------------------

def _follow(ctx: Context, arn: str, attached: bool = False) -> int:
    from cutover.progress import Follower

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


# -- commands ------------------------------------------------------------------------------------

def cmd_start(ctx: Context) -> int:
    from cutover import configfile

    a = ctx.args
    _check_name(a.name)
    start_input: dict[str, Any] = {"env": a.env, "version": a.version, "image": a.image, "environment": _env_vars(a.env_var)}
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
    return {"name": _who(ctx.args), "identity": _caller_identity(ctx)}


def _caller_identity(ctx: Context) -> str:
    """The ARN AWS knows the caller by (STS GetCallerIdentity): what the audit trusts, unlike --by."""
    return lookups.caller_arn(ctx.connection.client("sts"))


def cmd_approve(ctx: Context) -> int:
    arn = ctx.connection.execution_arn(ctx.args.execution, ctx.args.wait_seconds)
    by, identity = _who(ctx.args), _caller_identity(ctx)
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
    by, identity = _who(ctx.args), _caller_identity(ctx)
    question = operations.reject(ctx.connection.sfn, arn, reason=ctx.args.reason, by=by, identity=identity,
                                 wait_seconds=ctx.args.wait_seconds)
    then = ("traffic is being rolled back to the old version" if question
            else "the prepared version is being torn down")
    return ctx.show(reports.Report(
        {"executionArn": arn, "decision": "reject", "by": by, "identity": identity, "reason": ctx.args.reason,
         "question": question},
        lambda: f"Rejected {arn.rsplit(':', 1)[-1]} as {by} ({identity}); {then}."))


def cmd_stop(ctx: Context) -> int:
    from release.stop_record import StopRecord, cause_problem, reason_problem

    reason = ctx.args.reason
    problem = reason_problem(reason)
    if problem:
        raise UsageError(problem)
    arn = ctx.connection.execution_arn(ctx.args.execution)
    record = StopRecord(reason=reason.strip(), name=_who(ctx.args), identity=_caller_identity(ctx))
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


def cmd_releases(ctx: Context) -> int:
    from release import ledger

    from cutover import releases

    a = ctx.args
    start, end = releases.period(a.since, a.until)
    entries = releases.read(ctx.client("dynamodb"), ctx.connection.release_table(), a.service, start, end)
    found = releases.report(entries, a.service, a.env, start, end)
    if a.stats:
        found = {**found, "stats": ledger.stats(found["releases"], start, end)}
        return ctx.show(reports.Report(found, lambda: releases.stats_text(found)))
    return ctx.show(reports.Report(found, lambda: releases.text(found)))


def cmd_validate(ctx: Context) -> int:
    from cutover import configfile

    a = ctx.args
    envs = [a.env] if a.env else configfile.environment_names(a.file) or [None]
    results = [configfile.check(a.file, env=env) for env in envs]
    valid = all(c.valid for c in results)
    report = {"file": a.file, "valid": valid,
              "problems": [f"{_for(env)}{p}" for env, c in zip(envs, results) for p in c.problems],
              "resolved_at_plan": [f"{_for(env)}{d}" for env, c in zip(envs, results) for d in c.deferred]}
    return ctx.show(reports.Report(report, lambda: _validation_text(a.file, envs, results), exits.OK if valid else exits.USAGE))


def _validation_text(file: str, envs: list[str | None], results: list[Any]) -> str:
    lines = []
    for env, checked in zip(envs, results):
        if not checked.valid:
            lines += [f"{file}{_for_env(env)}: not valid", *(f"  {problem}" for problem in checked.problems)]
            continue
        c = checked.config
        summary = ""
        if c is not None:
            steps = " -> ".join(f"{s.percent}%" for s in c.release.traffic_steps)
            summary = (f" Service {c.service}, {len(c.routes)} route(s) ({', '.join(r.name for r in c.routes)}), "
                       f"traffic {steps}, approval {c.release.approval.mode}.")
        lines.append(f"{file}{_for_env(env)}: valid.{summary}")
        lines += [f"  not checked offline: {deferred} (resolved by plan and start)" for deferred in checked.deferred]
    return "\n".join(lines)


def _for(env: str | None) -> str:
    return f"env {env}: " if env else ""


def _for_env(env: str | None) -> str:
    return f" (env {env})" if env else ""


def cmd_render(ctx: Context) -> int:
    from cutover import configfile

    a = ctx.args
    checked = configfile.check(a.config, env=a.env, client=ctx.client)
    if not checked.valid:
        raise UsageError(f"{a.config} is not a valid deploy config for env {a.env}:\n  " + "\n  ".join(checked.problems))
    import yaml

    from cutover.masking import masked

    data = masked(checked.data)
    return ctx.show(reports.Report(data, lambda: yaml.safe_dump(data, sort_keys=False).rstrip("\n")))


def cmd_plan(ctx: Context) -> int:
    from cutover import configfile, planning
    from cutover.masking import masked

    a = ctx.args
    checked = configfile.check(a.config, env=a.env, client=ctx.client)
    if not checked.valid:
        raise UsageError(f"{a.config} is not a valid deploy config:\n  " + "\n  ".join(checked.problems))
    operations.check_start_input({"env": a.env, "version": a.version, "image": a.image, "config": checked.data,
                        "environment": _env_vars(a.env_var)})
    plan = planning.make_plan(checked.config, a.env, a.version, a.image, _env_vars(a.env_var))
    table = _release_table_if_any(ctx)
    with release_clients(ctx.connection, table):
        report = masked(planning.inspect(plan, with_table=table is not None))
    # A plan that predicts the release would be refused or fail ends as that release would: a script
    # (CI's plan job) stops there.
    return ctx.show(reports.Report(report, lambda: planning.text(report),
                                   exits.FAILED if planning.would_fail(report) else exits.OK))


def _release_table_if_any(ctx: Context) -> str | None:
    """The release table, or None where there is none to read (no stack deployed here yet)."""
    try:
        return ctx.connection.release_table()
    except NotFound:
        return None


def cmd_adopt(ctx: Context) -> int:
    from cutover import adoption, configfile

    a = ctx.args
    checked = configfile.check(a.config, env=a.env, client=ctx.client)
    if not checked.valid:
        raise UsageError(f"{a.config} is not a valid deploy config:\n  " + "\n  ".join(checked.problems))
    identity = None if a.dry_run else _caller_identity(ctx)
    scope = adoption.name_scope(ctx.connection, a.settings)
    with release_clients(ctx.connection, ctx.connection.release_table()):
        found = adoption.decide(checked.config, a.env, a.ecs_service, a.version, identity, scope)
        applied = not a.dry_run and not found.done
        if applied:
            adoption.apply(found)
    report = found.report(dry_run=a.dry_run, applied=applied)
    return ctx.show(reports.Report(report, lambda: adoption.text(report)))


def cmd_diagram(ctx: Context) -> int:
    from cutover import DEFINITION, diagram

    path = ctx.args.definition or DEFINITION
    text = diagram.mermaid(path)
    return ctx.show(reports.Report({"definition": path, "mermaid": text}, lambda: text.rstrip("\n")))


def cmd_schema(ctx: Context) -> int:
    from cutover import schema

    # The schema is JSON already: --output json prints the same document.
    ctx.out.write(schema.text())
    return exits.OK.code


def cmd_iam_policy(ctx: Context) -> int:
    from cutover import access

    a, given = ctx.args, {}
    if a.stack_name:
        given["stack_arn"] = f"arn:aws:cloudformation:${{Region}}:${{Account}}:stack/{a.stack_name}/*"
    if a.config_bucket:
        given["config_objects_arns"] = (f"arn:aws:s3:::{a.config_bucket}/*",)
    if a.config_key:
        given["config_key_arns"] = tuple(a.config_key)
    if a.release_table:
        given["table_arn"] = f"arn:aws:dynamodb:${{Region}}:${{Account}}:table/{a.release_table}"
    # Like every command: the option, else CUTOVER_STATE_MACHINE_ARN (a name alone names no ARN to scope to).
    machine = a.state_machine_arn or os.environ.get("CUTOVER_STATE_MACHINE_ARN")
    machine = machine if machine and machine.startswith("arn:") else None
    targets = access.Targets.of_state_machine(machine, **given) if machine else access.Targets(**given)
    # A policy document is JSON whatever --output says: it is meant for `aws iam create-policy`.
    ctx.emit(access.policy(a.role, targets))
    return exits.OK.code


def cmd_init_stack(ctx: Context) -> int:
    from cutover import stack_files

    written = stack_files.write(ctx.args.dir, force=ctx.args.force)
    return ctx.show(reports.Report(
        {"written": written},
        lambda: "\n".join([*(f"wrote {path}" for path in written), "",
                            "Next (docs/deploying.md has the whole runbook):",
                            f"  cd {ctx.args.dir}",
                            "  pip install 'cutover[cdk]'   # the CDK library; the CDK CLI: npm install -g aws-cdk",
                            "  edit cdk.json: cutover:clusterNames, cutover:listenerArns, cutover:taskRoleArns …",
                            "  cdk bootstrap   # once per account and region",
                            "  cdk deploy"])))


def cmd_demo(ctx: Context) -> int:
    from cutover import demo

    return ctx.finish("summary", demo.run(ctx.stream))


def cmd_sandbox_up(ctx: Context) -> int:
    from cutover import sandbox

    a = ctx.args
    timing, behaviours = sandbox.checked_options(fail=a.fail or [], functions=a.function or [], settings=a.settings,
                                                 slow=a.slow or [], event_delivery=a.event_delivery,
                                                 sweep_every=a.sweep_every, version_behaviour=a.version_behaviour or [],
                                                 traffic=a.traffic)
    return ctx.finish("stopped", sandbox.up(ctx.stream, ctx.args.port, ctx.args.dir, fail=ctx.args.fail,
                                            functions=ctx.args.function, timing=timing, settings=ctx.args.settings,
                                            traffic=ctx.args.traffic, behaviours=behaviours))


# -- the parser ----------------------------------------------------------------------------------

def _common(suppress: bool) -> argparse.ArgumentParser:
    """Options every command takes; given before or after the command name."""
    default = argparse.SUPPRESS if suppress else None
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("AWS and output")
    g.add_argument("--region", default=default, help="AWS region (default: AWS_REGION, AWS_DEFAULT_REGION or the profile's)")
    g.add_argument("--profile", default=default, help="AWS profile (default: AWS_PROFILE)")
    g.add_argument("--endpoint-url", default=default, help="AWS endpoint, e.g. http://127.0.0.1:4566 for the sandbox (default: AWS_ENDPOINT_URL)")
    g.add_argument("--state-machine-arn", default=default,
                   help="the release state machine, its ARN or name (default: CUTOVER_STATE_MACHINE_ARN, else the stack's StateMachineArn output, "
                        "else the state machine named cutover-release)")
    g.add_argument("--stack-name", default=default, help="the Cutover stack (default: CUTOVER_STACK_NAME or Cutover)")
    g.add_argument("--output", choices=["text", "json"], default=argparse.SUPPRESS if suppress else "text",
                   help="text for people (default) or json for scripts")
    return p


def _wait_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--wait", action="store_true", help="follow the release to its end; exit 1 if it fails")
    p.add_argument("--timeout", type=float, default=None, help="with --wait: stop following after this many seconds (exit 5)")
    p.add_argument("--poll", type=float, default=2.0, help=argparse.SUPPRESS)


def build_parser() -> argparse.ArgumentParser:
    exit_codes = "\n".join(f"  {code:<4} {meaning}" for code, meaning in EXIT_CODES.items())
    parser = argparse.ArgumentParser(
        prog="cutover", parents=[_common(False)], formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Release a new version of an ECS service behind ALBs: prepare, approve, shift traffic, retire, clean up.",
        epilog=f"exit codes:\n{exit_codes}\n\nEXECUTION is an execution ARN or its name.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    common = [_common(True)]

    def command(name: str, handler: Callable[[Context], int], help_text: str, **kwargs: Any) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=common, help=help_text, description=help_text, **kwargs)
        p.set_defaults(handler=handler)
        return p

    p = command("start", cmd_start, "Start a release (or attach to the same one, when a CI job is retried).")
    p.add_argument("--env", required=True, help="environment, e.g. staging")
    p.add_argument("--version", required=True, help="the version being released, e.g. 1.4.2 or a commit")
    p.add_argument("--image", required=True, help="container image for the containers whose image the config leaves empty")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", metavar="FILE", help="deploy config file (YAML or JSON), sent inline")
    source.add_argument("--config-uri", metavar="S3_URI", help="deploy config in S3 (s3://bucket/key), read by the release")
    p.add_argument("--name", help="execution name (default: SERVICE-ENV-VERSION-<CI run id or time>, at most 80 characters)")
    p.add_argument("--env-var", action="append", metavar="NAME=VALUE", help="deploy-time environment variable; repeat for more")
    _wait_options(p)

    p = command("approve", cmd_approve, "Approve a release that waits for approval; traffic then shifts.")
    p.add_argument("execution", metavar="EXECUTION")
    p.add_argument("--comment", help="goes into the audit history")
    p.add_argument("--by", help="who approves (default: CUTOVER_USER, GITHUB_ACTOR or your user name)")
    p.add_argument("--wait-seconds", type=float, default=0, help="wait this long for the release to reach approval")

    p = command("reject", cmd_reject, "Reject a release that waits for approval; the prepared version is torn down.")
    p.add_argument("execution", metavar="EXECUTION")
    p.add_argument("--reason", required=True, help="why; goes into the audit history and the failure")
    p.add_argument("--by", help="who rejects (default: CUTOVER_USER, GITHUB_ACTOR or your user name)")
    p.add_argument("--wait-seconds", type=float, default=0, help="wait this long for the release to reach approval")

    p = command("stop", cmd_stop, "Stop a running release; the undo of stopped releases then puts back what it changed.")
    p.add_argument("execution", metavar="EXECUTION")
    p.add_argument("--reason", required=True, help="why; goes into the execution's history, status and the notification")
    p.add_argument("--by", help="who stops it (default: CUTOVER_USER, GITHUB_ACTOR or your user name)")

    p = command("status", cmd_status, "Where a release is now (exit 1 if it failed).")
    p.add_argument("execution", metavar="EXECUTION")

    p = command("history", cmd_history, "The release's timeline: each state, when, how long, what it found and changed.")
    p.add_argument("execution", metavar="EXECUTION")
    p.add_argument("--all", action="store_true", help="include the choice states")

    p = command("rollback", cmd_rollback,
                "Bring back the version the last release retired (or any version still kept), the same careful way. "
                "Checked before it starts: a version nobody kept, or nothing to bring back, exits 3 and starts nothing. "
                "A rollback does not wait for approval, whatever the kept config's approval.mode says: it is the way "
                "out of a bad release; add --require-approval to have an operator approve it first.")
    p.add_argument("--env", required=True)
    p.add_argument("--service", required=True, help="the deploy config's service name")
    p.add_argument("--to", metavar="VERSION", help="a version cleanup still keeps (release.retired_versions_to_keep); "
                                                   "default: the one the last release retired")
    p.add_argument("--require-approval", action="store_true",
                   help="wait for an operator's approval (cutover approve) before traffic moves back, as a release "
                        "with approval.mode manual does; without it a rollback does not wait")
    p.add_argument("--name", help="execution name (default: SERVICE-ENV-rollback-<CI run id or time>)")
    _wait_options(p)

    p = command("releases", cmd_releases,
                "The release ledger of a service: every release, rollback and stop, with who started and approved it, "
                "when, how long, how it ended and why; kept beyond Step Functions' 90 days (the stack's "
                "ledger_retention_days). --stats: the DORA measures over the period.")
    p.add_argument("--service", required=True, help="the deploy config's service name")
    p.add_argument("--env", help="only this env (default: every env)")
    p.add_argument("--since", metavar="DATE", help="first day, YYYY-MM-DD in UTC (default: 29 days before --until, 30 days in all)")
    p.add_argument("--until", metavar="DATE", help="last day, YYYY-MM-DD in UTC (default: today)")
    p.add_argument("--stats", action="store_true",
                   help="deploy frequency, change failure rate, time to restore and time from start to all traffic")

    p = command("validate", cmd_validate, "Check a deploy config file offline (exit 2 when it is not valid).")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--env", help="check the file as a release to this env reads it (default: every env it names)")

    p = command("render", cmd_render, "Print the deploy config as a release to ENV reads it: merged, references resolved.")
    p.add_argument("--env", required=True)
    p.add_argument("--config", required=True, metavar="FILE")

    p = command("plan", cmd_plan, "What a release would create, change, retire and delete in this account. Changes nothing. "
                                  "Exits 1 when it predicts the release would fail (a missing cluster, a name taken, "
                                  "the service locked by a running release).")
    p.add_argument("--env", required=True)
    p.add_argument("--version", required=True)
    p.add_argument("--image", required=True)
    p.add_argument("--config", required=True, metavar="FILE")
    p.add_argument("--env-var", action="append", metavar="NAME=VALUE")

    p = command("adopt", cmd_adopt,
                "Let Cutover retire a service it did not create: check it, tag it and record it as the version that "
                "serves, so the next release retires it and rollback can bring it back.")
    p.add_argument("--config", required=True, metavar="FILE", help="the deploy config the next releases will use")
    p.add_argument("--env", required=True)
    p.add_argument("--ecs-service", required=True, metavar="NAME", help="the ECS service that serves the public rules today")
    p.add_argument("--version", required=True, metavar="LABEL", help="the version label it gets, e.g. pre-cutover")
    p.add_argument("--dry-run", action="store_true", help="check and show what would be tagged and recorded; change nothing")
    p.add_argument("--settings", metavar="FILE",
                   help="the stack's settings (cdk.json, or its context) whose name prefixes the service must fit "
                        "(default: the stack's NameScope output)")

    p = command("diagram", cmd_diagram, "Print the release flow as a Mermaid flowchart, from the state machine definition.")
    p.add_argument("--definition", metavar="FILE", help="an ASL file (default: statemachine/release.asl.json)")

    p = command("iam-policy", cmd_iam_policy,
                "Print the least-privilege IAM policy for the CI role that starts releases, for approvers, or for "
                "readers (plan, status, history: nothing changed).")
    p.add_argument("role", choices=["ci", "approver", "reader"])
    p.add_argument("--config-bucket", help="the bucket CI uploads deploy configs to (default: a placeholder)")
    p.add_argument("--config-key", action="append", metavar="KEY_ARN",
                   help="the customer managed KMS key that encrypts that bucket (SSE-KMS); repeat for more")
    p.add_argument("--release-table", metavar="NAME",
                   help="the release table (the stack's ReleaseTableName output; default: a placeholder)")

    command("schema", cmd_schema, "Print the JSON Schema of the deploy config (also in docs/config.schema.json).")

    p = command("init-stack", cmd_init_stack,
                "Write the CDK app that deploys the Cutover stack (app.py and cdk.json) into DIR, for `cdk deploy`.")
    p.add_argument("dir", metavar="DIR")
    p.add_argument("--force", action="store_true", help="overwrite app.py and cdk.json if DIR has them")
    command("demo", cmd_demo, "Run two releases over a live version on the local engine, no AWS account needed.")

    p = command("sandbox", None, "The local engine as an AWS endpoint on 127.0.0.1.")
    sandbox_sub = p.add_subparsers(dest="sandbox_command", metavar="SUBCOMMAND", required=True)
    up = sandbox_sub.add_parser("up", parents=common, help="start it and serve until Ctrl-C",
                                description="Start the sandbox: an AWS endpoint with the release state machine and a demo environment.")
    up.add_argument("--port", type=int, default=4566)
    up.add_argument("--dir", default=".sandbox", help="where to write deploy.yaml and env (default: .sandbox)")
    up.add_argument("--fail", action="append", metavar="STEP:MODE",
                    help="make a step fail every time, to rehearse what a release does when it breaks; STEP is a "
                         "step key (e.g. RecordRelease), MODE is error, throttle or crash; repeat for more")
    up.add_argument("--function", action="append", metavar="NAME=FILE:FUNCTION",
                    help="serve the Python function FUNCTION(event, context) of FILE as the Lambda function NAME "
                         "(named check-…), for verification checks (release.verify[].lambda); repeat for more")
    up.add_argument("--slow", action="append", metavar="STEP:SECONDS",
                    help="the step's function sleeps SECONDS after it starts, before it changes anything, as a slow "
                         "function would (Lambda stops it at its timeout); a stop meanwhile lets its change land "
                         "after the stop; repeat for more")
    up.add_argument("--event-delivery", default="normal", metavar="normal|twice|late:SECONDS|lost",
                    help="how the status change of a stopped, timed-out or failed release reaches its undo: once at "
                         "once (normal), twice at once, SECONDS late, or never (lost) (default: normal)")
    up.add_argument("--sweep-every", type=float, default=None, metavar="SECONDS",
                    help="how often the stack's schedule sweeps for releases that ended holding their lock with no "
                         "undo started (default: never in the sandbox)")
    up.add_argument("--settings", metavar="FILE",
                    help="the stack's settings (cdk.json, or a JSON object of cutover:… keys): the steps' IAM is "
                         "scoped as that stack's, so the rehearsal runs under your own names (default: the demo's)")
    up.add_argument("--traffic", type=float, metavar="RPS",
                    help="send RPS simulated requests a second through the public rule, split by its weights, and "
                         "publish each target group's AWS/ApplicationELB metrics (for release.analysis)")
    up.add_argument("--version-behaviour", action="append", metavar="VERSION:error_rate=R,p99_ms=N",
                    help="how a version answers the simulated requests: a share of 5XX answers and a p99 response "
                         "time (default 0 and 100 ms); needs --traffic; repeat for more versions")
    up.set_defaults(handler=cmd_sandbox_up)
    return parser


def _wants_json(argv: list[str]) -> bool:
    """--output json, read before parsing: a usage error gets the JSON error shape too."""
    return any(a == "--output=json" or (a == "--output" and i + 1 < len(argv) and argv[i + 1] == "json")
               for i, a in enumerate(argv))


def _emit_error(out: TextIO, exit_code: int, message: str) -> None:
    # On one line: a streaming command's JSON Lines end with it, and a script reads it the same way elsewhere.
    out.write(json.dumps({"error": {"code": ERROR_CODES[exit_code], "message": message, "exit_code": exit_code}}) + "\n")
    out.flush()


def _error(ctx: Context, exit_code: int, message: str) -> int:
    """Every error: a line on stderr for people; with --output json also `{"error": …}` on stdout."""
    ctx.err.write(f"cutover {ctx.args.command}: {message}\n")
    if ctx.json:
        _emit_error(ctx.out, exit_code, message)
    return exit_code


def main(argv: list[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    argv = sys.argv[1:] if argv is None else argv
    as_json = _wants_json(argv)
    parser = build_parser()
    usage = io.StringIO()
    try:
        # argparse prints help and usage errors itself; send them where this call writes.
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(usage):
            args = parser.parse_args(argv)
    except SystemExit as exit_:
        code = int(exit_.code or 0)
        err.write(usage.getvalue())
        if code and as_json:
            message = usage.getvalue().strip().splitlines()[-1].split(": error: ", 1)[-1]
            _emit_error(out, exits.USAGE.code, message)
        return code
    ctx = Context(args, out, err)

    try:
        return args.handler(ctx)
    except (Exception, KeyboardInterrupt) as error:
        failure = exits.of(aws_errors.translate(error))
        if isinstance(failure, exits.Unexpected) and os.environ.get("CUTOVER_DEBUG"):
            raise
        return _error(ctx, failure.exit_code, str(failure))
