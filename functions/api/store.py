"""DynamoDB access for sessions in the global table's Regional replica."""

from __future__ import annotations

from typing import Any

from functions.api.models import Session

SESSION_PARTITION_PREFIX = "session#"
SESSION_SORT_KEY = "session"


def _key(session_id: str) -> dict[str, Any]:
    return {"pk": {"S": SESSION_PARTITION_PREFIX + session_id}, "sk": {"S": SESSION_SORT_KEY}}


class SessionStore:
    def __init__(self, dynamodb: Any, table_name: str) -> None:
        self._dynamodb = dynamodb
        self._table_name = table_name

    def put(self, session: Session, expires_at: int) -> None:
        """Write a new session; an id collision fails instead of overwriting."""
        self._dynamodb.put_item(
            TableName=self._table_name,
            Item={
                **_key(session.id),
                "owner": {"S": session.owner},
                "game": {"S": session.game},
                "mode": {"S": session.mode},
                "maxPlayers": {"N": str(session.max_players)},
                "createdAt": {"S": session.created_at},
                "region": {"S": session.region},
                "expiresAt": {"N": str(expires_at)},
            },
            ConditionExpression="attribute_not_exists(pk)",
        )

    def get(self, session_id: str) -> Session | None:
        item = self._dynamodb.get_item(
            TableName=self._table_name, Key=_key(session_id), ConsistentRead=True
        ).get("Item")
        if item is None:
            return None
        return Session(
            id=session_id,
            owner=item["owner"]["S"],
            game=item["game"]["S"],
            mode=item["mode"]["S"],
            max_players=int(item["maxPlayers"]["N"]),
            created_at=item["createdAt"]["S"],
            region=item["region"]["S"],
        )
