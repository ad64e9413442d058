"""REST API TOKEN authorizer: `Authorization: Bearer <JWT>` in, IAM policy (or 401) out.

A missing or invalid token raises `Unauthorized` (API Gateway answers 401); a valid token we will
not honour gets an explicit Deny (403). When the authorizer cannot decide (no signing keys, no
revocation list, an unexpected error) the invocation fails instead: API Gateway answers 500 and
caches nothing, where a Deny would lock the caller out for the whole cache TTL. Never an Allow
without a verified token and a loaded revocation list. Tokens are never logged.
"""

from __future__ import annotations

import traceback
from functools import cache, partial
from typing import TYPE_CHECKING, Any

from functions.authorizer.core import (
    Authorizer,
    Decision,
    DenyReason,
    FailureReason,
    Outcome,
)
from functions.authorizer.policy import InvalidMethodArn, allow_stage, caller_context, deny_all
from functions.authorizer.revocations import RevocationList
from functions.authorizer.store import load_revoked_token_ids
from functions.authorizer.tokens import TokenVerifier
from functions.shared import aws
from functions.shared.jwks import key_cache_for
from functions.shared.observability import EmfCounter, logger
from functions.shared.settings import AuthorizerSettings, ConfigurationError

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

ERROR_METRIC = "AuthorizerError"
METRIC_BY_OUTCOME = {
    Outcome.ALLOW: ("AuthorizerAllow",),
    Outcome.UNAUTHORIZED: ("AuthorizerDeny",),
    Outcome.DENY: ("AuthorizerDeny",),
    Outcome.FAILED: (ERROR_METRIC,),  # failures of the authorizer itself, never a denied token
}
MISCONFIGURED_METRICS = ("AuthorizerDeny", ERROR_METRIC)
# The reasons the Region's "authorizer-errors" alarm counts: this authorizer is broken. Keys or
# revocations unavailable fail the invocation, which API Gateway counts as a 5XXError, so the
# Region's api-5xx alarm sees those.
ERROR_REASONS = (FailureReason.ERROR, DenyReason.MISCONFIGURED)
# With the revocation client's budget (aws.REQUEST_PATH) this keeps the slowest request, a JWKS
# fetch plus a revocation refresh, inside the function's 5 s timeout
# (infra/settings/function_specs.py). A timed-out invocation would lose the refresh's bookkeeping,
# so every request would retry it.
JWKS_FETCH_DEADLINE_SECONDS = 1.5

CANARY_EVENT_TYPE = "HEALTH_CANARY"

counter = EmfCounter()


class Unauthorized(Exception):
    """Raised to make API Gateway answer 401; it matches the message exactly."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


class AuthorizerFailed(Exception):
    """Fails the invocation (API Gateway answers 500, caches nothing); names only the reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"authorizer could not decide: {reason}")
        self.reason = reason


@cache
def authorizer() -> Authorizer:
    """Built on first use and kept warm: keys and the revocation list live across invocations."""
    settings = AuthorizerSettings.from_env()
    dynamodb = aws.client("dynamodb", settings.table.region, aws.REQUEST_PATH)
    keys = key_cache_for(settings.auth, deadline=JWKS_FETCH_DEADLINE_SECONDS)
    return Authorizer(
        TokenVerifier(keys, settings.auth.issuers, settings.auth.audience),
        RevocationList(partial(load_revoked_token_ids, dynamodb, settings.table.table_name)),
        region=settings.table.region,
    )


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    counter.count_cold_start(context.function_name)
    if isinstance(event, dict) and event.get("type") == CANARY_EVENT_TYPE:
        # Only a direct Invoke can send this (API Gateway's TOKEN events are typed "TOKEN"):
        # the health function's proof that this alias, its code and its reads work.
        return authorizer().canary().as_json()
    decision, response = _authorize(event if isinstance(event, dict) else {})
    _record(decision)
    if decision.outcome is Outcome.UNAUTHORIZED:
        raise Unauthorized()
    if decision.outcome is Outcome.FAILED:
        raise AuthorizerFailed(decision.reason)
    return response


def _authorize(event: dict[str, Any]) -> tuple[Decision, dict[str, Any]]:
    try:
        auth = authorizer()
        decision = auth.decide(event.get("authorizationToken"))
        if decision.outcome is Outcome.ALLOW and decision.token is not None:
            context = caller_context(decision.token, auth.region)
            return decision, allow_stage(event.get("methodArn"), decision.token.subject, context)
    except ConfigurationError as exc:
        logger.error("Authorizer is misconfigured", extra={"error": str(exc)})
        decision = Decision.deny(DenyReason.MISCONFIGURED)
    except InvalidMethodArn:
        decision = Decision.deny(DenyReason.INVALID_METHOD_ARN)
    except Exception as exc:
        # Type and stack only: an exception message is not guaranteed to be free of the token.
        failure = {"errorType": type(exc).__name__, "stack": traceback.format_tb(exc.__traceback__)}
        logger.error("Authorizer failed unexpectedly", extra=failure)
        decision = Decision.fail(FailureReason.ERROR)
    return decision, deny_all()


def _record(decision: Decision) -> None:
    if decision.reason == DenyReason.MISCONFIGURED:
        counter.count(MISCONFIGURED_METRICS, reason=decision.reason)
    else:
        counter.count(METRIC_BY_OUTCOME[decision.outcome], reason=decision.reason)
    subject = decision.token.subject if decision.token else None
    if decision.outcome is Outcome.ALLOW:
        logger.debug("Allowed", extra={"subject": subject})
    else:
        outcome = {"outcome": decision.outcome.value, "reason": decision.reason, "subject": subject}
        if decision.outcome is Outcome.FAILED:
            logger.warning("Could not decide; failing the invocation", extra=outcome)
        else:
            logger.info("Denied", extra=outcome)
