"""The Cutover CDK app: one stack built from a few constructs, and the reusable `ReleaseOrchestrator`."""
from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
LAMBDA_ROOT = REPO_ROOT / "lambdas"

# The step registry lives with the Lambda code (whose asset root is `lambdas/`), so that the stack and
# the local engine read the same list of steps; only the registry is imported here, never the steps.
if str(LAMBDA_ROOT) not in sys.path:
    sys.path.insert(0, str(LAMBDA_ROOT))

from infra.orchestrator import ReleaseOrchestrator  # noqa: E402
from infra.settings import ReleaseOrchestratorProps  # noqa: E402
from infra.stack import CutoverStack  # noqa: E402

__all__ = ["CutoverStack", "ReleaseOrchestrator", "ReleaseOrchestratorProps", "REPO_ROOT", "LAMBDA_ROOT"]
