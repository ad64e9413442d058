"""Game-session logic: create (wrapped for idempotency by the caller) and read."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from functions.api.models import Caller, CreateSessionRequest, Session
from functions.api.store import SessionStore
from functions.shared.errors import NotFound

SESSION_LIFETIME_SECONDS = 7 * 24 * 3600


class SessionService:
    def __init__(
        self,
        store: SessionStore,
        region: str,
        *,
        clock: Callable[[], float] = time.time,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self._store = store
        self._region = region
        self._clock = clock
        self._new_id = new_id

    def create(self, request: CreateSessionRequest) -> Session:
        now = self._clock()
        session = Session(
            id=self._new_id(),
            owner=request.owner,
            game=request.spec.game,
            mode=request.spec.mode,
            max_players=request.spec.max_players,
            created_at=datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds"),
            region=self._region,
        )
        self._store.put(session, expires_at=int(now) + SESSION_LIFETIME_SECONDS)
        return session

    def get(self, session_id: str, caller: Caller) -> Session:
        """The caller's own session; someone else's is reported as missing, not as forbidden."""
        session = self._store.get(session_id)
        if session is None or session.owner != caller.subject:
            raise NotFound("session not found")
        return session
