"""Run one cell of the matrix: a release with its fault, then the invariants, then the same release again."""
from __future__ import annotations

import contextlib
import io
import json
import logging
import time
import traceback
from typing import Any, Collection, Iterator

from botocore.exceptions import ClientError

from cutover.definition import states
from cutover.operations import executions as operations
from cutover_steps.decisions import unfinished as unfinished_names
from cutover.cli import main as cutover_main
from cutover.local import faults
from cutover.local.engine import LocalEngine
from cutover.local.invariants import EmptyTargetSampler
from cutover.exits import CommandError
from chaos.matrix import DELIVERY, SLOW_STOP, Cell
from chaos.world import ECS_SERVICE, GROUP, NEW, OBSOLETE_TAG, OLD, SERVICE, World

RELEASE_TIMEOUT = 180
# The fastest engine settings that keep a release's behaviour: tasks start and register within a
# health poll, the data plane converges every 300 ms, retry back-off sleeps a tenth of its time (same attempts).
ENGINE = {"tick_seconds": 0.3, "task_start_seconds": 0.1, "retry_backoff_scale": 0.1}
# SDK back-off on throttling, shrunk the same way (same number of attempts).
SDK_BACKOFF_SCALE = 0.01
FAILED_ENDS = {"FAILED", "ABORTED", "TIMED_OUT"}


_engine: list[LocalEngine] = []


def new_account() -> contextlib.AbstractContextManager[LocalEngine]:
    """This worker's local engine with a new, empty account: one engine per worker, started again
    for each cell (making a new one would cost seconds: the SDK's models, the data plane)."""
    if not _engine:
        _engine.append(LocalEngine(**ENGINE))
    return _engine[0].new_account()


def fault(cell: Cell, world: World) -> contextlib.AbstractContextManager:
    aim = faults.Target(cell.step, cell.state)
    if cell.fault == "throttle":
        return faults.throttle(per_call=1, operations=faults.every_call_of(cell.step), steps=[aim],
                               sdk_backoff_scale=SDK_BACKOFF_SCALE)
    if cell.fault == "crash_before":
        return faults.crash_before([aim])
    if cell.fault == "crash_after":
        return faults.crash_after([aim])
    if cell.fault == "timeout":
        return faults.time_out([aim])
    if cell.fault == "access_denied":
        return faults.deny(aim)
    if cell.fault == SLOW_STOP:
        sfn = world.client("stepfunctions")
        return faults.stop_while_running(aim, lambda arn: sfn.stop_execution(
            executionArn=arn, error="Stopped", cause="stopped by an operator while the step ran"))
    return contextlib.nullcontext()


@contextlib.contextmanager
def route(cell: Cell, states: dict[str, str]) -> Iterator[None]:
    """The states on the cell's route fail every time they run, so the release goes where the cell is."""
    with contextlib.ExitStack() as stack:
        for state in cell.route:
            stack.enter_context(faults.refuse(faults.Target(states[state], state),
                                              faults.Crash(f"{states[state]} crashes every time in '{state}'")))
        yield


def start(world: World, name: str) -> str:
    start_input = {"env": "demo", "version": NEW, "image": f"registry.local/{SERVICE}:{NEW}", "config": world.config}
    return operations.start(world.client("stepfunctions"), world.engine.state_machine_arn, start_input, name)


def _traffic_weights(percent: int) -> dict[str, int]:
    if percent >= 100:
        return {GROUP[NEW]: 1000}
    return {GROUP[OLD]: 1000 - percent * 10, GROUP[NEW]: percent * 10}


def _at_phase(cell: Cell, world: World, events: list[dict[str, Any]]) -> bool:
    if cell.step:
        return False
    if cell.state == "prepared":
        return operations.current_state(events) == operations.APPROVAL_STATE and operations.pending_approval(events)[0] is not None
    if cell.state == "bake":
        return "bake" in (operations.current_state(events) or "").lower()
    percent = int(cell.state.split()[1].rstrip("%"))
    forward = {g: w for g, w in world.forward(world.env.values["PUBLIC_RULE_ARN"]).items() if w}
    return {g: round(w * 1000 / sum(forward.values())) for g, w in forward.items()} == _traffic_weights(percent)


def drive(cell: Cell | None, world: World, arn: str) -> dict[str, Any]:
    """Approve when asked, and let the new version go on whenever a hold's analysis asks; at the cell's
    phase, stop the execution or set off the alarm."""
    sfn = world.client("stepfunctions")
    acted = cell is None or bool(cell.step)
    approved = False
    deadline = time.time() + RELEASE_TIMEOUT
    while time.time() < deadline:
        description = sfn.describe_execution(executionArn=arn)
        if description["status"] != "RUNNING":
            return description
        # Reading the history costs the emulator more than anything else the harness does: only its
        # newest events are read (a wait for an answer, or the state under way, is among them), and
        # only while they can tell something (the approval to give, a hold's question to answer once
        # the new version has traffic, the bake to find).
        needs_history = (not approved or (not acted and cell.state == "bake")
                         or GROUP[NEW] in {g for g, w in world.forward(world.env.values["PUBLIC_RULE_ARN"]).items() if w})
        events = operations.since_last_state(sfn, arn) if needs_history else []
        token = operations.pending_approval(events)[0] if events else None
        if not acted and _at_phase(cell, world, events):
            acted = True
            if cell.fault in DELIVERY:
                sfn.stop_execution(executionArn=arn, error="Stopped", cause="stopped by an operator")
                continue
            world.set_alarm("ALARM")
        if token:
            # It may have ended (or been stopped) meanwhile: the next turn sees it.
            with contextlib.suppress(CommandError, ClientError):
                operations.approve(sfn, arn, by="chaos-operator")
                approved = True
        time.sleep(0.3)
    raise TimeoutError(f"{arn} still running after {RELEASE_TIMEOUT} s")


def status_report(world: World, name: str) -> dict[str, Any]:
    """`cutover status NAME --output json`. Exit 1 with a report is a failed release; without a report,
    status itself failed, which breaks the cell (with CUTOVER_DEBUG=1, its trace is in the failure)."""
    out, err = io.StringIO(), io.StringIO()
    code = cutover_main(["status", name, "--output", "json", "--state-machine-arn", world.engine.state_machine_arn],
                        out=out, err=err)
    report = json.loads(out.getvalue()) if out.getvalue().strip() else {}
    if "status" in report:
        return {**report, "exit_code": code}
    raise RuntimeError(f"cutover status {name} exited {code}: {out.getvalue().strip()} {err.getvalue().strip()}".strip())


def end_state(world: World, unfinished: Collection[str] = ()) -> tuple[str, list[str]]:
    """Which of the two consistent ends the account is in ("old" or "new"), and what breaks it.
    `unfinished`: the steps `cutover status` lists as work left to the next release."""
    forward = {g for g, w in world.forward(world.env.values["PUBLIC_RULE_ARN"]).items() if w}
    old, new = ECS_SERVICE[OLD], ECS_SERVICE[NEW]
    problems: list[str] = []

    def serving(service: str) -> None:
        found = world.service(service)
        if not found or found["desiredCount"] != 2:
            problems.append(f"{service} serves all traffic but runs {found and found['desiredCount']} tasks, not 2")
        if world.scaling(service) != ((2, 6), ["cpu"]):
            problems.append(f"{service} serves all traffic without its autoscaling 2..6 + cpu: {world.scaling(service)}")

    def idle(service: str, how: str) -> None:
        found = world.service(service)
        if found and (found["desiredCount"] != 0 or world.scaling(service)[0] not in (None, (0, 0))):
            problems.append(f"{service} should be {how} but runs {found['desiredCount']} tasks, scaling {world.scaling(service)}")

    if forward == {GROUP[OLD]}:
        serving(old)
        idle(new, "torn down")
        if world.service(new) and OBSOLETE_TAG not in world.tags(new):
            problems.append(f"{new} is kept but not marked obsolete: no cleanup will remove it")
        return "old", problems
    if forward == {GROUP[NEW]}:
        serving(new)
        idle(old, "retired")
        record = world.item(f"release#demo#{SERVICE}") or {}
        previous = record.get("previous", {}).get("M", {})
        recorded = record.get("current", {}).get("M", {}).get("version", {}).get("S") == NEW and previous.get("version", {}).get("S") == OLD
        if not recorded and states.by_result_key()["record"] not in unfinished:
            problems.append(f"the release record does not say {NEW} serves and {OLD} can be rolled back to")
        return "new", problems
    return "mixed", [f"public traffic goes to {sorted(forward)}: neither version serves alone"]


def check(world: World, name: str, before: dict[str, Any], sampler: EmptyTargetSampler, *, expect_success: bool) -> tuple[dict[str, Any], list[str]]:
    """The invariants after one release, read from the account and from what `cutover status` says."""
    broken: list[str] = []
    report = status_report(world, name)
    status = report["status"]
    unfinished = {w["step"] for w in report.get("warnings") or []}
    # A release stopped once its switch was done (a retire that finished after the stop) is kept by
    # its undo, which says so and lists what the next release finishes.
    undo_did = (report.get("undo_run") or {}).get("did") or ""
    kept = status in FAILED_ENDS and undo_did.startswith("nothing moved back")
    if kept:
        unfinished |= {states.by_result_key()[key] for key, left in unfinished_names.LEFT_TO_DO.items() if left in undo_did}
    where, problems = end_state(world, unfinished)
    broken += [f"end state: {p}" for p in problems]
    if where == "new" and status != "SUCCEEDED" and not kept:
        broken.append(f"the new version serves alone but cutover status says {status}")
    if where == "old" and status not in FAILED_ENDS:
        broken.append(f"the old version serves alone but cutover status says {status}")
    if where == "new" and OBSOLETE_TAG not in world.tags(ECS_SERVICE[OLD]) and not (_left_to_do(report) or kept):
        broken.append(f"{ECS_SERVICE[OLD]} is retired but not marked obsolete, and cutover status lists nothing left to do")
    if expect_success and status != "SUCCEEDED":
        broken.append(f"expected the release to succeed, it ended {status}: {report.get('failure')}")
    holder = world.lock_holder()
    # A lock the success path could not free is stale: the next release takes it over (the re-run checks it).
    if holder and not (status == "SUCCEEDED" and states.by_result_key()["unlock"] in unfinished):
        broken.append(f"the lock is still held by {holder}")
    broken += [f"changed outside the release: {c}" for c in world.changed_elsewhere(before, world.snapshot())]
    broken += [f"empty version given traffic: {v}" for v in sampler.violations]
    sampler.violations.clear()
    return {"status": status, "end": where, "failure": report.get("failure")}, broken


def _left_to_do(report: dict[str, Any]) -> bool:
    return any(value for key, value in report.items() if "warning" in key or "left" in key)


def no_duplicates(world: World) -> list[str]:
    problems = []
    groups = sorted(g["TargetGroupName"] for g in world.client("elbv2").describe_target_groups()["TargetGroups"])
    if groups.count(GROUP[NEW]) != 1 or [g for g in groups if g not in GROUP.values() and "api" not in g]:
        problems.append(f"target groups {groups}: not one per version")
    if len(world.active_task_definitions(SERVICE)) != 2:
        problems.append(f"task definition revisions of {SERVICE}: {world.active_task_definitions(SERVICE)}, not one per version")
    return problems


def run_cell(cell: Cell, states: dict[str, str]) -> dict[str, Any]:
    """Run the cell in a fresh account; returns its outcome, its time and the invariants it broke."""
    started, cpu = time.time(), time.process_time()
    result: dict[str, Any] = {"id": cell.id, "state": cell.state, "step": cell.step, "fault": cell.fault,
                              "route": list(cell.route), "description": cell.describe()}
    broken: list[str] = []
    phases: dict[str, float] = {}
    clock = [time.time()]

    def lap(name: str) -> None:
        now = time.time()
        phases[name] = round(now - clock[0], 1)
        clock[0] = now

    try:
        with new_account() as engine:
            world = World.build(engine, hold_seconds=1 if cell.step else 3)
            before = world.snapshot()
            lap("set-up")
            with EmptyTargetSampler(world.client("elbv2"), world.public_rules, interval_seconds=0.25) as sampler:
                name = f"chaos-{cell.id}"[:72]
                engine.event_delivery = DELIVERY.get(cell.fault, "normal")
                with route(cell, states), fault(cell, world):
                    arn = start(world, name)
                    drive(cell, world, arn)
                world.set_alarm("OK")
                if cell.fault == "stop_late":
                    # The next release starts before the late status change: it must change nothing
                    # while the stopped release's undo is pending (its lock is refused).
                    early = drive(None, world, start(world, f"{name}-early"))
                    if early["status"] != "FAILED":
                        broken.append(f"a release started before the late undo ended {early['status']}, not FAILED")
                # What EventBridge sends when an execution ends badly, delivered by the engine itself: handled.
                engine.wait_for_status_changes()
                if cell.fault == "stop_lost":
                    # The status change never came: the stack's schedule sweeps for it.
                    engine.sweep()
                    engine.wait_for_status_changes()
                lap("release")
                first, problems = check(world, name, before, sampler, expect_success=cell.transient)
                result["first"] = first
                broken += problems
                lap("checks")
                drive(None, world, start(world, f"{name}-again"))
                engine.wait_for_status_changes()
                lap("again")
                second, problems = check(world, f"{name}-again", before, sampler, expect_success=True)
                result["again"] = second
                broken += [f"re-run: {p}" for p in problems + (no_duplicates(world) if second["status"] == "SUCCEEDED" else [])]
                lap("checks again")
        lap("engine stop")
    except Exception as error:  # noqa: BLE001 - a cell that cannot run is a failed cell, with why
        broken.append(f"the cell could not run: {error!r}: {traceback.format_exc(limit=3)}")
    result["seconds"] = round(time.time() - started, 1)
    # CPU time of the whole worker process (engine, handlers, data plane, checks): what the cell
    # costs whatever else the machine runs.
    result["cpu_seconds"] = round(time.process_time() - cpu, 1)
    result["phases"] = phases
    result["broken"] = broken
    result["reproduce"] = f"make chaos CELLS={cell.id}"
    return result


def quiet() -> None:
    """moto's interpreter logs every failed state with its whole tree; a cell's failures are meant."""
    logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)


def run_and_say(args: tuple[Cell, dict[str, str]]) -> dict[str, Any]:
    """run_cell for a worker process: prints one line per cell as it ends."""
    cell, states = args
    quiet()
    result = run_cell(cell, states)
    print(f"  {'FAIL' if result['broken'] else 'ok  '} {result['seconds']:5.1f}s  {cell.id}", flush=True)
    return result


def baseline() -> dict[str, Any]:
    """A release with no fault: the states it enters, in order (the matrix's map), and its time."""
    quiet()
    started = time.time()
    with new_account() as engine:
        world = World.build(engine)
        description = drive(None, world, start(world, "chaos-baseline"))
        events = operations.history(world.client("stepfunctions"), description["executionArn"])
    entered = list(dict.fromkeys(e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")))
    return {"status": description["status"], "entered": entered, "config": world.config, "seconds": round(time.time() - started, 1)}
