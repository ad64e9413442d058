"""DynamoDB access for sessions in the global table's Regional replica (one item per session,
each in its own partition)."""

from __future__ import annotations

from typing import Any

from functions.api.models import Identity, Session, SessionSpec

SESSION_PARTITION_PREFIX = "session#"
SESSION_SORT_KEY = "session"


def _key(session_id: str) -> dict[str, Any]:
    return {"pk": {"S": SESSION_PARTITION_PREFIX + session_id}, "sk": {"S": SESSION_SORT_KEY}}


def _session(session_id: str, item: dict[str, Any]) -> Session:
    return Session(
        id=session_id,
        owner=Identity(issuer=item["ownerIssuer"]["S"], subject=item["ownerSubject"]["S"]),
        spec=SessionSpec(
            game=item["game"]["S"], mode=item["mode"]["S"], max_players=int(item["maxPlayers"]["N"])
        ),
        created_at=item["createdAt"]["S"],
        region=item["region"]["S"],
    )


def _live(item: dict[str, Any], now: int) -> bool:
    # TTL deletes expired items late (typically within days): until then they still read back.
    return "ownerIssuer" in item and int(item["expiresAt"]["N"]) > now


class SessionStore:
    def __init__(self, dynamodb: Any, table_name: str) -> None:
        self._dynamodb = dynamodb
        self._table_name = table_name

    def put_new(self, session: Session, now: int, expires_at: int) -> Session | None:
        """Write `session` unless a live one holds its id; return that one instead (None when
        written)."""
        try:
            self._dynamodb.put_item(
                TableName=self._table_name,
                Item={
                    **_key(session.id),
                    "ownerIssuer": {"S": session.owner.issuer},
                    "ownerSubject": {"S": session.owner.subject},
                    "game": {"S": session.spec.game},
                    "mode": {"S": session.spec.mode},
                    "maxPlayers": {"N": str(session.spec.max_players)},
                    "createdAt": {"S": session.created_at},
                    "region": {"S": session.region},
                    "expiresAt": {"N": str(expires_at)},
                },
                ConditionExpression="attribute_not_exists(pk) OR expiresAt <= :now",
                ExpressionAttributeValues={":now": {"N": str(now)}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self._dynamodb.exceptions.ConditionalCheckFailedException as failed:
            return _session(session.id, failed.response["Item"])
        return None

    def get(self, session_id: str, now: int) -> Session | None:
        item = self._dynamodb.get_item(
            TableName=self._table_name, Key=_key(session_id), ConsistentRead=True
        ).get("Item")
        if item is None or not _live(item, now):
            return None
        return _session(session_id, item)
