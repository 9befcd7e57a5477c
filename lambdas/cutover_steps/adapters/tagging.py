"""Resource Groups Tagging API: find resources by their tags, whatever the size of the account."""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from cutover_steps.adapters.clients import client

PAGE = 100  # GetResources' ResourcesPerPage is 1..100


def resources(tags: Mapping[str, Sequence[str] | None], types: Sequence[str]) -> Iterator[tuple[str, dict[str, str]]]:
    """(ARN, tags) of every resource of `types` carrying all of `tags` (a key with None: any value)."""
    filters = [{"Key": key, **({"Values": list(values)} if values else {})} for key, values in tags.items()]
    pages = client("resourcegroupstaggingapi").get_paginator("get_resources").paginate(
        TagFilters=filters, ResourceTypeFilters=list(types), ResourcesPerPage=PAGE)
    for page in pages:
        for mapping in page["ResourceTagMappingList"]:
            yield mapping["ResourceARN"], {t["Key"]: t["Value"] for t in mapping.get("Tags", [])}
