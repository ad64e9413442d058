"""Game-session logic: idempotent create and read.

The session id is derived from (issuer, subject, Idempotency-Key), so the same create meets the
same item in every Region: the global table's replicas converge on one session however a retry
is routed, even inside the replication lag where a conditional write in one Region cannot see the
other's item. The session item is its own idempotency record.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime

from functions.api.models import Caller, CreateSessionRequest, Identity, Session
from functions.api.store import SessionStore
from functions.shared.errors import NotFound, Unprocessable

SESSION_LIFETIME_SECONDS = 7 * 24 * 3600


def session_id_for(owner: Identity, idempotency_key: str) -> str:
    """32 hex characters, the same in every Region for the same caller and key."""
    material = json.dumps([owner.issuer, owner.subject, idempotency_key]).encode()
    return hashlib.sha256(material).hexdigest()[:32]


class SessionService:
    def __init__(
        self,
        store: SessionStore,
        region: str,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._region = region
        self._clock = clock

    def create(self, request: CreateSessionRequest) -> Session:
        """The caller's session for this key: created now, or the one an earlier try created
        (in this Region or, replicated, in the other)."""
        now = int(self._clock())
        session = Session(
            id=session_id_for(request.owner, request.idempotency_key),
            owner=request.owner,
            spec=request.spec,
            created_at=datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds"),
            region=self._region,
        )
        existing = self._store.put_new(session, now=now, expires_at=now + SESSION_LIFETIME_SECONDS)
        if existing is None:
            return session
        if existing.owner != request.owner or existing.spec != request.spec:
            raise Unprocessable("Idempotency-Key was already used with a different request body")
        return existing

    def get(self, session_id: str, caller: Caller) -> Session:
        """The caller's own session; someone else's is reported as missing, not as forbidden."""
        session = self._store.get(session_id, now=int(self._clock()))
        if session is None or session.owner != caller.identity:
            raise NotFound("session not found")
        return session
