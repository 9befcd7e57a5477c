"""`cutover releases`: the release ledger of a service over a period, and its DORA measures."""
from __future__ import annotations

from cutover.output import reports
from cutover.cli.context import Context


def cmd_releases(ctx: Context) -> int:
    from cutover_steps.decisions import ledger

    from cutover.operations import releases

    a = ctx.args
    start, end = releases.period(a.since, a.until)
    entries = releases.read(ctx.client("dynamodb"), ctx.connection.release_table(), a.service, start, end)
    found = releases.report(entries, a.service, a.env, start, end)
    if a.stats:
        found = {**found, "stats": ledger.stats(found["releases"], start, end)}
        return ctx.show(reports.Report(found, lambda: releases.stats_text(found)))
    return ctx.show(reports.Report(found, lambda: releases.text(found)))
