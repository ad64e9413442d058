"""Bearer token extraction and JWT verification against the identity provider's keys."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import jwt
from jwt import PyJWK
from jwt import exceptions as jwt_errors

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


# PyJWT's exceptions by the reason we report; the first match in this order wins (subclasses
# before their bases).
_REASON_BY_ERROR: tuple[tuple[type[Exception], RejectReason], ...] = (
    (jwt_errors.ExpiredSignatureError, RejectReason.EXPIRED),
    (jwt_errors.ImmatureSignatureError, RejectReason.NOT_YET_VALID),
    (jwt_errors.InvalidIssuerError, RejectReason.INVALID_ISSUER),
    (jwt_errors.InvalidAudienceError, RejectReason.INVALID_AUDIENCE),
    (jwt_errors.MissingRequiredClaimError, RejectReason.MISSING_CLAIM),
    (jwt_errors.InvalidSignatureError, RejectReason.INVALID_SIGNATURE),
    (jwt_errors.InvalidAlgorithmError, RejectReason.ALGORITHM_NOT_ALLOWED),
    (jwt_errors.DecodeError, RejectReason.MALFORMED),
    (jwt_errors.InvalidTokenError, RejectReason.INVALID_CLAIM),
)


def _reason_for(error: jwt_errors.InvalidTokenError) -> RejectReason:
    for error_type, reason in _REASON_BY_ERROR:
        if isinstance(error, error_type):
            return reason
    return RejectReason.INVALID_CLAIM


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


class TokenVerifier:
    """Verifies a compact JWT: algorithm from our key, kid known, iss/aud/exp/nbf/iat checked."""

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
        self._jwt = jwt.PyJWT(
            options={"require": list(REQUIRED_CLAIMS), "enforce_minimum_key_length": True}
        )

    def verify(self, token: str) -> VerifiedToken:
        try:
            header = jwt.get_unverified_header(token)
        except jwt_errors.InvalidTokenError as exc:
            raise TokenRejected(RejectReason.MALFORMED) from exc
        # `jku`, `x5u`, `jwk` and `x5c` are never consulted: keys come only from our JWKS.
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
            claims = self._jwt.decode(
                token,
                key,
                algorithms=[key.algorithm_name],
                audience=self._audience,
                issuer=self._issuers,
                leeway=self._leeway,
            )
        except jwt_errors.InvalidTokenError as exc:
            raise TokenRejected(_reason_for(exc)) from exc
        return self._verified(claims)

    @staticmethod
    def _verified(claims: Mapping[str, Any]) -> VerifiedToken:
        subject, token_id = claims["sub"], claims.get("jti")
        if not subject or (token_id is not None and not isinstance(token_id, str)):
            raise TokenRejected(RejectReason.INVALID_CLAIM)
        return VerifiedToken(
            subject=subject,
            issuer=claims["iss"],
            scopes=_scopes(claims),
            token_id=token_id,
            expires_at=int(claims["exp"]),
        )
