"""The Cutover CDK construct (`ReleaseOrchestrator`), its props, and the stack `app.py` deploys.

Installed with the package's `cdk` extra: `from cutover.cdk import ReleaseOrchestrator`. The step
registry comes with the Lambda code (the `cutover_steps` package), so the stack and the local engine
read the same list of steps; only the registry is imported here, never the steps.
"""
from __future__ import annotations

from cutover.cdk.orchestrator import ReleaseOrchestrator
from cutover.cdk.settings import ReleaseOrchestratorProps
from cutover.cdk.stack import CutoverStack

__all__ = ["CutoverStack", "ReleaseOrchestrator", "ReleaseOrchestratorProps"]
