"""Every step handler imports without the X-Ray SDK, and imports it only when tracing is on; each
imports only what its own step needs."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from cutover import ROOT
from cutover.definition import step_code
from cutover_steps.registry import STEPS

# Imports every handler in a fresh interpreter; with BLOCK set, `import aws_xray_sdk` fails as if
# the package were not installed.
PROBE = """
import importlib, importlib.abc, json, os, sys

class Missing(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "aws_xray_sdk" or name.startswith("aws_xray_sdk."):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None

if os.environ.get("BLOCK"):
    sys.meta_path.insert(0, Missing())
for module in json.loads(sys.argv[1]):
    importlib.import_module(module)
print(json.dumps({"xray_loaded": "aws_xray_sdk" in sys.modules}))
"""


def import_handlers(**environ: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("LAMBDA_TASK_ROOT", "POWERTOOLS_TRACE_DISABLED")}
    env.update(environ, PYTHONPATH=os.path.join(ROOT, "lambdas"))
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps([s.module for s in STEPS])],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_handlers_import_without_the_xray_sdk():
    assert import_handlers(BLOCK="1") == {"xray_loaded": False}


def test_tracing_off_in_lambda_imports_no_xray_sdk():
    assert import_handlers(LAMBDA_TASK_ROOT="/var/task", POWERTOOLS_TRACE_DISABLED="true") == {"xray_loaded": False}


def test_tracing_on_in_lambda_wraps_handlers_with_the_tracer():
    assert import_handlers(LAMBDA_TASK_ROOT="/var/task") == {"xray_loaded": True}


# No step needs pydantic: LoadRelease checks configs with cutover_steps.config.check and the others read the
# plan it validated (cutover_steps.plan.view). Only LoadRelease reads YAML. Each handler is imported alone,
# as its function does on a cold start.
READS_CONFIGS = {"LoadRelease"}
HEAVY = ("pydantic", "aws_xray_sdk", "yaml")
ALONE = "import importlib, json, sys; importlib.import_module(sys.argv[1]); print(json.dumps(sorted(set(sys.argv[2:]) & set(sys.modules))))"


@pytest.mark.parametrize("step", STEPS, ids=lambda s: s.key)
def test_a_handler_imports_only_what_its_step_needs(step):
    # Given the environment the stack gives a function (AWS calls not traced)
    env = {k: v for k, v in os.environ.items() if not k.startswith("POWERTOOLS_")}
    env.update(PYTHONPATH=os.path.join(ROOT, "lambdas"), LAMBDA_TASK_ROOT="/var/task", **step_code.environment())

    # When its handler module is imported in a fresh interpreter
    done = subprocess.run([sys.executable, "-c", ALONE, step.module, *HEAVY], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr

    # Then it has not loaded the X-Ray SDK nor pydantic, nor PyYAML unless it reads configs
    expected = ["yaml"] if step.key in READS_CONFIGS else []
    assert json.loads(done.stdout) == expected
