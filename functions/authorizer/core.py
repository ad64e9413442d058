"""The authorizer's decision: verify the bearer token, check revocation, pick the outcome."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from functions.authorizer.revocations import RevocationList, RevocationsUnavailable
from functions.authorizer.tokens import (
    TokenRejected,
    TokenVerifier,
    VerifiedToken,
    extract_bearer_token,
)
from functions.shared.jwks import KeysUnavailable


class Outcome(StrEnum):
    ALLOW = "allow"
    UNAUTHORIZED = "unauthorized"  # 401: missing or invalid token
    DENY = "deny"  # 403: explicit Deny for a well-formed token we will not honour


class DenyReason(StrEnum):
    """Why an explicit Deny was returned (invalid tokens use RejectReason instead)."""

    REVOKED = "revoked"
    KEYS_UNAVAILABLE = "keys_unavailable"
    REVOCATIONS_UNAVAILABLE = "revocations_unavailable"
    INVALID_METHOD_ARN = "invalid_method_arn"
    MISCONFIGURED = "misconfigured"
    ERROR = "error"


ALLOWED_REASON = "valid"


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reason: str
    token: VerifiedToken | None = None

    @classmethod
    def deny(cls, reason: DenyReason, token: VerifiedToken | None = None) -> Decision:
        return cls(Outcome.DENY, reason.value, token)


class Authorizer:
    def __init__(self, verifier: TokenVerifier, revocations: RevocationList, region: str) -> None:
        self._verifier = verifier
        self._revocations = revocations
        self.region = region  # the serving Region, reported to the API in the policy context

    def decide(self, authorization: object) -> Decision:
        """Decide on an `Authorization` header value of any type or content.

        Expected failures become a Decision; anything raised from here is a bug, which the
        handler turns into an explicit Deny.
        """
        try:
            token = self._verifier.verify(extract_bearer_token(authorization))
        except TokenRejected as rejected:
            return Decision(Outcome.UNAUTHORIZED, rejected.reason.value)
        except KeysUnavailable:
            return Decision.deny(DenyReason.KEYS_UNAVAILABLE)
        if token.token_id is not None:
            try:
                if self._revocations.is_revoked(token.token_id):
                    return Decision.deny(DenyReason.REVOKED, token)
            except RevocationsUnavailable:
                return Decision.deny(DenyReason.REVOCATIONS_UNAVAILABLE, token)
        return Decision(Outcome.ALLOW, ALLOWED_REASON, token)
