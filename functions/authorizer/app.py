"""REST API TOKEN authorizer: `Authorization: Bearer <JWT>` in, IAM policy (or 401) out.

Any failure denies: a missing or invalid token raises `Unauthorized` (API Gateway answers 401),
anything else gets an explicit Deny (403). Tokens are never logged.
"""

from __future__ import annotations

import traceback
from functools import cache, partial
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.authorizer.core import Authorizer, Decision, DenyReason, Outcome
from functions.authorizer.policy import InvalidMethodArn, allow_stage, caller_context, deny_all
from functions.authorizer.revocations import RevocationList
from functions.authorizer.store import load_revoked_token_ids
from functions.authorizer.tokens import TokenVerifier
from functions.shared import aws
from functions.shared.jwks import key_cache_for
from functions.shared.observability import logger, metrics, tracer
from functions.shared.settings import AuthorizerSettings, ConfigurationError

METRIC_BY_OUTCOME = {
    Outcome.ALLOW: "AuthorizerAllow",
    Outcome.UNAUTHORIZED: "AuthorizerDeny",
    Outcome.DENY: "AuthorizerDeny",
}
ERROR_METRIC = "AuthorizerError"
# Failures of the authorizer itself (the Region's "authorizer-errors" alarm counts these);
# a denied token is not one.
ERROR_REASONS = (DenyReason.ERROR, DenyReason.MISCONFIGURED)
# With the revocation client's budget (aws.REQUEST_PATH) this keeps the slowest request, a JWKS
# fetch plus a revocation refresh, inside the function's 5 s timeout (infra/regional.py). A
# timed-out invocation would lose the refresh's bookkeeping, so every request would retry it.
JWKS_FETCH_TIMEOUT_SECONDS = 1.5


class Unauthorized(Exception):
    """Raised to make API Gateway answer 401; it matches the message exactly."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


@cache
def authorizer() -> Authorizer:
    """Built on first use and kept warm: keys and the revocation list live across invocations."""
    settings = AuthorizerSettings.from_env()
    dynamodb = aws.client("dynamodb", settings.table.region, aws.REQUEST_PATH)
    keys = key_cache_for(settings.auth, timeout=JWKS_FETCH_TIMEOUT_SECONDS)
    return Authorizer(
        TokenVerifier(keys, settings.auth.issuers, settings.auth.audience),
        RevocationList(partial(load_revoked_token_ids, dynamodb, settings.table.table_name)),
        region=settings.table.region,
    )


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    decision, response = _authorize(event if isinstance(event, dict) else {})
    _record(decision)
    if decision.outcome is Outcome.UNAUTHORIZED:
        raise Unauthorized()
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
        decision = Decision.deny(DenyReason.ERROR)
    return decision, deny_all()


def _record(decision: Decision) -> None:
    metrics.add_dimension(name="reason", value=decision.reason)
    metrics.add_metric(name=METRIC_BY_OUTCOME[decision.outcome], unit=MetricUnit.Count, value=1)
    if decision.reason in ERROR_REASONS:
        metrics.add_metric(name=ERROR_METRIC, unit=MetricUnit.Count, value=1)
    subject = decision.token.subject if decision.token else None
    if decision.outcome is Outcome.ALLOW:
        logger.debug("Allowed", extra={"subject": subject})
    else:
        denial = {"outcome": decision.outcome.value, "reason": decision.reason, "subject": subject}
        logger.info("Denied", extra=denial)
