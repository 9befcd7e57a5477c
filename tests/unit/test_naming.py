"""Target group and service names: valid for AWS, deterministic, one-to-one."""
from __future__ import annotations

import itertools
import re

import pytest

from cutover_steps.plan import naming

# botocore's own pattern for CreateTargetGroup's Name, plus the 32 characters
VALID_TG = re.compile(r"(?!.*--)(?!^-)(?!.*-$)^[A-Za-z0-9-]{1,32}$")
VALID_ECS = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


def test_plain_parts_give_the_readable_name():
    assert naming.target_group_name("prod", "web", "2") == "prod-web-2"
    assert naming.service_name("web", "2") == "web-2"


def test_dots_and_hyphens_in_a_version_never_share_a_name():
    # The failure this prevents: releasing 1-2 found (and tore down) version 1.2's resources.
    dotted, hyphenated = naming.target_group_name("demo", "web", "1.2"), naming.target_group_name("demo", "web", "1-2")
    assert dotted != hyphenated
    assert naming.service_name("web", "1.2") != naming.service_name("web", "1-2")
    assert VALID_TG.match(dotted) and VALID_TG.match(hyphenated)
    assert re.fullmatch(r"demo-web-1-2-[0-9a-f]{8}", dotted)


def test_hyphenated_env_and_service_pairs_never_share_a_name():
    # env acc + service x-shop, env acc-x + service shop: both read acc-x-shop-1
    assert naming.target_group_name("acc", "x-shop", "1") != naming.target_group_name("acc-x", "shop", "1")
    assert naming.service_name("x-shop", "1") != naming.service_name("x", "shop-1")


def test_routes_and_versions_never_share_a_name():
    # one route's group of version 1 against the single group of version 1-www
    assert naming.target_group_name("prod", "web", "1", "www") != naming.target_group_name("prod", "web", "1-www")
    assert naming.target_group_name("prod", "web", "2", "www") == "prod-web-2-www"


def test_no_two_triples_share_a_name_across_a_tricky_set():
    words = ["a", "a-b", "b", "a.b", "1", "1.2", "1-2", "12", "a_b", "A"]
    seen: dict[str, tuple] = {}
    for triple in itertools.product(words, repeat=3):
        name = naming.target_group_name(*triple)
        assert VALID_TG.match(name), name
        assert seen.setdefault(name, triple) == triple, f"{triple} and {seen[name]} share {name}"


def test_long_prefixes_are_shortened_to_at_most_32_with_a_hash():
    name = naming.target_group_name("production", "checkoutservice", "v1234567890")
    assert len(name) <= 32 and VALID_TG.match(name)
    assert re.search(r"-[0-9a-f]{8}$", name)
    assert name.startswith("production-checkout")


def test_a_name_of_exactly_32_is_not_shortened():
    name = naming.target_group_name("production", "checkoutapi", "v12345678")  # 10+1+11+1+9 = 32
    assert name == "production-checkoutapi-v12345678"


def test_two_long_versions_sharing_a_prefix_never_collide():
    a = naming.target_group_name("production", "checkout-service", "2024.11.26-build.1001")
    b = naming.target_group_name("production", "checkout-service", "2024.11.26-build.1002")
    assert a != b
    assert VALID_TG.match(a) and VALID_TG.match(b)


def test_names_are_deterministic():
    assert naming.target_group_name("prod", "web", "1.2.3") == naming.target_group_name("prod", "web", "1.2.3")
    assert naming.service_name("web", "1.2.3") == naming.service_name("web", "1.2.3")


@pytest.mark.parametrize("version", ["-1.0", "1.0-", "1..0", "_1_", "x" * 40])
def test_hashed_names_stay_valid(version):
    name = naming.target_group_name("staging", "payments-gateway", version)
    assert VALID_TG.match(name) and len(name) <= 32


def test_uppercase_is_kept():
    assert naming.target_group_name("prod", "Web", "RC1") == "prod-Web-RC1"


def test_service_names_keep_underscores_and_fit_255():
    assert naming.service_name("web_app", "2") == "web_app-2"
    assert VALID_ECS.match(naming.service_name("web_app", "1.2.3"))
    long = naming.service_name("s" * 200, "v" * 100)
    assert len(long) <= 255 and VALID_ECS.match(long)
    assert long != naming.service_name("s" * 200, "v" * 99)


@pytest.mark.parametrize("service", ["web", "my.svc", "web-", "a_b", "x" * 200])
@pytest.mark.parametrize("version", ["2", "2.1.0", "v" * 300])
def test_every_version_of_a_service_starts_with_its_prefix(service, version):
    # Cleanup reads only the services starting with the prefix: it must hold readable or hashed
    assert naming.service_name(service, version).startswith(naming.service_name_prefix(service))


def test_client_token_fits_ecs_limit_and_is_stable():
    token = naming.client_token("demo", "web-2", "release-2")
    assert len(token) <= 36 and token.isascii()
    assert token == naming.client_token("demo", "web-2", "release-2")
    assert token != naming.client_token("demo", "web-2", "release-3")
