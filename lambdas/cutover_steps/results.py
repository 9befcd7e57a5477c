"""What each step returns: a small typed result per step, serialised to the JSON the state machine
passes on, and read back from an execution's history to describe it in one line for people.

Plain dataclasses and nothing heavy: every handler imports this module, so it stays cheap.
`registry.py` ties each step to its result type; a new step's result is one class here.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any

_OMIT = "omit_when_none"


def optional(default: Any = None) -> Any:
    """A key the JSON carries only when it has a value (the step sets it in some cases only)."""
    return field(default=default, metadata={_OMIT: True})


def target_group(arn: str) -> str:
    """The target group's name, from its ARN (…:targetgroup/NAME/ID)."""
    return arn.split(":targetgroup/", 1)[-1].split("/")[0] if ":targetgroup/" in arn else arn


def shares(forward: dict[str, int]) -> dict[str, int]:
    """Forward weights as percentages per target group name, largest first."""
    total = sum(forward.values()) or 1
    return {target_group(arn): round(100 * w / total) for arn, w in sorted(forward.items(), key=lambda item: -item[1])}


def weights(forward: dict[str, int]) -> str:
    """Forward weights as percentages per target group name, largest first: `demo-web-2 50%, demo-web-1 50%`."""
    return ", ".join(f"{name} {percent}%" for name, percent in shares(forward).items())


def changed(item: dict[str, Any] | StepResult, default: str = "unchanged") -> str:
    """What a step (or one resource of it) changed, or else what it found."""
    get = item.get if isinstance(item, dict) else lambda name: getattr(item, name, None)
    return get("changed") or get("found") or get("skipped") or default


@dataclass
class StepResult:
    """A step's result: `to_json` is what lands at the state's ResultPath, `describe` one line for people."""

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)
                if not (f.metadata.get(_OMIT) and getattr(self, f.name) is None)}

    @classmethod
    def from_json(cls, data: Any) -> StepResult | None:
        """The result as the history holds it (keys it does not know are left out), or None if it is no object."""
        if not isinstance(data, dict):
            return None
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def describe(self) -> str:
        return changed(self)

    def progress(self, now: float) -> str | None:
        """The detail of the live status line while a loop of this step runs (health polls, holds)."""
        return None

    def verification_checks(self) -> list[Check]:
        """The verification checks (release.verify) the step ran, in the order it ran them."""
        return []

    def scorecard(self) -> dict[str, Any] | None:
        """The canary judge's last scorecard (release.analysis), for the steps that judge."""
        return None

    def question(self) -> str | None:
        """What the step asks an operator to decide, in words (the watch of a hold whose analysis ended inconclusive)."""
        return None


def describe_scorecard(scorecard: dict[str, Any]) -> str:
    """The canary judge's scorecard in one line (cutover_steps.decisions.judge.describe, without importing the judge)."""
    lines = "; ".join(f"{c['name']} {c['verdict'].upper() if c['verdict'] == 'fail' else c['verdict']}: {c['why']}"
                      for c in scorecard.get("metrics") or [])
    at = f" at {scorecard['percent']}%" if scorecard.get("percent") is not None else ""
    return f"analysis {scorecard.get('verdict')}{at}" + (f" ({lines or scorecard.get('why')})" if lines or scorecard.get("why") else "")


@dataclass
class Check(StepResult):
    """One verification check's result, as VerifyPrepared and WatchAlarms carry it in their `verification` list."""
    name: str = ""
    kind: str = ""
    passed: bool = False
    message: str = ""
    phase: str = ""

    def describe(self) -> str:
        return f"{self.name} {'passed' if self.passed else 'FAILED'}: {self.message}"


# Lambda's error report keeps only the exception's message: a failing step's checks travel after
# this line of its message, so that `cutover status` shows them as it shows a passing step's, and
# people are shown the text before it (`split_message`).
CHECKS_MARKER = "\n\nchecks: "


def split_message(message: str) -> tuple[str, list[dict[str, Any]]]:
    """(the words for people, the checks it carries) of a step's error message."""
    text, marker, carried = message.partition(CHECKS_MARKER)
    if not marker:
        return message, []
    try:
        checks = json.loads(carried)
    except ValueError:
        return text, []
    return text, [c for c in checks if isinstance(c, dict)] if isinstance(checks, list) else []


def checks_of(found: list[dict[str, Any]] | None) -> list[Check]:
    return [Check.from_json(c) for c in found or []]


def describe_checks(checks: list[Check]) -> str:
    """`smoke passed: …; api FAILED: …`"""
    return "; ".join(c.describe() for c in checks)


@dataclass
class Planned(StepResult):
    """LoadRelease: the whole plan, plus its summary for people."""
    plan: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {**self.plan, "summary": self.summary}

    @classmethod
    def from_json(cls, data: Any) -> Planned | None:
        if not isinstance(data, dict):
            return None
        plan = {k: v for k, v in data.items() if k != "summary"}
        return cls(plan=plan, summary=data.get("summary") or {})

    def describe(self) -> str:
        s = self.summary
        groups = ", ".join(r["target_group"] for r in s.get("routes", []))
        return (f"plan: {s.get('action')} {s.get('service')} {s.get('version')}; service {self.plan.get('ecs_service')}; "
                f"target groups {groups}")


@dataclass
class Lock(StepResult):
    """LockService."""
    lock: str = ""
    changed: str | None = None
    owner: str | None = None
    taken_at: str | None = None
    stale_owner: str | None = optional()

    def describe(self) -> str:
        return f"lock {changed(self)}"


@dataclass
class Unlock(StepResult):
    """UnlockService: no lock key when the release never took one."""
    lock: str | None = optional()
    changed: str | None = None
    found: str | None = optional()

    def describe(self) -> str:
        return f"lock {changed(self)}" if self.lock else changed(self)


@dataclass
class TargetGroups(StepResult):
    """CreateTargetGroups: per route, {route, name, arn, changed}."""
    target_groups: list[dict[str, Any]] = field(default_factory=list)

    def describe(self) -> str:
        return "; ".join(f"{g.get('name')} {changed(g)}" for g in self.target_groups)


@dataclass
class PreparingRules(StepResult):
    """AttachPreparingRules: per route, {route, rule, before, after, changed}."""
    rules: list[dict[str, Any]] = field(default_factory=list)

    def describe(self) -> str:
        return "; ".join(f"{r.get('route')}: {changed(r)}" for r in self.rules)


@dataclass
class TaskDefinition(StepResult):
    """RegisterTaskDefinition."""
    task_definition: str = ""
    changed: str | None = None
    found: str | None = optional()

    def describe(self) -> str:
        return f"{self.task_definition.rsplit('/', 1)[-1]} {changed(self)}"


@dataclass
class Service(StepResult):
    """CreateService: the new (or revived) ECS service and its autoscaling."""
    service: str = ""
    arn: str = ""
    changed: str | None = None
    found: str | None = optional()
    desired_count: int | None = optional()
    autoscaling: dict[str, Any] | None = optional()

    def describe(self) -> str:
        if self.desired_count is None:
            return changed(self)
        text = f"{self.service} {changed(self)} (desired {self.desired_count})"
        scaling = self.autoscaling or {}
        if scaling.get("autoscaling"):
            text += f"; autoscaling {scaling['autoscaling'].get('min')}..{scaling['autoscaling'].get('max')} {changed(scaling)}"
        return text


@dataclass
class Health(StepResult):
    """CheckHealth: each target group's healthy count against the required count."""
    healthy: bool = False
    timed_out: bool | None = optional()  # the old version's check only: past its timeout it says so
    counts: list[dict[str, Any]] = field(default_factory=list)
    started_at: float | None = None
    checks: int = 0
    elapsed_seconds: int = 0
    healthy_at: float | None = optional()
    summary: str | None = optional()

    def describe(self) -> str:
        text = ", ".join(f"{c['target_group']} {c['healthy']}/{c['required']} healthy" for c in self.counts)
        return text + (" - timed out" if self.timed_out else "")

    def progress(self, now: float) -> str | None:
        if not self.counts:
            return None
        if len(self.counts) == 1:
            return f"{self.counts[0]['healthy']}/{self.counts[0]['required']} healthy"
        return ", ".join(f"{c['target_group']} {c['healthy']}/{c['required']}" for c in self.counts) + " healthy"


@dataclass
class Sized(StepResult):
    """SizeForTraffic: the new version scaled to its share of the next traffic step (release.capacity:
    proportional), and whether each target group has that many healthy targets yet."""
    index: int = 0
    percent: int = 0
    tasks: int = 0
    desired_before: int = 0
    changed: str | None = None
    autoscaling: dict[str, int] | None = None
    counts: list[dict[str, Any]] = field(default_factory=list)
    ready: bool = False
    started_at: float | None = None

    def describe(self) -> str:
        health = ", ".join(f"{c['target_group']} {c['healthy']}/{c['required']} healthy" for c in self.counts)
        return f"{self.tasks} task(s) for {self.percent}%: {self.changed or 'already there'}; {health}"

    def progress(self, now: float) -> str | None:
        return f"{self.tasks} task(s) for {self.percent}%, " + ", ".join(f"{c['healthy']}/{c['required']}" for c in self.counts) + " healthy"


@dataclass
class Verified(StepResult):
    """VerifyPrepared: the prepared phase's checks (all passed, or the step failed)."""
    phase: str = "prepared"
    verification: list[dict[str, Any]] = field(default_factory=list)

    def verification_checks(self) -> list[Check]:
        return checks_of(self.verification)

    def describe(self) -> str:
        return f"{len(self.verification)} check(s) on the {self.phase} version: {describe_checks(self.verification_checks())}"


@dataclass
class ApprovalRequested(StepResult):
    """RequestApproval's own return (in its logs only: the task's result is the operator's answer)."""
    notified: str | None = None
    message: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        return "approval requested"


@dataclass
class ApprovalAnswer(StepResult):
    """What the approval's task token came back with (an answer sent from the console may hold less)."""
    decision: str | None = None
    by: str | None = None
    name: str | None = None
    identity: str | None = None
    comment: str | None = optional()
    reason: str | None = optional()

    @classmethod
    def from_json(cls, data: Any) -> ApprovalAnswer | None:
        return super().from_json(data) if isinstance(data, dict) and "decision" in data else None

    def describe(self) -> str:
        verb = "approved" if self.decision == "approve" else "rejected"
        why = self.comment or self.reason
        return f"{verb} by {self.by or '?'}" + (f": {why}" if why else "")


@dataclass
class Alarms(StepResult):
    """WatchAlarms: a hold watched inside one invocation (how many looks, whether the hold is over or
    the function's time limit came first) and the hold checks of its last look. ReadLiveRoutes carries
    one too: the look before the switch (with the alarms already firing)."""
    watched: list[str] = field(default_factory=list)
    in_alarm: list[str] | None = optional()
    missing: list[str] = field(default_factory=list)
    looks: int | None = optional()
    remaining_seconds: int | None = optional()
    hold_over: bool | None = optional()
    # The hold checks of the last look, when the config has any.
    verification: list[dict[str, Any]] | None = optional()
    # The traffic step watched, and the canary judge (release.analysis): its last scorecard, when it
    # judged, how far the hold was extended, and why it failed the version when it did.
    index: int | None = optional()
    analysis: dict[str, Any] | None = optional()
    judged_at: float | None = optional()
    extended_seconds: int | None = optional()
    analysis_failed: str | None = optional()
    # Inconclusive at the hold's end with `inconclusive: ask`: the question an operator answers next.
    analysis_ask: str | None = optional()
    # Written by the state machine once an operator let the new version go on (`{"decision": "approve"}`).
    answered: dict[str, Any] | None = optional()

    def verification_checks(self) -> list[Check]:
        return checks_of(self.verification)

    def scorecard(self) -> dict[str, Any] | None:
        return self.analysis

    def question(self) -> str | None:
        return self.analysis_ask

    def describe(self) -> str:
        text = f"{len(self.watched)} alarm(s) OK" if self.watched else "no alarms to watch"
        if self.missing:
            text += f"; missing: {', '.join(self.missing)}"
        if self.verification:
            text += f"; {describe_checks(self.verification_checks())}"
        if self.analysis:
            text += f"; {describe_scorecard(self.analysis)}"
            text += f", hold extended {self.extended_seconds} s" if self.extended_seconds else ""
        if self.analysis_ask:
            text += "; inconclusive at the hold's end: an operator is asked whether the new version goes on"
        if self.looks is not None:
            text += f"; {self.looks} look(s), " + ("hold over" if self.hold_over else f"{self.remaining_seconds} s of hold left")
        return text


@dataclass
class LiveRoutes(StepResult):
    """ReadLiveRoutes: the look at the alarms before the switch, then per route what its public rule
    forwards to, and the old services behind it."""
    routes: list[dict[str, Any]] = field(default_factory=list)
    old_services: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    alarms: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        parts = [f"{r['route']} -> {weights(r['forward']) or 'nothing'}" for r in self.routes]
        return "; ".join([*self.alarms_looked_at(), *parts, *(self.notes or [])])

    def alarms_looked_at(self) -> list[str]:
        if not self.alarms.get("watched"):
            return []
        text = f"{len(self.alarms['watched'])} alarm(s) looked at"
        if self.alarms.get("in_alarm"):
            text += f", let through in ALARM: {', '.join(self.alarms['in_alarm'])}"
        if self.alarms.get("missing"):
            text += f", missing: {', '.join(self.alarms['missing'])}"
        return [text]


@dataclass
class Traffic(StepResult):
    """ShiftTraffic: the weights of one traffic step, and its hold (and bake, at the last step)."""
    index: int = 0
    percent: int = 0
    hold_seconds: int = 0
    bake_seconds: int = 0
    hold_until: float = 0.0
    last: bool = False
    rules: list[dict[str, Any]] = field(default_factory=list)
    written: dict[str, dict[str, int]] = field(default_factory=dict)
    # Set (True) only on the result `cutover plan` expects: nothing was written, so the next traffic
    # step starts from `written` rather than from the rule as it reads it.
    planned: bool | None = optional()

    def describe(self) -> str:
        parts = [f"{r['route']}: {weights(r['weights'])}" + ("" if r.get("changed") else " (already)") for r in self.rules]
        hold = f", hold {self.hold_seconds} s" if self.hold_seconds else ""
        hold += f", bake {self.bake_seconds} s with the old version warm" if self.bake_seconds else ""
        return f"{self.percent}% to new{hold} - " + "; ".join(parts)

    def progress(self, now: float) -> str | None:
        left = max(0, round((self.hold_until or now) - now))
        baking = ", baking with the old version warm" if self.bake_seconds else ""
        return f"{self.percent}% new{baking}, {left} s left" if left else f"{self.percent}% new"


@dataclass
class Retired(StepResult):
    """RetireOldVersion: per old service what was scaled down and its scalable target parked."""
    retired: list[dict[str, Any]] = field(default_factory=list)
    found: str | None = optional()

    def describe(self) -> str:
        if not self.retired:
            return self.found or "nothing to retire"
        return "; ".join(f"{r['ecs_service']}: {changed(r)}" for r in self.retired)


@dataclass
class CleanedUp(StepResult):
    """CleanUp: the obsolete versions found by their tags, those deleted and those kept; then the
    versions marked obsolete now (the one retired now, one an earlier release left unmarked)."""
    obsolete_found: int = 0
    deleted: list[dict[str, Any]] = field(default_factory=list)
    kept: list[dict[str, Any]] = field(default_factory=list)
    marked: list[dict[str, Any]] = field(default_factory=list)

    def describe(self) -> str:
        deleted = [f"{d['ecs_service']} {changed(d)}" + (f" with {', '.join(d['target_groups'])}" if d.get("target_groups") else "")
                   + (f", revision {d['task_definition']['revision'].rsplit('/', 1)[-1]} {changed(d['task_definition'])}"
                      if d.get("task_definition") else "")
                   for d in self.deleted]
        kept = [d["ecs_service"] for d in self.kept]
        text = "; ".join(deleted) or "nothing to delete"
        text += (f"; kept {', '.join(kept)}" if kept else "") + f" ({self.obsolete_found} obsolete found by their tags)"
        return "; ".join([text] + [f"{m['ecs_service']} {changed(m)}" for m in self.marked])


@dataclass
class Recorded(StepResult):
    """RecordRelease: what the release record says serves now, and the version a rollback brings back."""
    changed: str | None = None
    found: str | None = optional()
    previous: str | None = None


@dataclass
class Notified(StepResult):
    """NotifySucceeded: the message sent (or why none was), and how many warnings it listed."""
    MessageId: str | None = None
    found: str | None = None
    warnings: int = 0

    def to_json(self) -> dict[str, Any]:
        if self.MessageId:
            return {"MessageId": self.MessageId, "warnings": self.warnings}
        return {"changed": None, "found": self.found, "warnings": self.warnings}

    def describe(self) -> str:
        if not self.MessageId:
            return changed(self)
        return "notification sent" + (f", with {self.warnings} warning(s)" if self.warnings else "")


@dataclass
class Published(StepResult):
    """A notification the definition publishes to SNS itself (its result is SNS's answer)."""
    MessageId: str | None = None

    def describe(self) -> str:
        return "notification sent" if self.MessageId else ""


@dataclass
class Undone(StepResult):
    """TearDownPrepared and RollBackTraffic: the failure (Error, Cause, read by the Fail states and the
    failure notification) and what was undone; the rollback's first phase says which old services it
    brought back instead."""
    Error: str | None = None
    Cause: str | None = None
    undone: dict[str, Any] | None = optional()
    old_services: list[dict[str, Any]] | None = optional()

    def describe(self) -> str:
        if self.old_services is not None:
            restored = "; ".join(f"{o['ecs_service']} {changed(o)}" for o in self.old_services)
            return f"after {self.Error}: " + (restored or "no old version to bring back")
        return f"{self.Error}: {self.Cause}"


@dataclass
class StoppedUndone(StepResult):
    """UndoStoppedRelease (called by EventBridge, not by a state): what the undo of a release that
    ended outside its flow did, and the locks it freed."""
    status: str | None = optional()
    execution: str | None = optional()
    undone: str | None = optional()
    fully_undone: bool | None = optional()
    report: dict[str, Any] | None = optional()
    released: list[str] | None = optional()
    found: str | None = optional()

    def to_json(self) -> dict[str, Any]:
        # An execution with nothing to undo is said as such: it changed nothing, and found why.
        return {"changed": None, **super().to_json()} if self.found else super().to_json()

    def describe(self) -> str:
        return self.undone or self.found or ""



@dataclass
class LedgerWritten(StepResult):
    """RecordInLedger (called by EventBridge for every ended execution): the ledger entry it wrote."""
    execution: str | None = optional()
    changed: str | None = optional()
    key: str | None = optional()
    found: str | None = optional()

    def describe(self) -> str:
        return self.changed or self.found or ""
