"""What each Region runs with, for readiness to compare: Lambda's account concurrency, the
authorizer's reserved and provisioned concurrency, the stage's throttling, the table's status and
its replication latency, all read concurrently under the read deadline (`read_capacity`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from opsctl.aws import AwsClients, translate_aws_errors
from opsctl.errors import OpsctlError
from opsctl.read.concurrent_reads import Outcome, gather, read_deadline

if TYPE_CHECKING:
    from stack_topology import RegionTopology

_EXECUTE_API = re.compile(
    r"^https://([a-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com(?::\d+)?/([^/]+)"
)
_FUNCTION_IN_URI = re.compile(r"/functions/(arn:aws[^/]*:lambda:[^/]+)/invocations$")


@dataclass(frozen=True)
class AccountConcurrency:
    """Lambda's concurrency limit for the account in one Region (the "Concurrent executions"
    quota) and the part of it not reserved for individual functions."""

    limit: int
    unreserved: int


@dataclass(frozen=True)
class AuthorizerConcurrency:
    function: str
    reserved: int | None  # None: unreserved (draws on the account pool)
    provisioned: int


@dataclass(frozen=True)
class StageThrottling:
    rate_limit: float | None  # None: no stage-wide limit set (account limits apply)
    burst_limit: int | None


def rest_api_of(api_url: str) -> tuple[str, str] | None:
    """(restApiId, stage) from an execute-api invoke URL; None for custom domains, local fronts."""
    match = _EXECUTE_API.match(api_url)
    return (match.group(1), match.group(2)) if match else None


def _require_rest_api(api_url: str) -> tuple[str, str]:
    api = rest_api_of(api_url)
    if api is None:
        raise OpsctlError(f"apiUrl {api_url or '(empty)'} is not an execute-api URL")
    return api


def read_account_concurrency(lambda_: Any) -> AccountConcurrency:
    """From Lambda's GetAccountSettings, which answers in every account and Region (Service
    Quotas' GetServiceQuota has no value for a quota that was never raised)."""
    with translate_aws_errors("reading the Lambda account settings"):
        limit = lambda_.get_account_settings()["AccountLimit"]
    return AccountConcurrency(
        limit=int(limit["ConcurrentExecutions"]),
        unreserved=int(limit["UnreservedConcurrentExecutions"]),
    )


def read_authorizer_concurrency(
    apigateway: Any, lambda_: Any, api_url: str
) -> AuthorizerConcurrency:
    api = _require_rest_api(api_url)
    with translate_aws_errors("reading the API's authorizer"):
        items = apigateway.get_authorizers(restApiId=api[0]).get("items", [])
        functions = [
            match.group(1)
            for item in items
            if (match := _FUNCTION_IN_URI.search(item.get("authorizerUri", "")))
        ]
        if not functions:
            raise OpsctlError(f"REST API {api[0]} has no Lambda authorizer")
        function = functions[0]
        # The URI names arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>].
        # Reserved concurrency belongs to the whole function, and ListProvisionedConcurrency-
        # Configs takes only the unqualified function: it lists every version's and alias's
        # config, of which only the qualifier API Gateway invokes serves the authorizer.
        unqualified = ":".join(function.split(":")[:7])
        qualifier = function.split(":")[7] if function.count(":") == 7 else None
        reserved = lambda_.get_function_concurrency(FunctionName=unqualified).get(
            "ReservedConcurrentExecutions"
        )
        provisioned = 0
        for page in lambda_.get_paginator("list_provisioned_concurrency_configs").paginate(
            FunctionName=unqualified
        ):
            provisioned += sum(
                int(c.get("AllocatedProvisionedConcurrentExecutions", 0))
                for c in page.get("ProvisionedConcurrencyConfigs", [])
                if qualifier is not None and c.get("FunctionArn", "").split(":")[7:] == [qualifier]
            )
    return AuthorizerConcurrency(function, reserved, provisioned)


def read_stage_throttling(apigateway: Any, api_url: str) -> StageThrottling:
    api = _require_rest_api(api_url)
    with translate_aws_errors(f"reading stage {api[1]} of REST API {api[0]}"):
        stage = apigateway.get_stage(restApiId=api[0], stageName=api[1])
    settings = stage.get("methodSettings", {}).get("*/*", {})
    rate, burst = settings.get("throttlingRateLimit"), settings.get("throttlingBurstLimit")
    return StageThrottling(
        rate_limit=None if rate is None else float(rate),
        burst_limit=None if burst is None else int(burst),
    )


def read_table_status(dynamodb: Any, table: str) -> str:
    with translate_aws_errors(f"describing table {table}"):
        return str(dynamodb.describe_table(TableName=table)["Table"]["TableStatus"])


def read_replication_latency(cloudwatch: Any, table: str, receiving_region: str) -> float | None:
    """Newest 5-minute average of AWS/DynamoDB ReplicationLatency (ms) into receiving_region."""
    end = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    with translate_aws_errors("reading DynamoDB ReplicationLatency"):
        response = cloudwatch.get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "latency",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/DynamoDB",
                            "MetricName": "ReplicationLatency",
                            "Dimensions": [
                                {"Name": "TableName", "Value": table},
                                {"Name": "ReceivingRegion", "Value": receiving_region},
                            ],
                        },
                        "Period": 300,
                        "Stat": "Average",
                    },
                }
            ],
            StartTime=end - timedelta(minutes=30),
            EndTime=end,
            ScanBy="TimestampDescending",
        )
    values = response["MetricDataResults"][0].get("Values") or []
    return float(values[0]) if values else None


@dataclass(frozen=True)
class CapacityReadings:
    """What the Region that would take all traffic (`target`) and the other one run with, each
    read's value or the error that replaced it."""

    table: str
    target_account: Outcome[AccountConcurrency]
    other_account: Outcome[AccountConcurrency]
    target_authorizer: Outcome[AuthorizerConcurrency]
    other_authorizer: Outcome[AuthorizerConcurrency]
    target_throttling: Outcome[StageThrottling]
    other_throttling: Outcome[StageThrottling]
    target_table: Outcome[str]
    other_table: Outcome[str]
    latency: Outcome[float | None]  # ReplicationLatency into the target, ms

    @classmethod
    def unread(cls, table: str, error: OpsctlError) -> CapacityReadings:
        """Every read replaced by `error`: the whole gather overran its deadline."""
        missing: Outcome[Any] = Outcome(None, error)
        return cls(table, **{read.name: missing for read in fields(cls) if read.name != "table"})


def read_capacity(
    clients: AwsClients, target: RegionTopology, other: RegionTopology, table: str
) -> CapacityReadings:
    """Every capacity read of both Regions, concurrently, under the status deadline: a dark
    Region costs seconds, not the SDK's minute of retries."""

    # Each task makes its own clients: creating one is slow on a loaded machine, and inside the
    # tasks it counts against the deadline instead of delaying its start.
    def reads_of(region: RegionTopology) -> dict[str, Callable[[], Any]]:
        name = region.region
        return {
            "account": lambda: read_account_concurrency(clients.client("lambda", name)),
            "authorizer": lambda: read_authorizer_concurrency(
                clients.client("apigateway", name), clients.client("lambda", name), region.api_url
            ),
            "throttling": lambda: read_stage_throttling(
                clients.client("apigateway", name), region.api_url
            ),
            "table": lambda: read_table_status(clients.client("dynamodb", name), table),
        }

    tasks: dict[str, Callable[[], Any]] = {}
    for side, region in (("target", target), ("other", other)):
        tasks.update({f"{read}:{side}": task for read, task in reads_of(region).items()})
    # The metric lives in the sending Region, dimensioned by the receiving one.
    tasks["latency"] = lambda: read_replication_latency(
        clients.client("cloudwatch", other.region), table, target.region
    )
    out = gather(tasks, read_deadline())
    return CapacityReadings(
        table=table,
        target_account=out["account:target"],
        other_account=out["account:other"],
        target_authorizer=out["authorizer:target"],
        other_authorizer=out["authorizer:other"],
        target_throttling=out["throttling:target"],
        other_throttling=out["throttling:other"],
        target_table=out["table:target"],
        other_table=out["table:other"],
        latency=out["latency"],
    )
