"""One local engine serves every test of a process: starting it again must give a new, empty
account, with nothing of the previous run left in it (resources, executions, faults, the data plane's state)."""
from __future__ import annotations

import copy

from cutover.operations import executions as operations
from cutover.local import environment, faults, lambdas, snapshot
from cutover.local.engine import TABLE_NAME
from tests.conftest import Demo, wait_until_serving


def _account(engine) -> dict:
    """What a person would find in the account, beyond what the engine itself deploys."""
    sfn = engine.client("stepfunctions")
    return {
        **snapshot.take(engine.client),
        "load_balancers": engine.client("elbv2").describe_load_balancers()["LoadBalancers"],
        "executions": sfn.list_executions(stateMachineArn=engine.state_machine_arn)["executions"],
        "state_machines": [m["name"] for m in sfn.list_state_machines()["stateMachines"]],
        "release_table": engine.client("dynamodb").scan(TableName=TABLE_NAME)["Items"],
        "alarms": engine.client("cloudwatch").describe_alarms()["MetricAlarms"],
    }


def _demo(engine) -> Demo:
    env = environment.create(engine.client)
    config = environment.demo_config(env.values)
    config["release"]["traffic_steps"] = [{"percent": 100, "hold_seconds": 0}]
    environment.bootstrap_live_version(engine.client, copy.deepcopy(config))
    demo = Demo(engine=engine, env=env, config=config)
    wait_until_serving(demo)
    return demo


def _shifting_traffic_crashes(key: str, event: dict) -> None:
    if key == "ShiftTraffic":
        raise faults.Crash("ShiftTraffic crashed before its change")


def test_a_release_after_the_engine_is_started_again_sees_an_empty_account(worker_engine):
    # Given an engine whose account was used: a demo environment, a release of version 2 waiting
    # for its approval, a service the data plane keeps failing, a fault aimed at a step
    engine = worker_engine.start()
    empty = _account(engine)
    try:
        demo = _demo(engine)
        engine.data_plane.failing.add("web-3")
        first = demo.start("2", name="left-running")
        assert operations.wait_for_state(demo.sfn, first, operations.APPROVAL_STATE, 90)
        # a fault's hook left in place, as a test that died in the middle would leave it
        lambdas.before_hooks.append(_shifting_traffic_crashes)
    finally:
        engine.stop(reuse=True)

    # When it is started again
    engine.start()
    try:
        # Then the account holds only what the engine deploys, as a new engine's does
        assert _account(engine) == empty
        assert lambdas.before_hooks == [] and engine.data_plane.failing == set()
        # And a release there goes through: no fault, no failing service, no lock of the earlier run
        demo = _demo(engine)
        description = demo.release("2", name="left-running")
        assert description["status"] == "SUCCEEDED"
        assert {group for group, weight in demo.forward(demo.public_rule).items() if weight} == {"demo-web-2"}
        assert [e["name"] for e in demo.sfn.list_executions(stateMachineArn=engine.state_machine_arn)["executions"]] == ["left-running"]
    finally:
        engine.stop(reuse=True)
