"""The local engine's process shares one SDK loader between sessions, and a session with a data path
of its own still reads its own models."""
from __future__ import annotations

import json

import botocore.session

from cutover.local import sdk_data

# The least a service model needs for the SDK to list it.
MODEL = {"version": "2.0", "metadata": {
    "apiVersion": "2026-01-01", "endpointPrefix": "cutovertest", "protocol": "json", "jsonVersion": "1.1",
    "serviceId": "CutoverTest", "signatureVersion": "v4", "targetPrefix": "CutoverTest",
    "uid": "cutovertest-2026-01-01"}, "operations": {}, "shapes": {}}


def test_sessions_share_the_sdk_s_models_but_a_data_path_of_its_own_is_still_read(tmp_path):
    sdk_data.share()
    first, second = botocore.session.get_session(), botocore.session.get_session()
    assert first.get_component("data_loader") is second.get_component("data_loader")

    (tmp_path / "cutovertest" / "2026-01-01").mkdir(parents=True)
    (tmp_path / "cutovertest" / "2026-01-01" / "service-2.json").write_text(json.dumps(MODEL))
    own = botocore.session.get_session()
    own.set_config_variable("data_path", str(tmp_path))
    assert "cutovertest" in own.get_available_services()
    assert own.get_service_model("cutovertest").service_id == "CutoverTest"
    # and the shared loader never saw that path
    assert "cutovertest" not in botocore.session.get_session().get_available_services()
