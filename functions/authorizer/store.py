"""DynamoDB reads of the authorizer: the revoked token ids in the global table."""

from __future__ import annotations

import time
from typing import Any

from stack_topology import REVOKED_PARTITION


def load_revoked_token_ids(dynamodb: Any, table_name: str) -> frozenset[str]:
    """All `jti`s under `pk = "revoked"` that have not expired (TTL deletion can lag for days)."""
    now = int(time.time())
    revoked: set[str] = set()
    pages = dynamodb.get_paginator("query").paginate(
        TableName=table_name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": REVOKED_PARTITION}},
        ProjectionExpression="sk, expiresAt",
    )
    for page in pages:
        for item in page["Items"]:
            expires_at = item.get("expiresAt", {}).get("N")
            if expires_at is not None and float(expires_at) <= now:
                continue
            revoked.add(item["sk"]["S"])
    return frozenset(revoked)
