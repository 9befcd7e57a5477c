"""The commands about a deploy config: validate, render, plan, adopt."""
from __future__ import annotations

from typing import Any

from cutover import exits
from cutover.aws.connection import release_clients
from cutover.exits import NotFound, UsageError
from cutover.operations import executions as operations
from cutover.output import reports
from cutover.cli.context import Context, caller_identity, env_vars


def cmd_validate(ctx: Context) -> int:
    from cutover.operations import configfile

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
    from cutover.operations import configfile

    a = ctx.args
    checked = configfile.check(a.config, env=a.env, client=ctx.client)
    if not checked.valid:
        raise UsageError(f"{a.config} is not a valid deploy config for env {a.env}:\n  " + "\n  ".join(checked.problems))
    import yaml

    from cutover.output.masking import masked

    data = masked(checked.data)
    return ctx.show(reports.Report(data, lambda: yaml.safe_dump(data, sort_keys=False).rstrip("\n")))


def cmd_plan(ctx: Context) -> int:
    from cutover.operations import configfile, planning
    from cutover.output.masking import masked

    a = ctx.args
    checked = configfile.check(a.config, env=a.env, client=ctx.client)
    if not checked.valid:
        raise UsageError(f"{a.config} is not a valid deploy config:\n  " + "\n  ".join(checked.problems))
    operations.check_start_input({"env": a.env, "version": a.version, "image": a.image, "config": checked.data,
                        "environment": env_vars(a.env_var)})
    plan = planning.make_plan(checked.config, a.env, a.version, a.image, env_vars(a.env_var))
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
    from cutover.operations import adoption, configfile

    a = ctx.args
    checked = configfile.check(a.config, env=a.env, client=ctx.client)
    if not checked.valid:
        raise UsageError(f"{a.config} is not a valid deploy config:\n  " + "\n  ".join(checked.problems))
    identity = None if a.dry_run else caller_identity(ctx)
    scope = adoption.name_scope(ctx.connection, a.settings)
    with release_clients(ctx.connection, ctx.connection.release_table()):
        found = adoption.decide(checked.config, a.env, a.ecs_service, a.version, identity, scope)
        applied = not a.dry_run and not found.done
        if applied:
            adoption.apply(found)
    report = found.report(dry_run=a.dry_run, applied=applied)
    return ctx.show(reports.Report(report, lambda: adoption.text(report)))
