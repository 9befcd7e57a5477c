"""Capacity that follows traffic through the real definition: the new version sized to each traffic step's
share before its weights change, at full size and healthy before 100 %, the old version untouched until retired."""
from __future__ import annotations

import threading
import time

from cutover.operations import executions as operations
from tests.e2e.safety_fixtures import config_with, finish, start

SIZE_STATE = "Scale the new version for the next traffic step"


def proportional(demo, **release):
    config = config_with(demo, capacity="proportional", traffic_steps=[
        {"percent": 25, "hold_seconds": 3}, {"percent": 100, "hold_seconds": 0}], **release)
    config["service_settings"]["desired_count"] = 8
    config["service_settings"]["autoscaling"] = {**config["service_settings"]["autoscaling"], "min": 2, "max": 10}
    return config


class Sampler:
    """What serves while the release runs: the new version's count, the old one's, and the public weights."""

    def __init__(self, demo):
        self.demo, self.samples, self._stop = demo, [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)

    def _run(self):
        while not self._stop.wait(0.1):
            new, old = self.demo.service("web-2"), self.demo.service("web-1")
            self.samples.append({"at": time.time(), "new": new and new["desiredCount"], "old": old and old["desiredCount"],
                                 "weights": self.demo.forward(self.demo.public_rule)})


def test_the_new_version_follows_its_share_of_traffic_at_each_step(demo):
    # Given capacity: proportional, desired_count 8 (autoscaling 2..10), and a 25 % hold
    config = proportional(demo)

    # When v2 is released, watched from outside
    with Sampler(demo) as sampler:
        result = finish(demo, start(demo, "2", config))

    # Then it succeeded,
    assert result["status"] == "SUCCEEDED", result.get("cause")
    events = operations.history(demo.sfn, result["executionArn"])
    (hold,) = [e for e in operations.timeline(events) if e["state"] == "Watch alarms while traffic holds"]
    during_hold = [s for s in sampler.samples if hold["entered"].timestamp() <= s["at"] <= hold["exited"].timestamp()]
    assert all(s["weights"].get("demo-web-2") == 250 for s in during_hold)
    assert during_hold, "the 25 % hold was never sampled"
    # the new version ran at most 3 tasks (ceil(8 x 25 % x 1.25)) while it took a quarter of the traffic,
    assert max(s["new"] for s in during_hold) == 3
    # it started at what the health gate needs (2, autoscaling's min) before any traffic,
    before = [s for s in sampler.samples if s["new"] is not None and "demo-web-2" not in s["weights"]]
    assert before and min(s["new"] for s in before) == 2
    # it ran all 8 before it took all traffic,
    all_traffic = [s for s in sampler.samples if s["weights"] == {"demo-web-2": 1}]
    assert all_traffic and all(s["new"] == 8 for s in all_traffic)
    # and the old version kept its 2 tasks until it was retired
    assert all(s["old"] == 2 for s in sampler.samples if "demo-web-1" in s["weights"])
    # each sizing waited until healthy at its size, and came before the weights of its step
    sized = [r for state, r in operations.step_results(events) if state == SIZE_STATE]
    assert [(r["percent"], r["tasks"], r["ready"]) for r in sized] == [(25, 3, True), (100, 8, True)]
    assert all(c["healthy"] >= r["tasks"] for r in sized for c in r["counts"])
    # its autoscaling followed: min 3 during the hold, the configured 2..10 once it serves all traffic
    assert sized[0]["autoscaling"] == {"min": 3, "max": 10}
    target = demo.scalable_target("web-2")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 10)
    assert demo.service("web-2")["desiredCount"] == 8


def test_full_capacity_enters_no_sizing_state(demo):
    result = finish(demo, start(demo, "2", config_with(demo)))
    assert result["status"] == "SUCCEEDED"
    entered = [e["stateEnteredEventDetails"]["name"] for e in operations.history(demo.sfn, result["executionArn"])
               if e["type"].endswith("StateEntered")]
    assert SIZE_STATE not in entered
    assert demo.service("web-2")["desiredCount"] == 2
