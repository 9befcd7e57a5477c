"""The release table: one lock item per service, one record per env+service of what serves now."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from cutover_steps.adapters.clients import client, release_table, release_table_known

_serialize = TypeSerializer().serialize
_deserialize = TypeDeserializer().deserialize


def _to_plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_plain(v) for v in value]
    return value


def _to_dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _to_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_dynamo(v) for v in value]
    return value


def known() -> bool:
    """Whether a release table is given: always in the steps' functions; not to `cutover plan` in an
    account where no stack is deployed yet."""
    return release_table_known()


def get(key: str) -> dict[str, Any] | None:
    item = client("dynamodb").get_item(TableName=release_table(), Key={"pk": {"S": key}}, ConsistentRead=True).get("Item")
    return _to_plain({k: _deserialize(v) for k, v in item.items()}) if item else None


def put(key: str, attributes: dict[str, Any], condition: str | None = None, values: dict[str, Any] | None = None) -> bool:
    """Write the whole item; False when the condition does not hold."""
    item = {"pk": _serialize(key), **{k: _serialize(_to_dynamo(v)) for k, v in attributes.items()}}
    request: dict[str, Any] = {"TableName": release_table(), "Item": item}
    if condition:
        request["ConditionExpression"] = condition
        if values:
            request["ExpressionAttributeValues"] = {k: _serialize(v) for k, v in values.items()}
    return _unless_condition_fails("put_item", request)


def update(key: str, attributes: dict[str, Any], unless_set: str | None = None) -> bool:
    """Set some attributes of an item, creating it if needed; with `unless_set`, only while the item
    has no attribute of that name (False when it has one)."""
    names = {f"#a{i}": name for i, name in enumerate(attributes)}
    values = {f":v{i}": _serialize(_to_dynamo(value)) for i, value in enumerate(attributes.values())}
    expression = "SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(attributes)))
    request: dict[str, Any] = {"TableName": release_table(), "Key": {"pk": {"S": key}}, "UpdateExpression": expression,
                               "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}
    if unless_set:
        request["ConditionExpression"] = "attribute_not_exists(#unless)"
        names["#unless"] = unless_set
    return _unless_condition_fails("update_item", request)


def delete(key: str, condition: str, values: dict[str, Any]) -> bool:
    return _unless_condition_fails("delete_item", {
        "TableName": release_table(), "Key": {"pk": {"S": key}}, "ConditionExpression": condition,
        "ExpressionAttributeValues": {k: _serialize(v) for k, v in values.items()},
    })


def _unless_condition_fails(operation: str, request: dict[str, Any]) -> bool:
    """Make the call; False when its condition does not hold (nothing was written)."""
    try:
        getattr(client("dynamodb"), operation)(**request)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def keys_held_by(owner: str) -> list[str]:
    """Keys of the lock items an execution holds."""
    keys = []
    for page in client("dynamodb").get_paginator("scan").paginate(
        TableName=release_table(), FilterExpression="held_by = :o",
        ExpressionAttributeValues={":o": {"S": owner}}, ProjectionExpression="pk",
    ):
        keys.extend(item["pk"]["S"] for item in page.get("Items", []))
    return keys


def locks() -> list[dict[str, Any]]:
    """Every lock item held now (the table holds one per service, so the scan is small): the
    sweep for undos no status change started."""
    items = []
    for page in client("dynamodb").get_paginator("scan").paginate(
        TableName=release_table(), FilterExpression="attribute_exists(held_by)",
        ProjectionExpression="pk, held_by",
    ):
        items.extend(_to_plain({k: _deserialize(v) for k, v in item.items()}) for item in page.get("Items", []))
    return items
