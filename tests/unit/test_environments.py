"""One deploy config for every environment: the merge, and references nobody resolved."""
from __future__ import annotations

import pytest

from cutover_steps.config import environments
from cutover_steps.errors import InvalidReleaseInput

BASE = {
    "service": "web",
    "service_settings": {"desired_count": 2, "network": {"subnets": ["subnet-a"], "security_groups": ["sg-1"]}},
    "release": {"traffic_steps": [{"percent": 50, "hold_seconds": 60}, {"percent": 100, "hold_seconds": 0}]},
    "environments": {
        "staging": {},
        "production": {"service_settings": {"desired_count": 6, "network": {"subnets": ["subnet-p1", "subnet-p2"]}},
                       "release": {"traffic_steps": [{"percent": 10, "hold_seconds": 600}, {"percent": 100, "hold_seconds": 0}]}},
    },
}


def test_an_environment_merges_over_the_base_key_by_key_and_replaces_lists():
    production = environments.for_env(BASE, "production")
    assert production["service_settings"] == {"desired_count": 6, "network": {"subnets": ["subnet-p1", "subnet-p2"],
                                                                              "security_groups": ["sg-1"]}}
    assert [s["percent"] for s in production["release"]["traffic_steps"]] == [10, 100]
    assert "environments" not in production
    assert environments.for_env(BASE, "staging")["service_settings"]["desired_count"] == 2


def test_an_env_the_file_does_not_name_is_refused_with_the_ones_it_does():
    with pytest.raises(InvalidReleaseInput, match=r"environments: has no 'prod' \(it has production, staging\)"):
        environments.for_env(BASE, "prod")


def test_a_reference_left_unresolved_is_refused_naming_its_field():
    data = {"routes": [{"vpc_id": "${ssm:/network/vpc}"}], "cluster": "${cfn:Network.Cluster}"}
    with pytest.raises(InvalidReleaseInput) as error:
        environments.refuse_unresolved(data)
    assert "routes.0.vpc_id: ${ssm:/network/vpc}" in str(error.value) and "cluster: ${cfn:Network.Cluster}" in str(error.value)


def test_references_inside_a_value_are_replaced_in_place():
    data = {"containers": [{"image": "${env:REGISTRY}/web", "environment": {"STAGE": "${env:STAGE}"}}]}
    resolved = environments.substitute(data, lambda path, kind, name: {"REGISTRY": "r.example", "STAGE": "blue"}[name])
    assert resolved == {"containers": [{"image": "r.example/web", "environment": {"STAGE": "blue"}}]}
