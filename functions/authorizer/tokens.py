"""Bearer token extraction and JWT verification against the identity provider's keys."""

from __future__ import annotations

import base64
import json
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from jwt import PyJWK

MAX_TOKEN_BYTES = 8 * 1024
BEARER_PREFIX = "bearer "
# Compact JWS: three base64url segments. Checked before any decoding so junk is cheap to reject.
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
ALLOWED_ALGORITHMS = frozenset({"RS256", "ES256"})
REQUIRED_CLAIMS = ("exp", "iss", "aud", "sub")


class RejectReason(StrEnum):
    """Why a token is refused; all of these answer 401 and are counted per reason."""

    MISSING_TOKEN = "missing_token"
    NOT_BEARER = "not_bearer"
    TOKEN_TOO_LARGE = "token_too_large"
    MALFORMED = "malformed"
    ALGORITHM_NOT_ALLOWED = "algorithm_not_allowed"
    UNKNOWN_KEY = "unknown_kid"
    INVALID_SIGNATURE = "invalid_signature"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    INVALID_ISSUER = "invalid_issuer"
    INVALID_AUDIENCE = "invalid_audience"
    MISSING_CLAIM = "missing_claim"
    INVALID_CLAIM = "invalid_claim"


class TokenRejected(Exception):
    def __init__(self, reason: RejectReason) -> None:
        super().__init__(reason.value)
        self.reason = reason


@dataclass(frozen=True)
class VerifiedToken:
    """The claims the rest of the system relies on, from a token whose signature checked out."""

    subject: str
    issuer: str
    scopes: tuple[str, ...]
    token_id: str | None
    expires_at: int


class KeyLookup(Protocol):
    def find(self, kid: str) -> PyJWK | None: ...


def extract_bearer_token(authorization: object) -> str:
    """The JWT from an `Authorization: Bearer <JWT>` value; size is checked before anything else."""
    if not isinstance(authorization, str) or not authorization:
        raise TokenRejected(RejectReason.MISSING_TOKEN)
    if len(authorization) > MAX_TOKEN_BYTES + len(BEARER_PREFIX):
        raise TokenRejected(RejectReason.TOKEN_TOO_LARGE)
    if authorization[: len(BEARER_PREFIX)].lower() != BEARER_PREFIX:
        raise TokenRejected(RejectReason.NOT_BEARER)
    token = authorization[len(BEARER_PREFIX) :]
    if len(token.encode("utf-8", "surrogatepass")) > MAX_TOKEN_BYTES:
        raise TokenRejected(RejectReason.TOKEN_TOO_LARGE)
    if not _COMPACT_JWS.fullmatch(token):
        raise TokenRejected(RejectReason.MALFORMED)
    return token


def _scopes(claims: Mapping[str, Any]) -> tuple[str, ...]:
    # OAuth's `scope` is a space-separated string; some providers send `scp` as a list.
    scope = claims.get("scope")
    if isinstance(scope, str):
        return tuple(scope.split())
    scp = claims.get("scp")
    if isinstance(scp, list) and all(isinstance(s, str) for s in scp):
        return tuple(scp)
    if scope is None and scp is None:
        return ()
    raise TokenRejected(RejectReason.INVALID_CLAIM)


def _decode_segment(segment: str) -> bytes:
    """Base64url-decode one segment; only the canonical spelling is accepted (raises ValueError)."""
    decoded = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    # Spare bits set in the last character would give one token several spellings.
    if base64.urlsafe_b64encode(decoded).rstrip(b"=") != segment.encode("ascii"):
        raise ValueError("non-canonical base64url")
    return decoded


def _json_object(segment: str) -> dict[str, Any]:
    try:
        value = json.loads(_decode_segment(segment))
    except ValueError:  # bad base64, bad UTF-8 or bad JSON
        raise TokenRejected(RejectReason.MALFORMED) from None
    if not isinstance(value, dict):
        raise TokenRejected(RejectReason.MALFORMED)
    return value


def _numeric_date(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    # RFC 7519 NumericDate: a JSON number. Not a string, not true, not NaN or Infinity.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TokenRejected(RejectReason.INVALID_CLAIM)
    return value


class TokenVerifier:
    """Verifies a compact JWS-signed JWT against keys from our JWKS.

    The algorithm comes from our key (RS256 or ES256), the signature is checked with PyJWT's
    algorithm implementation, then iss (exact match), aud, exp (required), nbf and iat (with a
    small leeway) are validated. The segments are parsed here rather than by jwt.decode, which
    re-checks the base64 alphabet in pure Python per character: that alone doubled the warm
    path (see benchmarks/authorizer_bench.py); the alphabet was already checked by a regex.
    """

    def __init__(
        self,
        keys: KeyLookup,
        issuers: frozenset[str],
        audience: str,
        leeway_seconds: int = 30,
    ) -> None:
        self._keys = keys
        self._issuers = issuers
        self._audience = audience
        self._leeway = leeway_seconds

    def verify(self, token: str) -> VerifiedToken:
        segments = token.split(".")
        if len(segments) != 3:
            raise TokenRejected(RejectReason.MALFORMED)
        header_segment, payload_segment, signature_segment = segments
        header = _json_object(header_segment)
        # `jku`, `x5u`, `jwk` and `x5c` are never consulted: keys come only from our JWKS.
        if "crit" in header:  # we implement no JWS extension, so none can be critical
            raise TokenRejected(RejectReason.MALFORMED)
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            raise TokenRejected(RejectReason.ALGORITHM_NOT_ALLOWED)
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRejected(RejectReason.UNKNOWN_KEY)
        key = self._keys.find(kid)
        if key is None:
            raise TokenRejected(RejectReason.UNKNOWN_KEY)
        if header["alg"] != key.algorithm_name:
            raise TokenRejected(RejectReason.ALGORITHM_NOT_ALLOWED)
        try:
            signature = _decode_segment(signature_segment)
            signing_input = f"{header_segment}.{payload_segment}".encode("ascii")
        except ValueError:
            raise TokenRejected(RejectReason.MALFORMED) from None
        if not key.Algorithm.verify(signing_input, key.key, signature):
            raise TokenRejected(RejectReason.INVALID_SIGNATURE)
        return self._validated(_json_object(payload_segment))

    def _validated(self, claims: Mapping[str, Any]) -> VerifiedToken:
        for name in REQUIRED_CLAIMS:
            if claims.get(name) is None:
                raise TokenRejected(RejectReason.MISSING_CLAIM)
        now = time.time()
        expires_at = _numeric_date(claims, "exp")
        if expires_at is not None and expires_at <= now - self._leeway:
            raise TokenRejected(RejectReason.EXPIRED)
        for name in ("nbf", "iat"):
            moment = _numeric_date(claims, name)
            if moment is not None and moment > now + self._leeway:
                raise TokenRejected(RejectReason.NOT_YET_VALID)
        issuer = claims["iss"]
        if not isinstance(issuer, str) or issuer not in self._issuers:
            raise TokenRejected(RejectReason.INVALID_ISSUER)
        audiences = claims["aud"]
        if isinstance(audiences, str):
            audiences = [audiences]
        if (
            not isinstance(audiences, list)
            or not all(isinstance(audience, str) for audience in audiences)
            or self._audience not in audiences
        ):
            raise TokenRejected(RejectReason.INVALID_AUDIENCE)
        subject, token_id = claims["sub"], claims.get("jti")
        if not isinstance(subject, str) or not subject:
            raise TokenRejected(RejectReason.INVALID_CLAIM)
        if token_id is not None and not isinstance(token_id, str):
            raise TokenRejected(RejectReason.INVALID_CLAIM)
        return VerifiedToken(
            subject=subject,
            issuer=issuer,
            scopes=_scopes(claims),
            token_id=token_id,
            expires_at=int(claims["exp"]),
        )
