"""The revoked-token list, held in memory and refreshed at most every `max_age` seconds.

The warm path is a set lookup. A revocation written to the global table takes effect within
`max_age` seconds (plus replication and API Gateway's authorizer cache TTL): that staleness is
the documented price of making no per-request DynamoDB call.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from functions.shared.observability import logger


class RevocationsUnavailable(Exception):
    """The list has never been loaded in this environment, so revocation cannot be checked."""


class RevocationList:
    def __init__(
        self,
        load: Callable[[], frozenset[str]],
        *,
        max_age: float = 60.0,
        retry_interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self._max_age = max_age
        self._retry_interval = retry_interval
        self._clock = clock
        self._revoked: frozenset[str] | None = None
        self._next_refresh = float("-inf")
        self._last_refresh_failed = False

    def readable(self) -> int:
        """Refresh if due; the number of revoked ids, or RevocationsUnavailable when the latest
        read failed (a stale list keeps tokens served, but the read path is broken)."""
        now = self._clock()
        if now >= self._next_refresh:
            self._refresh(now)
        if self._revoked is None or self._last_refresh_failed:
            raise RevocationsUnavailable("revocation list could not be read")
        return len(self._revoked)

    def is_revoked(self, token_id: str) -> bool:
        now = self._clock()
        if now >= self._next_refresh:
            self._refresh(now)
        if self._revoked is None:
            raise RevocationsUnavailable("revocation list could not be loaded")
        return token_id in self._revoked

    def _refresh(self, now: float) -> None:
        try:
            self._revoked = self._load()
        except Exception as exc:
            # Keep serving the last list (if any); retry soon rather than on every request.
            self._last_refresh_failed = True
            self._next_refresh = now + self._retry_interval
            logger.warning(
                "Revocation list refresh failed",
                extra={"error": type(exc).__name__, "stale": self._revoked is not None},
            )
            return
        self._last_refresh_failed = False
        self._next_refresh = now + self._max_age
