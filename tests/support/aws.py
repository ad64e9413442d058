"""AWS resources the tests and benchmarks create in the local emulator, written once."""

from __future__ import annotations

from typing import Any


def create_state_table(dynamodb: Any, table_name: str, *, stream: bool = False) -> None:
    """The global table's Regional copy (docs/contracts.md): keys `pk`/`sk`, on demand.

    `stream=True` adds the NEW_AND_OLD_IMAGES stream a global table replicates from.
    """
    extra: dict[str, Any] = (
        {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}}
        if stream
        else {}
    )
    dynamodb.create_table(
        TableName=table_name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )
