"""The release's first promise, checked from outside while releases run: no public rule ever gives
weight to a target group that has no healthy targets.

    sampler = EmptyTargetSampler(engine.client("elbv2"), [public_rule_arn]).start()
    ...  # releases, failures, undos, rollbacks
    assert sampler.stop() == []

It reads the rules and the target health through the client it is given (the caller's own, never
the release steps'), in a background thread, at most every `interval_seconds`. When those reads
are answered in this process, it reads again only after a write to ELBv2 (account_changes.py): a
rule's weights and a group's targets change in no other way, so no state is missed. A target group
counts as a violation only when the rule gave it weight both before and after the health read that
found it empty, so a rule moved off a group just before that group was scaled down is not mistaken
for one.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from cutover.local import account_changes

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Violation:
    at: float
    rule: str
    target_group: str
    weights: dict[str, int] = field(hash=False)

    def __str__(self) -> str:
        when = time.strftime("%H:%M:%S", time.gmtime(self.at)) + f".{int(self.at * 10) % 10}"
        shares = ", ".join(f"{name} {weight}" for name, weight in self.weights.items())
        return f"{when} rule {self.rule.rsplit('/', 1)[-1]}: weight on {self.target_group}, which had no healthy target ({shares})"


def _name(target_group_arn: str) -> str:
    return target_group_arn.split(":targetgroup/", 1)[-1].split("/")[0]


def forward_weights(elbv2, rule_arn: str) -> dict[str, int]:
    """Target group ARN -> weight of the rule's forward action (a plain forward weighs 1)."""
    rule = elbv2.describe_rules(RuleArns=[rule_arn])["Rules"][0]
    for action in rule["Actions"]:
        if action["Type"] == "forward":
            groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or [
                {"TargetGroupArn": action["TargetGroupArn"], "Weight": 1}]
            return {g["TargetGroupArn"]: int(g.get("Weight", 1)) for g in groups}
    return {}


def forward_by_name(elbv2, rule_arn: str) -> dict[str, int]:
    """Target group name -> weight of the rule's forward action, as a person reads it."""
    return {_name(arn): weight for arn, weight in forward_weights(elbv2, rule_arn).items()}


class EmptyTargetSampler:
    """Start sampling with `start()`; `stop()` ends it and returns the violations seen."""

    # The longest it waits for a write to ELBv2 before it reads again anyway.
    IDLE_SECONDS = 1.0

    def __init__(self, elbv2, rule_arns: list[str], *, interval_seconds: float = 0.1):
        self.elbv2 = elbv2
        self.rule_arns = list(rule_arns)
        self.interval_seconds = interval_seconds
        self.violations: list[Violation] = []
        self.samples = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> EmptyTargetSampler:
        self._thread = threading.Thread(target=self._run, name="empty-target-sampler", daemon=True)
        self._thread.start()
        return self

    def __enter__(self) -> EmptyTargetSampler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> list[Violation]:
        self._stop.set()
        account_changes.wake()
        if self._thread:
            self._thread.join(timeout=10)
        return list(self.violations)

    def _run(self) -> None:
        while not self._stop.is_set():
            before, answered = account_changes.seen(("elbv2",)), account_changes.answered_here()
            try:
                self.sample()
            except Exception as error:  # noqa: BLE001 - the emulator's reads can race its writes; sample again
                logger.debug("sample failed: %r", error)
            self._stop.wait(self.interval_seconds)
            if account_changes.answered_here() > answered:
                account_changes.wait(("elbv2",), before, self.IDLE_SECONDS, self._stop)

    def weights(self, rule_arn: str) -> dict[str, int]:
        return forward_weights(self.elbv2, rule_arn)

    def healthy(self, target_group_arn: str) -> int:
        described = self.elbv2.describe_target_health(TargetGroupArn=target_group_arn)["TargetHealthDescriptions"]
        return sum(1 for d in described if d["TargetHealth"]["State"] == "healthy")

    def sample(self) -> list[Violation]:
        found = []
        for rule_arn in self.rule_arns:
            before = self.weights(rule_arn)
            empty = [arn for arn, weight in before.items() if weight > 0 and self.healthy(arn) == 0]
            if not empty:
                continue
            after = self.weights(rule_arn)
            for arn in empty:
                if after.get(arn, 0) > 0:
                    found.append(Violation(time.time(), rule_arn, _name(arn), {_name(a): w for a, w in after.items()}))
        self.samples += 1
        self.violations.extend(found)
        return found
