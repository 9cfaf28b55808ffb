"""The consecutive-failure count, kept between runs in DynamoDB with conditional writes.

One item per canary namespace: ``pk`` (string), ``consecutive_failures``,
``version``. Each update reads the item consistently and writes it only if
``version`` did not change (or the item does not exist yet), so two runs at
once cannot both count from the same value.
"""

from __future__ import annotations

from typing import Any

from ..exceptions import XrayExclusiveError
from ._taxonomy import Calls, error_code

__all__ = ["StateError", "update_consecutive_failures"]


class StateError(XrayExclusiveError, RuntimeError):
    """The count could not be read or written (after retries)."""


def update_consecutive_failures(
    dynamodb: Any, table: str, key: str, failed: bool, calls: Calls, attempts: int = 5
) -> int:
    """Add one to the count when ``failed``, else reset it to 0; return the new count."""
    for _ in range(attempts):
        item = calls.call(
            "dynamodb",
            "GetItem",
            dynamodb.get_item,
            TableName=table,
            Key={"pk": {"S": key}},
            ConsistentRead=True,
        ).get("Item")
        version = int(item["version"]["N"]) if item and "version" in item else 0
        count = int(item["consecutive_failures"]["N"]) if item and "consecutive_failures" in item else 0
        new_count = count + 1 if failed else 0
        condition: dict[str, Any]
        if item is None:
            condition = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {
                "ConditionExpression": "version = :v",
                "ExpressionAttributeValues": {":v": {"N": str(version)}},
            }
        try:
            calls.call(
                "dynamodb",
                "PutItem",
                dynamodb.put_item,
                TableName=table,
                Item={
                    "pk": {"S": key},
                    "consecutive_failures": {"N": str(new_count)},
                    "version": {"N": str(version + 1)},
                },
                **condition,
            )
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                continue  # another run wrote first: read again
            raise
        return new_count
    raise StateError(f"the count in {table} kept changing under {attempts} attempts")
