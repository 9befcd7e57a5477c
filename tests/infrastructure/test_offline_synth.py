"""`python app.py` synthesizes with the package index and the network unreachable, and without Docker."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.infrastructure.conftest import REPO_ROOT

UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing answers there


def test_synth_needs_no_network_no_package_index_and_no_docker(tmp_path):
    # Given a machine where pip can reach no index, every proxied request fails and Docker is absent
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(
        CDK_OUTDIR=str(tmp_path), PIP_NO_INDEX="1", PIP_INDEX_URL=f"{UNREACHABLE}/simple", PIP_FIND_LINKS="",
        PIP_CONFIG_FILE=os.devnull, HTTP_PROXY=UNREACHABLE, HTTPS_PROXY=UNREACHABLE, NO_PROXY="",
        CDK_DOCKER=str(tmp_path / "no-docker"),
    )

    # When the app is synthesized
    done = subprocess.run([sys.executable, "app.py"], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=600)

    # Then it succeeds, quietly, and the stack's functions have their dependency layer
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    template = json.loads((tmp_path / "Cutover.template.json").read_text())
    layers = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::LayerVersion"]
    assert layers and all((tmp_path / f"asset.{layer['Properties']['Content']['S3Key'].removesuffix('.zip')}"
                           / "python" / "yaml" / "__init__.py").is_file() for layer in layers)
