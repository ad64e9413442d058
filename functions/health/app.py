"""GET /health: 200 while this Region can serve (its body may say `degraded`); 500 when its
serving path fails or the failure switch says `failing`."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache, partial

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.health.checks import (
    CHECK_BUDGET_SECONDS,
    Check,
    CheckResult,
    CheckState,
    HealthReport,
    LastKnownSwitch,
    authorizer_answers,
    failure_switch,
    run_checks,
    signing_keys_loadable,
    table_readable,
)
from functions.shared import aws
from functions.shared.jwks import key_cache_for
from functions.shared.observability import logger, metrics
from functions.shared.settings import ConfigurationError, HealthSettings

# A drill (switch set to `failing`) takes effect within this many seconds.
SWITCH_CACHE_SECONDS = 5
# A switch read slower than this is answered with the last value read.
SWITCH_READ_DEADLINE_SECONDS = 0.5
JWKS_FETCH_DEADLINE_SECONDS = 0.8
# The canary must answer inside the check budget, a cold authorizer included.
CANARY_TIMEOUTS = aws.ClientTimeouts(connect=0.3, read=0.9, attempts=1)

app = APIGatewayRestResolver()


@dataclass(frozen=True)
class HealthRuntime:
    region: str
    checks: dict[str, Check]


@cache
def runtime() -> HealthRuntime:
    settings = HealthSettings.from_env()
    region = settings.table.region
    dynamodb = aws.client("dynamodb", region, aws.FAST_FAIL)
    lambda_client = aws.client("lambda", region, CANARY_TIMEOUTS)
    ssm = aws.client("ssm", region, aws.FAST_FAIL)
    keys = key_cache_for(settings.auth, deadline=JWKS_FETCH_DEADLINE_SECONDS)

    def read_switch() -> str:
        return str(ssm.get_parameter(Name=settings.failure_switch_parameter)["Parameter"]["Value"])

    switch = LastKnownSwitch(
        read_switch, max_age=SWITCH_CACHE_SECONDS, deadline=SWITCH_READ_DEADLINE_SECONDS
    )
    return HealthRuntime(
        region=region,
        checks={
            "table": Check(partial(table_readable, dynamodb, settings.table.table_name)),
            "authorizer": Check(
                partial(authorizer_answers, lambda_client, settings.authorizer_alias_arn, region)
            ),
            # Shared by both Regions: an identity provider outage is not this Region's failure.
            "signingKeys": Check(partial(signing_keys_loadable, keys), CheckState.DEGRADED),
            # SSM is not on the request path: an unreadable switch never fails the Region.
            "failureSwitch": Check(partial(failure_switch, switch), on_error=CheckState.DEGRADED),
        },
    )


def check_health() -> HealthReport:
    try:
        current = runtime()
    except ConfigurationError as exc:
        logger.error("Health function is misconfigured", extra={"error": str(exc)})
        region = os.environ.get("AWS_REGION", "unknown")
        return HealthReport(region, {"configuration": CheckResult(CheckState.FAILED, str(exc))})
    return HealthReport(current.region, run_checks(current.checks, CHECK_BUDGET_SECONDS))


# `/health` for Route 53's checkers; its twin `/health/signed` (AWS_IAM) for every other caller.
@app.get("/health")
@app.get("/health/signed")
def health() -> Response:
    report = check_health()
    metrics.add_metric(name="RegionHealthy", unit=MetricUnit.Count, value=int(report.healthy))
    if report.status != "healthy":
        logger.warning("Region reports " + report.status, extra={"report": report.as_dict()})
    return Response(
        status_code=200 if report.healthy else 500,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(report.as_dict()),
        headers={"Cache-Control": "no-store"},
    )


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
