"""Powertools idempotency for session creation, on the global table, valid in both Regions.

Powertools derives both parts of a record's key from the Lambda function name and the wrapped
function's module by default, so a rename or a refactor would silently start a fresh key space.
Both are fixed here instead: the records belong to "session creation", whichever function or
Region writes them. A client retry that lands in the other Region after a failover then finds the
record replicated by the global table and gets the first result back instead of a second session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.serialization.dataclass import (
    DataclassSerializer,
)

from functions.api.models import CreateSessionRequest, Session
from functions.shared.errors import Conflict, Unprocessable

RECORD_PARTITION = "idempotency#sessions"
RECORD_KEY_PREFIX = "sessions.create"
RECORD_LIFETIME_SECONDS = 24 * 3600


def idempotency_config() -> IdempotencyConfig:
    return IdempotencyConfig(
        # Keys are scoped to the caller: another user's key never returns this user's session.
        event_key_jmespath="[owner, idempotency_key]",
        # Reusing a key with a different body is a client bug, not a retry.
        payload_validation_jmespath="spec",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=RECORD_LIFETIME_SECONDS,
        hash_function="sha256",
    )


def idempotent_create(
    create: Callable[[CreateSessionRequest], Session],
    dynamodb: Any,
    table_name: str,
    config: IdempotencyConfig,
) -> Callable[[CreateSessionRequest], Session]:
    """Wrap `create` so a replayed request returns the first result."""
    persistence = DynamoDBPersistenceLayer(
        table_name=table_name,
        key_attr="pk",
        sort_key_attr="sk",
        static_pk_value=RECORD_PARTITION,
        expiry_attr="expiresAt",
        boto3_client=dynamodb,
    )

    @idempotent_function(
        data_keyword_argument="request",
        persistence_store=persistence,
        config=config,
        output_serializer=DataclassSerializer(Session),
        key_prefix=RECORD_KEY_PREFIX,
    )
    def create_once(*, request: CreateSessionRequest) -> Session:
        return create(request)

    def create_or_replay(request: CreateSessionRequest) -> Session:
        try:
            return create_once(request=request)
        except IdempotencyValidationError:
            raise Unprocessable(
                "Idempotency-Key was already used with a different request body"
            ) from None
        except IdempotencyAlreadyInProgressError:
            raise Conflict(
                "a request with this Idempotency-Key is still in progress; retry shortly"
            ) from None

    return create_or_replay
