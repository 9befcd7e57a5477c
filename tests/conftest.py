"""Shared fixtures: the local engine with the demo environment, and a way to drive one release."""
from __future__ import annotations

import copy
import json
import os
import random
import shutil
import tempfile
import time
from dataclasses import dataclass
from typing import Any

import pytest

from cutover.operations import executions as operations
from cutover.local import environment, iam, invariants
from cutover.local.engine import LocalEngine
from cutover.local.invariants import EmptyTargetSampler
from cutover_steps.registry import STEPS

_USAGE = pytest.StashKey[str]()
CHAOS_SEED = "CHAOS_SEED"


def pytest_configure(config: pytest.Config) -> None:
    """Every process of the run (xdist workers, sandboxes they start) records the permissions its
    steps used in one directory; the controlling process reads it at the end. The seed of the fault
    matrix's sample (tests/chaos/test_sample.py) is drawn here, once for the run."""
    if hasattr(config, "workerinput"):
        return  # a worker inherits the controller's directory and seed through the environment
    os.environ.setdefault(CHAOS_SEED, str(random.randrange(10_000)))
    directory = tempfile.mkdtemp(prefix="cutover-iam-usage-")
    os.environ[iam.USAGE_DIR] = directory
    config.stash[_USAGE] = directory


# Markers every test gets from what it uses, so that a run can pick (`make test-fast` leaves out all
# but the first line's "none"): its fixtures, or the names its module imports.
#   engine: the local engine (the worker_engine fixture, a LocalEngine of its own, a sandbox, the fault matrix)
#   sandbox: `cutover sandbox up` in a process of its own, on a free port (mostly waits)
#   synth: the CDK stack synthesized (the synthesized fixture, the CDK imported, tests/infrastructure)
#   chaos: a cell of the fault matrix; install: the wheel installed into new virtualenvs
MARKERS = ("engine", "sandbox", "synth", "chaos", "install")
_ENGINE_FIXTURES = {"worker_engine"}
_SYNTH_FIXTURES = {"synthesized"}
_SANDBOX_HELPERS = {"sandbox_process", "free_port"}


def _uses(item: pytest.Item) -> set[str]:
    module = getattr(item, "module", None)
    names = vars(module) if module else {}
    imported = {getattr(value, "__name__", "") for value in names.values()} | {
        getattr(value, "__module__", "") or "" for value in names.values() if callable(value)}
    fixtures = set(getattr(item, "fixturenames", ()))
    marks = {mark.name for mark in item.iter_markers()}
    found = set()
    if fixtures & _ENGINE_FIXTURES or "LocalEngine" in names:
        found.add("engine")
    if _SANDBOX_HELPERS & set(names):
        found |= {"engine", "sandbox"}
    if "chaos.run" in imported:
        found |= {"engine", "chaos"}
    if (fixtures & _SYNTH_FIXTURES or any(name.startswith(("aws_cdk", "cutover.cdk")) for name in imported)
            or "cutover.local.iam.policies" in imported or "tests/infrastructure/" in item.nodeid):
        found.add("synth")
    if "install" in marks:
        found.add("install")
    return found


# The order the tests are handed out in: those that take longest first, so that no process is
# left with a long one at the end while the others idle (`make test` keeps this order).
_FIRST = ("install", "sandbox", "engine", "synth", "chaos")
# The tests that go to whichever process is free, one at a time, after the files: the fault matrix's
# cells, and the handlers' imports (each a process of its own: 25 of them one after another in one
# test process ran on alone for half a minute after the others had finished).
_SPREAD = ("tests/chaos/test_sample.py::test_a_seeded_cell",
           "tests/unit/test_handler_imports.py::test_a_handler_imports_only_what_its_step_needs")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for name in _uses(item):
            item.add_marker(name)
        # `make test` hands out groups (--dist loadgroup): a file's tests go to one process together,
        # but the fault matrix's cells (each in an account of its own) spread over the processes.
        if not item.nodeid.startswith(_SPREAD):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))

    def rank(item: pytest.Item) -> int:
        if item.nodeid.startswith(_SPREAD):
            return _FIRST.index("chaos")  # short, one at a time: they fill the gaps the long files leave
        marks = {mark.name for mark in item.iter_markers()}
        return next((i for i, name in enumerate(_FIRST) if name in marks), len(_FIRST))

    def unit(item: pytest.Item) -> str:
        return item.nodeid if item.nodeid.startswith(_SPREAD) else item.nodeid.split("::")[0]

    # A module's tests stay together and in their order, ranked by its costliest; of two modules of
    # one rank, the one with more tests first (mostly more releases, so longer).
    unit_rank: dict[str, int] = {}
    unit_size: dict[str, int] = {}
    for item in items:
        unit_rank[unit(item)] = min(unit_rank.get(unit(item), len(_FIRST)), rank(item))
        unit_size[unit(item)] = unit_size.get(unit(item), 0) + 1
    items.sort(key=lambda item: (unit_rank[unit(item)], -unit_size[unit(item)]))


def _whole_suite(config: pytest.Config) -> bool:
    """Only a run of every test can tell that a grant is never used."""
    option = config.option
    return (config.args_source == pytest.Config.ArgsSource.TESTPATHS and not option.keyword
            and not option.markexpr and not option.deselect and not option.lf and not option.maxfail
            and not option.collectonly and not getattr(option, "stepwise", False))


def unused_grants(used: set[tuple[str, str]]) -> list[str]:
    return [f"{step.key}: {action} is granted but no test path makes that call; remove it from the calls of "
            f"Step({step.key!r}) in lambdas/cutover_steps/registry.py, or test the path that needs it"
            for step in STEPS for action in step.calls if (step.key, action) not in used]


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """The seed of the fault matrix's sample, when it ran: the output says how to draw it again."""
    ran = any(report.nodeid.startswith("tests/chaos/test_sample.py") for reports in terminalreporter.stats.values()
              for report in reports if hasattr(report, "nodeid"))
    if ran:
        seed = os.environ[CHAOS_SEED]
        terminalreporter.write_line(f"fault matrix sample: seed {seed} (the same sample again: CHAOS_SEED={seed} make test)")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    directory = session.config.stash.get(_USAGE, None)
    if directory is None:
        return
    try:
        unused = unused_grants(iam.usage_in(directory)) if _whole_suite(session.config) else []
        if unused:
            reporter = session.config.pluginmanager.get_plugin("terminalreporter")
            reporter.write_sep("=", "least privilege: grants no test uses", red=True)
            if exitstatus != 0:
                reporter.write_line("(some tests failed: a path they did not finish may use some of these)")
            for line in unused:
                reporter.write_line(line)
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@dataclass
class Demo:
    engine: LocalEngine
    env: environment.DemoEnvironment
    config: dict[str, Any]
    sampler: EmptyTargetSampler | None = None

    @property
    def sfn(self):
        return self.engine.client("stepfunctions")

    def client(self, name: str):
        return self.engine.client(name)

    def start(self, version: str, *, name: str | None = None, config: dict[str, Any] | None = None, **extra: Any) -> str:
        start_input = {"env": "demo", "version": version, "image": f"registry.local/web:{version}",
                       "config": config or self.config, **extra}
        return operations.start(self.sfn, self.engine.state_machine_arn, start_input, name or f"release-{version}")

    def release(self, version: str, *, approve: bool = True, **kwargs: Any) -> dict[str, Any]:
        """Start, approve when asked, and wait for the end; returns DescribeExecution."""
        arn = self.start(version, **kwargs)
        if approve and operations.wait_for_state(self.sfn, arn, operations.APPROVAL_STATE, 90):
            operations.approve(self.sfn, arn, by="test-operator", wait_seconds=30)
        description = operations.wait(self.sfn, arn, 180)
        if description["status"] != "SUCCEEDED":
            # What the release was doing when it ended or stalled: the first thing to read on a failure.
            for event in operations.history(self.sfn, arn)[-12:]:
                details = {k: v for k, v in event.items() if k.endswith("Details")}
                print(event["timestamp"].isoformat(), event["type"], json.dumps(details, default=str)[:400])
        return description

    def forward(self, rule_arn: str) -> dict[str, int]:
        """Target group name → weight of a rule's forward action."""
        return invariants.forward_by_name(self.client("elbv2"), rule_arn)

    @property
    def public_rule(self) -> str:
        return self.env.values["PUBLIC_RULE_ARN"]

    @property
    def preparing_rule(self) -> str:
        return self.env.values["PREPARING_RULE_ARN"]

    def service(self, name: str) -> dict[str, Any] | None:
        found = self.client("ecs").describe_services(cluster="demo", services=[name], include=["TAGS"])["services"]
        return found[0] if found and found[0]["status"] == "ACTIVE" else None

    def scalable_target(self, service: str) -> dict[str, Any] | None:
        targets = self.client("application-autoscaling").describe_scalable_targets(
            ServiceNamespace="ecs", ResourceIds=[f"service/demo/{service}"])["ScalableTargets"]
        return targets[0] if targets else None

    def parked(self, service: str) -> bool:
        """Its scalable target held at zero with every kind of scaling suspended, as a retired version's is."""
        target = self.scalable_target(service)
        return target is not None and (target["MinCapacity"], target["MaxCapacity"]) == (0, 0) and all(
            (target.get("SuspendedState") or {}).get(key) for key in
            ("DynamicScalingInSuspended", "DynamicScalingOutSuspended", "ScheduledScalingSuspended"))

    def target_group_names(self) -> set[str]:
        return {g["TargetGroupName"] for g in self.client("elbv2").describe_target_groups()["TargetGroups"]}

    def output(self, description: dict[str, Any]) -> dict[str, Any]:
        return json.loads(description["output"])


@pytest.fixture(scope="session")
def worker_engine():
    """One local engine per test process: making one costs seconds (the SDK's models, the data
    plane); starting it again empties its account in a fraction of that."""
    # Retry back-off sleeps a tenth of its time (same attempts, same order), as in the fault matrix:
    # what the tests check is where a failure leads, not how long the state machine waits before.
    engine = LocalEngine(task_start_seconds=0.2, retry_backoff_scale=0.1)
    yield engine
    engine.stop()


@pytest.fixture
def engine(worker_engine):
    """The local engine with a new, empty account: nothing of an earlier test is left in it."""
    with worker_engine.new_account() as running:
        yield running


def wait_until_serving(demo: Demo, timeout: float = 60) -> None:
    """Until version 1's tasks have registered healthy, as a live version's have."""
    elbv2 = demo.client("elbv2")
    group = elbv2.describe_target_groups(Names=["demo-web-1"])["TargetGroups"][0]["TargetGroupArn"]
    deadline = time.time() + timeout
    while time.time() < deadline:
        health = elbv2.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
        if sum(1 for d in health if d["TargetHealth"]["State"] == "healthy") >= 2:
            return
        time.sleep(0.1)
    raise AssertionError("version 1 of the demo never became healthy")


@pytest.fixture
def demo(engine):
    """The demo environment with version 1 live behind the public rule, autoscaled 2..6.

    Throughout the test the public rule is sampled: no test may ever leave it giving weight to a
    target group with no healthy targets, whatever path the release took.
    """
    env = environment.create(engine.client)
    config = environment.demo_config(env.values)
    # Short holds keep the suite quick; the waits are inputs of the definition, as in production.
    config["release"]["traffic_steps"] = [{"percent": 50, "hold_seconds": 2}, {"percent": 100, "hold_seconds": 0}]
    environment.bootstrap_live_version(engine.client, copy.deepcopy(config))
    demo = Demo(engine=engine, env=env, config=config)
    wait_until_serving(demo)
    demo.sampler = EmptyTargetSampler(engine.client("elbv2"), [demo.public_rule]).start()
    yield demo
    # Executions still running would change the rules after the last sample.
    engine.wait_for_running_executions()
    violations = demo.sampler.stop()
    assert demo.sampler.samples > 0
    assert not violations, "users were sent to an empty version:\n" + "\n".join(map(str, violations))
