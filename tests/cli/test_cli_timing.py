"""Rehearsing AWS's timing through the sandbox: `cutover sandbox up --slow STEP:SECONDS
--time-limit STEP:SECONDS --event-delivery normal|twice|late:SECONDS|lost --sweep-every SECONDS`,
driven through the command line and boto3 only: a stop while a step is slow, a status change twice or
never. The slow steps are deployed with a time limit of 15 s rather than the stack's 60 s or more: the
undo of a stop waits for the limit, whatever its length, and the shorter one keeps each wait short."""
from __future__ import annotations

import json
import time

import boto3
import pytest

from cutover.definition import states
from cutover.local.account import function_name
from cutover.local.invariants import EmptyTargetSampler
from tests.cli.helpers import cutover, cutover_process, sandbox_env, sandbox_process

# Longer than a slow step's sleep and its change, even on a loaded machine: the undo reads the account
# once the limit has passed, and the local engine cannot stop a handler that runs past it.
LIMIT = 15

pytestmark = pytest.mark.e2e

(SHIFT_STATE,) = states.of_step("ShiftTraffic")
(CREATE_STATE,) = states.of_step("CreateService")
(RETIRE_STATE,) = states.of_step("RetireOldVersion")


@pytest.mark.parametrize("flags, said", [
    (("--slow", "Nothing:3"), "STEP one of LoadRelease"),
    (("--slow", "ShiftTraffic"), "write STEP:SECONDS"),
    (("--event-delivery", "sometimes"), "one of normal, twice, late:SECONDS (e.g. late:30), lost"),
    (("--sweep-every", "0"), "--sweep-every 0.0: a number of seconds above 0"),
    (("--time-limit", "ShiftTraffic:0"), "SECONDS a whole number from 1 to 900 (Lambda's bounds)"),
    (("--time-limit", "Shift:20"), "STEP one of LoadRelease"),
])
def test_a_bad_timing_option_is_refused_before_the_sandbox_starts(flags, said):
    result = cutover("sandbox", "up", "--port", "1", *flags)
    assert result.code == 2, result.out + result.err
    assert said in result.err


def _aws(sandbox, service: str):
    env = sandbox_env(sandbox)
    return boto3.client(service, endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_REGION"],
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def _start(sandbox, version: str, approval: str = "auto") -> str:
    path = sandbox["dir"] / "deploy.yaml"
    path.write_text(path.read_text().replace("mode: manual", f"mode: {approval}").replace("mode: auto", f"mode: {approval}"))
    started = cutover_process(sandbox, "start", "--env", "demo", "--version", version, "--image", f"web:{version}",
                              "--config", str(path), "--name", f"web-{version}", "--output", "json")
    assert started.returncode == 0, started.stdout + started.stderr
    return json.loads(started.stdout)["executionArn"]


def _status(sandbox, name: str) -> dict:
    """`cutover status NAME --output json` against the sandbox, in this process (it is asked every
    second: a process of its own each time would cost more than the sandbox's releases)."""
    env = sandbox_env(sandbox)
    result = cutover("status", name, "--output", "json", "--endpoint-url", env["AWS_ENDPOINT_URL"],
                     "--region", env["AWS_REGION"], "--state-machine-arn", env["CUTOVER_STATE_MACHINE_ARN"])
    assert result.out.startswith("{"), result.err  # its exit code says how the release ended
    return json.loads(result.out)


def _until(predicate, timeout: float, what: str):
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(1)
    raise AssertionError(f"never: {what}")


def _forward(sandbox, rule_arn: str) -> dict[str, int]:
    elbv2 = _aws(sandbox, "elbv2")
    names = {g["TargetGroupArn"]: g["TargetGroupName"] for g in elbv2.describe_target_groups()["TargetGroups"]}
    (rule,) = elbv2.describe_rules(RuleArns=[rule_arn])["Rules"]
    (action,) = [a for a in rule["Actions"] if a["Type"] == "forward"]
    if "ForwardConfig" not in action:  # a rule no release has changed yet forwards to one group
        return {names[action["TargetGroupArn"]]: 1}
    return {names[g["TargetGroupArn"]]: g["Weight"] for g in action["ForwardConfig"]["TargetGroups"] if g["Weight"]}


def _public_rule(sandbox) -> str:
    elbv2 = _aws(sandbox, "elbv2")
    for balancer in elbv2.describe_load_balancers()["LoadBalancers"]:
        for listener in elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]:
            for rule in elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]:
                forwards = [a for a in rule["Actions"] if a["Type"] == "forward"]
                if not rule["IsDefault"] and forwards and "preparing" not in json.dumps(rule["Conditions"]):
                    return rule["RuleArn"]
    raise AssertionError("no public rule")


def _subscribed_queue(sandbox):
    """A queue subscribed to the sandbox's release topic, as a team's chat integration would be; returns a
    reader of every notification sent since (it waits until none came for three seconds)."""
    sqs, sns = _aws(sandbox, "sqs"), _aws(sandbox, "sns")
    url = sqs.create_queue(QueueName="release-notifications")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    (topic,) = [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue, Attributes={"RawMessageDelivery": "true"})

    def read() -> list[str]:
        bodies, quiet_until = [], time.time() + 3
        while time.time() < quiet_until:
            for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
                bodies.append(message["Body"])
                quiet_until = time.time() + 3
        return bodies

    return read


def _desired(sandbox, service: str) -> int:
    found = _aws(sandbox, "ecs").describe_services(cluster="demo", services=[service])["services"]
    return found[0]["desiredCount"] if found and found[0]["status"] == "ACTIVE" else 0


def test_a_stop_while_the_traffic_shift_is_slow_is_undone_once_with_the_rules_on_the_old_version(tmp_path):
    with sandbox_process(tmp_path, "--slow", "ShiftTraffic:6", "--time-limit", f"ShiftTraffic:{LIMIT}",
                         "--event-delivery", "twice") as sandbox:
        assert "slow           ShiftTraffic: sleeps 6 s before its change" in sandbox["banner"]
        assert f"time limit     ShiftTraffic: {LIMIT} s (the stack deploys 60 s)" in sandbox["banner"]
        # the function is deployed with that limit, as the account shows it
        shown = _aws(sandbox, "lambda").get_function_configuration(FunctionName=function_name("ShiftTraffic"))
        assert shown["Timeout"] == LIMIT
        rule = _public_rule(sandbox)
        told = _subscribed_queue(sandbox)
        # Given a release whose traffic shift is slow, stopped while it runs
        arn = _start(sandbox, "2")
        sfn = _aws(sandbox, "stepfunctions")
        _until(lambda: _status(sandbox, "web-2").get("current_state") == SHIFT_STATE, 120, "the shift runs")
        sfn.stop_execution(executionArn=arn, cause="stopped while the traffic shift ran")
        # When its undo has run (the status change came twice)
        status = _until(lambda: (s := _status(sandbox, "web-2"))["undo_run"]["state"] not in ("not started", "still running") and s,
                        240, "the undo ends")
        # Then it ran once, the public rule is on version 1 only, and version 2 is at zero
        assert status["undo_run"]["state"] == "done", status
        undos = sfn.list_executions(stateMachineArn=sandbox_env(sandbox)["CUTOVER_STATE_MACHINE_ARN"] + "-Undo")["executions"]
        assert [u["name"] for u in undos] == ["web-2"]
        assert _forward(sandbox, rule) == {"demo-web-1": 1}
        assert _desired(sandbox, "web-2") == 0
        # and people were told of the stop once
        stops = [body for body in told() if "was stopped by hand" in body]
        assert len(stops) == 1, stops
        # And the next release succeeds
        arn3 = _start(sandbox, "3")
        assert _until(lambda: (s := sfn.describe_execution(executionArn=arn3)["status"]) != "RUNNING" and s, 180,
                      "the next release ends") == "SUCCEEDED"
        assert _forward(sandbox, rule) == {"demo-web-3": 1}


def test_a_stop_whose_status_change_is_lost_is_undone_by_the_sweep(tmp_path):
    with sandbox_process(tmp_path, "--event-delivery", "lost", "--sweep-every", "10") as sandbox:
        assert "status change  lost" in sandbox["banner"] and "sweep          every 10 s" in sandbox["banner"]
        # Given a release stopped while it waits for approval, whose status change never comes
        arn = _start(sandbox, "2", approval="manual")
        sfn = _aws(sandbox, "stepfunctions")
        _until(lambda: _status(sandbox, "web-2")["waiting_for_approval"], 120, "version 2 waits for approval")
        sfn.stop_execution(executionArn=arn)
        # Then the sweep finds its lock and undoes it: version 2 at zero, the lock free
        status = _until(lambda: (s := _status(sandbox, "web-2"))["undo_run"]["state"] == "done" and s, 120,
                        "the sweep's undo is done")
        assert _desired(sandbox, "web-2") == 0
        assert "public traffic was not moved" in status["undo_run"]["did"]


def test_stops_while_the_service_is_created_or_the_old_version_retired_are_undone_from_what_the_late_step_left(tmp_path):
    with sandbox_process(tmp_path, "--slow", "CreateService:6", "--slow", "RetireOldVersion:6", "--time-limit",
                         f"CreateService:{LIMIT}", "--time-limit", f"RetireOldVersion:{LIMIT}") as sandbox:
        rule, sfn = _public_rule(sandbox), _aws(sandbox, "stepfunctions")
        sampler = EmptyTargetSampler(_aws(sandbox, "elbv2"), [rule]).start()

        def stopped_while(state: str, version: str) -> dict:
            arn = _start(sandbox, version)
            _until(lambda: _status(sandbox, f"web-{version}").get("current_state") == state, 120, f"{state} runs")
            sfn.stop_execution(executionArn=arn, cause=f"stopped while '{state}' ran")
            return _until(lambda: (s := _status(sandbox, f"web-{version}"))["undo_run"]["state"]
                          not in ("not started", "still running") and s, 240, "the undo ends")

        def released(version: str) -> None:
            arn = _start(sandbox, version)
            assert _until(lambda: (s := sfn.describe_execution(executionArn=arn)["status"]) != "RUNNING" and s, 180,
                          f"the release of {version} ends") == "SUCCEEDED"
            assert _forward(sandbox, rule) == {f"demo-web-{version}": 1}

        # A stop while version 2's service is created: the service the late step made runs no task
        status = stopped_while(CREATE_STATE, "2")
        assert status["undo_run"]["state"] == "done", status
        assert _desired(sandbox, "web-2") == 0 and _forward(sandbox, rule) == {"demo-web-1": 1}
        released("3")

        # A stop while the old version is retired: traffic stays on the new version, which serves
        status = stopped_while(RETIRE_STATE, "4")
        assert status["undo_run"]["state"] == "done", status
        assert _forward(sandbox, rule) == {"demo-web-4": 1} and _desired(sandbox, "web-4") > 0
        released("5")

        # and the public rule never gave weight to a group without a healthy target
        violations = sampler.stop()
        assert sampler.samples > 0 and not violations, violations
