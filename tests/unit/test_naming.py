"""Target group and service names: valid for AWS, deterministic, never shared by two versions."""
from __future__ import annotations

import re

import pytest

from release import naming

VALID_TG = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$")


def test_short_names_are_env_service_version_with_dots_as_hyphens():
    assert naming.target_group_name("prod", "web", "1.2.3") == "prod-web-1-2-3"


def test_a_name_of_exactly_32_is_not_shortened():
    name = naming.target_group_name("production", "checkout-api", "v1.2.3-r")  # 10+1+12+1+8 = 32
    assert name == "production-checkout-api-v1-2-3-r"
    assert len(name) == 32


def test_33_characters_are_shortened_to_at_most_32_with_a_hash():
    name = naming.target_group_name("production", "checkout-api", "v1.2.3-rc")
    assert len(name) <= 32
    assert VALID_TG.match(name)
    assert re.search(r"-[0-9a-f]{7}$", name)
    assert name.startswith("production-checkout-api-")


def test_shortening_is_deterministic():
    assert naming.target_group_name("production", "checkout-api", "v1.2.3-rc") == \
        naming.target_group_name("production", "checkout-api", "v1.2.3-rc")


def test_two_long_versions_sharing_a_prefix_never_collide():
    a = naming.target_group_name("production", "checkout-service", "2024.11.26-build.1001")
    b = naming.target_group_name("production", "checkout-service", "2024.11.26-build.1002")
    assert a != b
    assert len(a) <= 32 and len(b) <= 32
    assert VALID_TG.match(a) and VALID_TG.match(b)


def test_uppercase_is_kept_and_stays_valid():
    name = naming.target_group_name("prod", "Web", "RC1")
    assert name == "prod-Web-RC1"


@pytest.mark.parametrize("version", ["-1.0", "1.0-", "1..0", "_1_"])
def test_no_hyphen_at_either_end_and_no_double_hyphens(version):
    name = naming.target_group_name("prod", "web", version)
    assert VALID_TG.match(name)
    assert "--" not in name


def test_cut_never_leaves_a_hyphen_before_the_hash():
    # the cut point falls right after a hyphen of the readable prefix
    name = naming.target_group_name("staging", "payments-gateway", "x" * 40)
    assert VALID_TG.match(name) and "--" not in name


def test_route_suffix_keeps_one_name_per_route():
    www = naming.target_group_name("prod", "web", "2", "www")
    api = naming.target_group_name("prod", "web", "2", "api")
    assert www == "prod-web-2-www" and api == "prod-web-2-api"


def test_service_names_keep_underscores_and_replace_dots():
    assert naming.service_name("web_app", "1.2.3") == "web_app-1-2-3"
    long = naming.service_name("s" * 200, "v" * 100)
    assert len(long) == 255


def test_client_token_fits_ecs_limit_and_is_stable():
    token = naming.client_token("demo", "web-2", "release-2")
    assert len(token) <= 36 and token.isascii()
    assert token == naming.client_token("demo", "web-2", "release-2")
    assert token != naming.client_token("demo", "web-2", "release-3")
