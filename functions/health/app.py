"""GET /health: 200 when this Region can serve; 500 on a failed check or a `failing` switch."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache, partial

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parameters import SSMProvider
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.health.checks import (
    CHECK_BUDGET_SECONDS,
    Check,
    CheckResult,
    HealthReport,
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
JWKS_FETCH_DEADLINE_SECONDS = 0.8

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
    switch = SSMProvider(boto3_client=aws.client("ssm", region, aws.FAST_FAIL))
    keys = key_cache_for(settings.auth, deadline=JWKS_FETCH_DEADLINE_SECONDS)
    read_switch = partial(
        switch.get, settings.failure_switch_parameter, max_age=SWITCH_CACHE_SECONDS
    )
    return HealthRuntime(
        region=region,
        checks={
            "table": partial(table_readable, dynamodb, settings.table.table_name),
            "signingKeys": partial(signing_keys_loadable, keys),
            "failureSwitch": partial(failure_switch, read_switch),
        },
    )


def check_health() -> HealthReport:
    try:
        current = runtime()
    except ConfigurationError as exc:
        logger.error("Health function is misconfigured", extra={"error": str(exc)})
        region = os.environ.get("AWS_REGION", "unknown")
        return HealthReport(region, {"configuration": CheckResult(ok=False, detail=str(exc))})
    return HealthReport(current.region, run_checks(current.checks, CHECK_BUDGET_SECONDS))


@app.get("/health")
def health() -> Response:
    report = check_health()
    metrics.add_metric(name="RegionHealthy", unit=MetricUnit.Count, value=int(report.healthy))
    if not report.healthy:
        logger.warning("Region reports unhealthy", extra={"report": report.as_dict()})
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
