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
    # The authorizer could not decide (a transient fault): the invocation fails, API Gateway
    # answers 500 and caches nothing, so the client's retry gets a fresh decision.
    FAILED = "failed"


class DenyReason(StrEnum):
    """Why an explicit Deny was returned (invalid tokens use RejectReason instead)."""

    REVOKED = "revoked"
    INVALID_METHOD_ARN = "invalid_method_arn"
    MISCONFIGURED = "misconfigured"  # not transient: every request of this deployment fails


class FailureReason(StrEnum):
    """Why the authorizer could not decide; a Deny here would be cached for the whole TTL."""

    KEYS_UNAVAILABLE = "keys_unavailable"
    REVOCATIONS_UNAVAILABLE = "revocations_unavailable"
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

    @classmethod
    def fail(cls, reason: FailureReason, token: VerifiedToken | None = None) -> Decision:
        return cls(Outcome.FAILED, reason.value, token)


@dataclass(frozen=True)
class CanaryReport:
    """The health function's canary answer: this Region's authorizer could decide right now."""

    region: str
    revoked: int  # revoked token ids read

    def as_json(self) -> dict[str, str | int]:
        return {"canary": "ok", "region": self.region, "revoked": self.revoked}


class Authorizer:
    def __init__(self, verifier: TokenVerifier, revocations: RevocationList, region: str) -> None:
        self._verifier = verifier
        self._revocations = revocations
        self.region = region  # the serving Region, reported to the API in the policy context

    def canary(self) -> CanaryReport:
        """What a token's decision needs from this Region, checked without a token: the
        configuration (built before this is called) and the revocation list readable now
        (RevocationsUnavailable otherwise). Signing keys come from the identity provider, which
        both Regions share: failing over cannot bring them back, so they are not checked here."""
        return CanaryReport(self.region, self._revocations.readable())

    def decide(self, authorization: object) -> Decision:
        """Decide on an `Authorization` header value of any type or content.

        Expected failures become a Decision; anything raised from here is a bug, which the
        handler turns into a failed invocation.
        """
        try:
            token = self._verifier.verify(extract_bearer_token(authorization))
        except TokenRejected as rejected:
            return Decision(Outcome.UNAUTHORIZED, rejected.reason.value)
        except KeysUnavailable:
            return Decision.fail(FailureReason.KEYS_UNAVAILABLE)
        if token.token_id is not None:
            try:
                if self._revocations.is_revoked(token.token_id):
                    return Decision.deny(DenyReason.REVOKED, token)
            except RevocationsUnavailable:
                return Decision.fail(FailureReason.REVOCATIONS_UNAVAILABLE, token)
        return Decision(Outcome.ALLOW, ALLOWED_REASON, token)
