"""The identity provider's signing keys: fetched from its JWKS, cached, with a pinned fallback.

Static stability: once keys are loaded they are kept when a refresh fails, and when the JWKS
endpoint cannot be reached at all the pinned JWKS shipped with the deployment is used, so an
identity-provider outage does not log everybody out of a healthy Region.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from http.client import HTTPException
from typing import Any

from jwt import PyJWK
from jwt.exceptions import PyJWTError

from functions.shared.deadline import DeadlineExceeded, call_within
from functions.shared.observability import logger
from functions.shared.settings import AuthSettings, ConfigurationError

# Only these (key type, curve) pairs are trusted, and each fixes its algorithm: the algorithm
# comes from our key, never from the token.
ALGORITHM_BY_KEY_TYPE: Mapping[tuple[str, str | None], str] = {
    ("RSA", None): "RS256",
    ("EC", "P-256"): "ES256",
}
MIN_RSA_BITS = 2048
MAX_JWKS_BYTES = 256 * 1024


class JwksError(Exception):
    """A JWKS document could not be fetched or holds no usable key (message has no secrets)."""


class KeysUnavailable(Exception):
    """No signing keys: the JWKS was never loaded and no pinned JWKS is configured."""


class KeySource(StrEnum):
    REMOTE = "remote"
    PINNED = "pinned"


@dataclass(frozen=True)
class KeySet:
    """Usable verification keys by `kid`, and where they came from."""

    keys: Mapping[str, PyJWK]
    source: KeySource


def _signing_key(jwk: Any) -> PyJWK | None:
    """Return the verification key for one JWK entry, or None if we must not use it."""
    if not isinstance(jwk, dict):
        return None
    kid, kty = jwk.get("kid"), jwk.get("kty")
    if not isinstance(kid, str) or not kid or jwk.get("use", "sig") != "sig":
        return None
    if "d" in jwk:  # private key material has no business in a JWKS; never verify with it
        return None
    curve = jwk.get("crv") if kty == "EC" else None
    if not isinstance(kty, str) or not isinstance(curve, str | None):
        return None  # a list or object here would not even be a lookup key
    algorithm = ALGORITHM_BY_KEY_TYPE.get((kty, curve))
    if algorithm is None or jwk.get("alg", algorithm) != algorithm:
        return None
    try:
        key = PyJWK(jwk, algorithm=algorithm)
    except (PyJWTError, ValueError, TypeError):
        return None
    if kty == "RSA" and key.key.key_size < MIN_RSA_BITS:
        return None
    return key


def parse_jwks(document: str | bytes) -> dict[str, PyJWK]:
    """Parse a JWKS document into usable keys by kid; raise JwksError if there are none."""
    try:
        entries = json.loads(document).get("keys")
    except (ValueError, AttributeError) as exc:
        raise JwksError("JWKS is not a JSON object") from exc
    if not isinstance(entries, list):
        raise JwksError("JWKS has no 'keys' list")
    keys: dict[str, PyJWK] = {}
    for entry in entries:
        key = _signing_key(entry)
        if key is None:
            continue
        kid = entry["kid"]
        if kid in keys:
            logger.warning("Duplicate kid in JWKS; keeping the first", extra={"kid": kid})
            continue
        keys[kid] = key
    if not keys:
        raise JwksError("JWKS holds no usable RS256/ES256 signing key")
    return keys


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect could leave https; JWKS endpoints do not redirect, so treat one as a failure.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        raise JwksError("JWKS endpoint answered with a redirect")


_opener = urllib.request.build_opener(_RefuseRedirects)


def _get(uri: str, timeout: float) -> bytes:
    request = urllib.request.Request(uri, headers={"Accept": "application/json"})
    try:
        with _opener.open(request, timeout=timeout) as response:
            body: bytes = response.read(MAX_JWKS_BYTES + 1)
    except (OSError, HTTPException) as exc:
        raise JwksError(f"JWKS fetch failed: {type(exc).__name__}") from exc
    if len(body) > MAX_JWKS_BYTES:
        raise JwksError("JWKS document is too large")
    return body


def fetch_jwks(uri: str, deadline: float) -> bytes:
    """GET the JWKS document within `deadline` seconds in all (the URI was validated as https or
    loopback http by the settings).

    urllib's timeout bounds each socket operation, not their sum, and name resolution not at all
    (getaddrinfo has no timeout), so the whole fetch runs under `call_within`'s one deadline.
    """
    try:
        return call_within(lambda: _get(uri, deadline), deadline, "jwks-fetch")
    except DeadlineExceeded as exc:
        raise JwksError(f"JWKS fetch exceeded its {deadline:g} s deadline") from exc


class JwksCache:
    """Signing keys cached across invocations, refreshed after `ttl` seconds.

    An unknown kid triggers a refetch at most once per `refetch_interval` (the first one right
    away, so a key rotated just after a cold start is picked up), and a failed fetch is not
    retried for `retry_interval`: neither a stream of forged kids nor an identity-provider
    outage turns into a fetch per request.
    """

    def __init__(
        self,
        uri: str,
        pinned: Mapping[str, PyJWK] | None = None,
        *,
        ttl: float = 600.0,
        refetch_interval: float = 30.0,
        retry_interval: float = 30.0,
        deadline: float = 1.5,
        fetch: Callable[[str, float], bytes] = fetch_jwks,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._uri = uri
        self._pinned = dict(pinned) if pinned else None
        self._ttl = ttl
        self._refetch_interval = refetch_interval
        self._retry_interval = retry_interval
        self._deadline = deadline
        self._fetch = fetch
        self._clock = clock
        self._remote: dict[str, PyJWK] | None = None
        self._fetched_at = 0.0
        self._next_attempt = float("-inf")  # pushed out by a failed fetch
        self._next_unknown_kid_fetch = float("-inf")
        self._lock = threading.Lock()

    def current(self) -> KeySet:
        """The keys to verify with now; raise KeysUnavailable if there are none."""
        now = self._clock()
        stale = self._remote is None or now - self._fetched_at >= self._ttl
        if stale and now >= self._next_attempt:
            self._refresh(now)
        if self._remote is not None:
            return KeySet(self._remote, KeySource.REMOTE)
        if self._pinned is not None:
            return KeySet(self._pinned, KeySource.PINNED)
        raise KeysUnavailable("no signing keys: JWKS unreachable and no pinned JWKS configured")

    def find(self, kid: str) -> PyJWK | None:
        """The key named `kid`; an unknown kid triggers a rate-limited refetch (key rotation)."""
        key = self.current().keys.get(kid)
        now = self._clock()
        if key is None and now >= max(self._next_attempt, self._next_unknown_kid_fetch):
            self._next_unknown_kid_fetch = now + self._refetch_interval
            self._refresh(now)
            key = self.current().keys.get(kid)
        return key

    def _refresh(self, now: float) -> None:
        if not self._lock.acquire(blocking=False):
            with self._lock:  # a fetch is in flight: wait for it and use its result
                return
        try:
            keys = parse_jwks(self._fetch(self._uri, self._deadline))
        except JwksError as exc:
            self._next_attempt = now + self._retry_interval
            logger.warning(
                "JWKS refresh failed; keeping the keys we have",
                extra={"error": str(exc), "fallback": self._fallback_name()},
            )
        else:
            self._remote = keys
            self._fetched_at = now
        finally:
            self._lock.release()

    def _fallback_name(self) -> str:
        if self._remote is not None:
            return "cached"
        return KeySource.PINNED if self._pinned is not None else "none"


def key_cache_for(auth: AuthSettings, *, deadline: float) -> JwksCache:
    """The JwksCache for these settings; an invalid pinned JWKS is a configuration error."""
    pinned = None
    if auth.jwks_pinned is not None:
        try:
            pinned = parse_jwks(auth.jwks_pinned)
        except JwksError as exc:
            raise ConfigurationError(f"AUTH_JWKS_PINNED is not a usable JWKS: {exc}") from exc
    return JwksCache(auth.jwks_uri, pinned, deadline=deadline)
