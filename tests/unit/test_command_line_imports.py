"""The command line imports the release's logic, never a Lambda handler module (`cutover_steps.steps.*`):
what it shares with a step lives in a logic module both import."""
from __future__ import annotations

import json
import subprocess
import sys

from cutover import ROOT

# The local engine runs the handlers by design (it is the Lambda service of `cutover demo` and the
# sandbox); the CDK construct names them. Every other module is the command line's.
RUNS_HANDLERS = ("cutover.local", "cutover.cdk", "cutover.sandbox.demo", "cutover.sandbox.server", "cutover.__main__")

PROBE = f"""
import json, pkgutil, sys
import cutover
names = [m.name for m in pkgutil.walk_packages(cutover.__path__, "cutover.")
         if not m.name.startswith({RUNS_HANDLERS!r})]
for name in names:
    __import__(name)
print(json.dumps({{"imported": names, "handlers": sorted(m for m in sys.modules if m.startswith("cutover_steps.steps"))}}))
"""


def test_no_module_of_the_command_line_imports_a_handler_module():
    # Given every module of the command line, imported in a fresh interpreter
    found = json.loads(subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True,
                                      check=True).stdout)
    assert {"cutover.cli", "cutover.operations.planning", "cutover.operations.adoption", "cutover.operations.configfile"} <= set(found["imported"])
    # Then no handler module came with them
    assert found["handlers"] == []
