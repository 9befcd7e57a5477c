"""The release table as `cutover releases` and the command line's checks read it: the table found, the
ledger's day items fetched."""
from __future__ import annotations

from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from cutover.aws.errors import code_of

# BatchGetItem takes at most 100 keys a call.
BATCH = 100


def table_exists(dynamodb, table: str) -> bool:
    """Whether the table is there; a refusal is raised (a permission problem, not a missing table)."""
    try:
        dynamodb.describe_table(TableName=table)
        return True
    except ClientError as error:
        if code_of(error) != "ResourceNotFoundException":
            raise
        return False


def items(dynamodb, table: str, keys: list[str]) -> list[dict[str, Any]]:
    """The items of these `pk` keys that exist, as plain Python values, read consistently."""
    from cutover_steps.adapters.records import _to_plain

    deserialize = TypeDeserializer().deserialize
    wanted = [{"pk": {"S": key}} for key in keys]
    found: list[dict[str, Any]] = []
    for first in range(0, len(wanted), BATCH):
        request = {table: {"Keys": wanted[first:first + BATCH], "ConsistentRead": True}}
        while request:
            answer = dynamodb.batch_get_item(RequestItems=request)
            found += [_to_plain({k: deserialize(v) for k, v in item.items()})
                      for item in answer.get("Responses", {}).get(table, [])]
            request = answer.get("UnprocessedKeys") or {}
    return found
