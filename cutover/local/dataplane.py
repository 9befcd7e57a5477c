"""A small simulation of the ECS data plane that moto lacks.

What AWS does after CreateService/UpdateService, reduced to what a release can observe: for each
service with load balancers, tasks start one at a time (one every `task_start_seconds`), each
registering its IP in every target group of the service, where it reports healthy; when the
desired count drops, the surplus targets are deregistered at once (connection draining is not
simulated). Services listed in `failing` never get a healthy task, as when the new image crashes.

It looks at the account every `tick_seconds` while a service has fewer or more targets than it
wants; once every service has its own, it waits for a service to be created, updated or deleted,
or for targets to be registered or deregistered (account_changes.py), as nothing else can change
what it would do.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from typing import Any

from botocore.exceptions import ClientError

from cutover.local import account_changes

logger = logging.getLogger(__name__)

# Counted by `failing` itself: which services crash is the engine's to say, not an AWS call's.
_FAILING_WRITE = ("data-plane", "failing")
FAILING = ":".join(_FAILING_WRITE)
# What a service's desired count, its load balancers and its targets change through (Application
# Auto Scaling changes no desired count in the emulator), and a change of `failing`.
WATCHED = ("ecs:CreateService", "ecs:UpdateService", "ecs:DeleteService", "elbv2:RegisterTargets",
           "elbv2:DeregisterTargets", "elbv2:DeleteTargetGroup", FAILING)
# The longest it waits with every service converged, should a change come in some other way.
IDLE_SECONDS = 2.0


class _Failing(set):
    """The services whose tasks never get healthy: a change wakes the data plane as a write would."""

    def add(self, name: str) -> None:
        super().add(name)
        account_changes.written(*_FAILING_WRITE)

    def discard(self, name: str) -> None:
        super().discard(name)
        account_changes.written(*_FAILING_WRITE)


class DataPlane:
    def __init__(self, session, endpoint_url: str | None = None, *, tick_seconds: float = 0.2, task_start_seconds: float = 0.5,
                 make_client=None):
        make_client = make_client or (lambda name: session.client(name, endpoint_url=endpoint_url))
        self.ecs = make_client("ecs")
        self.elbv2 = make_client("elbv2")
        self.tick_seconds = tick_seconds
        self.task_start_seconds = task_start_seconds
        self.failing: set[str] = _Failing()
        self._last_start: dict[str, float] = {}
        self._stop = threading.Event()
        self._active = threading.Event()
        self._active.set()
        # Held for the whole of a tick, so pause() can wait for the tick under way.
        self._ticking = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> DataPlane:
        self._thread = threading.Thread(target=self._run, name="ecs-data-plane", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        account_changes.wake()
        if self._thread:
            self._thread.join(timeout=5)

    def pause(self) -> None:
        """No tick from now on until resume(), the one under way included; forget every service,
        as a new account's data plane knows none."""
        self._active.clear()
        with self._ticking:
            self.failing.clear()
            self._last_start.clear()

    def resume(self) -> None:
        self._active.set()
        account_changes.wake()

    def _run(self) -> None:
        while not self._stop.wait(self.tick_seconds):
            if not self._active.wait(self.tick_seconds):
                continue
            before = account_changes.seen(WATCHED)
            with self._ticking:
                converged = self._active.is_set() and self._tick_once()
            if converged:
                account_changes.wait(WATCHED, before, IDLE_SECONDS, self._stop)

    def _tick_once(self) -> bool:
        try:
            return self.tick()
        except ClientError:
            pass  # a resource deleted between two calls; the next tick sees the new world
        except Exception as error:  # noqa: BLE001 - the simulation must outlive one bad tick
            # moto's backends are not thread-safe: a read racing a write can raise; try again.
            logger.debug("data plane tick failed: %r", error)
        return False

    def tick(self) -> bool:
        """One look at every service; whether each had the targets it wants (nothing to do)."""
        converged = True
        for cluster in self.ecs.list_clusters()["clusterArns"]:
            arns = [arn for page in self.ecs.get_paginator("list_services").paginate(cluster=cluster, PaginationConfig={"PageSize": 100})
                    for arn in page["serviceArns"]]
            for start in range(0, len(arns), 10):
                # Always with TAGS: moto keeps "include tags or not" in one class-wide setting, so a
                # describe without it, racing a step's describe with it, drops the step's tags.
                services = self.ecs.describe_services(cluster=cluster, services=arns[start:start + 10], include=["TAGS"])
                for service in services["services"]:
                    if service.get("status") != "ACTIVE":
                        continue
                    try:
                        converged = self._converge(service) and converged
                    except ClientError as error:
                        # One service pointing at a deleted target group (ECS keeps the reference) must
                        # not stop the rest of the cluster from getting its tasks, as on AWS.
                        logger.debug("data plane: %s: %r", service["serviceName"], error)
        return converged

    @staticmethod
    def target_ip(service_arn: str, index: int) -> str:
        digest = hashlib.sha256(service_arn.encode()).digest()
        return f"10.{digest[0]}.{digest[1]}.{index + 1}"

    def _converge(self, service: dict[str, Any]) -> bool:
        """Start or stop one task's targets; whether the service had what it wants already."""
        balancers = [lb for lb in service.get("loadBalancers", []) if lb.get("targetGroupArn")]
        if not balancers:
            return True
        name = service["serviceName"]
        wanted = 0 if name in self.failing else service["desiredCount"]
        now = time.time()
        due = now - self._last_start.get(name, 0) >= self.task_start_seconds
        started, converged = False, True
        for balancer in balancers:
            group = balancer["targetGroupArn"]
            health = self.elbv2.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
            registered = {d["Target"]["Id"] for d in health}
            converged = converged and len(registered) == wanted
            if len(registered) > wanted:
                surplus = sorted(registered)[wanted:]
                self.elbv2.deregister_targets(TargetGroupArn=group, Targets=[{"Id": ip} for ip in surplus])
            elif len(registered) < wanted and due:
                ip = next(
                    ip for ip in (self.target_ip(service["serviceArn"], i) for i in range(wanted + len(registered)))
                    if ip not in registered
                )
                self.elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": ip, "Port": balancer["containerPort"]}])
                started = True
        if started:
            self._last_start[name] = now
        return converged
