"""The commands of the local engine: the demo and the sandbox."""
from __future__ import annotations

from cutover.cli.context import Context


def cmd_demo(ctx: Context) -> int:
    from cutover.sandbox import demo

    return ctx.finish("summary", demo.run(ctx.stream))


def cmd_sandbox_up(ctx: Context) -> int:
    from cutover.sandbox import server as sandbox

    a = ctx.args
    timing, behaviours = sandbox.checked_options(fail=a.fail or [], functions=a.function or [], settings=a.settings,
                                                 slow=a.slow or [], event_delivery=a.event_delivery,
                                                 sweep_every=a.sweep_every, version_behaviour=a.version_behaviour or [],
                                                 traffic=a.traffic, time_limit=a.time_limit or [])
    return ctx.finish("stopped", sandbox.up(ctx.stream, ctx.args.port, ctx.args.dir, fail=ctx.args.fail,
                                            functions=ctx.args.function, timing=timing, settings=ctx.args.settings,
                                            traffic=ctx.args.traffic, behaviours=behaviours))
