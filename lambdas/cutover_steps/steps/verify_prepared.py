"""Run the `prepared` verification checks against the new version, once it is healthy and before
approval. A check that does not pass fails the step (VerificationFailed): the prepared version is
torn down as after a failed health gate, and public traffic never moves. Reads only, so running
it again is safe.
"""
from __future__ import annotations

from cutover_steps.checks import verification
from cutover_steps.results import Verified
from cutover_steps.runtime.step import StepEvent, lambda_step


@lambda_step
def handler(event: StepEvent) -> Verified:
    checks = verification.run(event.plan, event.results, "prepared", event.execution_id)
    verification.require_passed(checks, "on the prepared version (public traffic was not moved)")
    return Verified(phase="prepared", verification=checks)
