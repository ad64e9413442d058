"""Readers for each signal opsctl judges a Region by, and the helper that runs reads concurrently.

Each reader is one AWS call (a few for the authorizer's concurrency) and returns the value it
read; judging it is for status and readiness. status, readiness and the shift preflight all
combine them; they run
them through `gather`, so adding a signal adds no round trip to the wall time.

`gather` runs each read on its own daemon thread rather than in a ThreadPoolExecutor: an executor
joins its workers when it is left and again at interpreter exit, so with AWS not answering one
Ctrl-C waited for every hung read to time out (tens of seconds), and a second one printed the
threading module's traceback. Daemon threads are left behind; the process exits at once.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, wait
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from botocore.exceptions import ClientError

from opsctl.aws import AwsClients, client_error_code, translate_aws_errors
from opsctl.errors import AwsUnreachable, InputError, OpsctlError

if TYPE_CHECKING:
    from stack_topology import RegionTopology

T = TypeVar("T")

# Route 53 publishes HealthCheckStatus once a minute (1 healthy, 0 unhealthy). A Region counts as
# healthy when the Minimum of the newest 1-minute datapoint is 1: one unhealthy sample in that
# minute is enough to call it unhealthy, which is the safe reading both for "should we leave it" and
# "may we send traffic back to it".
HEALTH_METRIC_PERIOD = 60
HEALTH_LOOKBACK = timedelta(minutes=10)

# Seconds a round of concurrent reads (status, readiness, the failover probe of Route 53's
# control plane) waits for its answers: a Region that black-holes connections costs this, not the
# SDK's minute of timeouts and retries (its reads are left behind). OPSCTL_READ_DEADLINE overrides.
READ_DEADLINE = 3.5
READ_DEADLINE_ENV = "OPSCTL_READ_DEADLINE"
# What OPSCTL_READ_DEADLINE may be: long enough for one slow round trip, short enough that a
# Region that does not answer never stalls a command for more than minutes (and far below what
# the wait itself can represent).
READ_DEADLINE_RANGE = (0.1, 600.0)


def read_deadline() -> float:
    """READ_DEADLINE, or OPSCTL_READ_DEADLINE when set (seconds, within READ_DEADLINE_RANGE)."""
    configured = os.environ.get(READ_DEADLINE_ENV)
    if not configured:
        return READ_DEADLINE
    try:
        seconds = float(configured)
    except ValueError:
        seconds = math.nan
    low, high = READ_DEADLINE_RANGE
    if not low <= seconds <= high:  # NaN fails too
        raise InputError(
            f"{READ_DEADLINE_ENV} must be a number of seconds from {low:g} to {high:g}, "
            f"got {configured!r}"
        )
    return seconds


@dataclass(frozen=True)
class AlarmState:
    name: str
    state: str | None  # None: no such alarm
    since: str | None  # ISO 8601 of the last state change
    # In ALARM with no datapoint evaluated: missing data treated as breaching (a late metric).
    missing_data: bool = False


def _for_missing_data(alarm: Mapping[str, Any]) -> bool:
    """An ALARM that no datapoint crossed: CloudWatch's StateReasonData lists the datapoints it
    evaluated (`recentDatapoints`), none when missing data alone was treated as breaching."""
    if alarm.get("StateValue") != "ALARM":
        return False
    try:
        data = json.loads(alarm.get("StateReasonData") or "{}")
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("recentDatapoints") == []


@dataclass(frozen=True)
class CheckerCounts:
    healthy: int
    total: int


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """A concurrent read's value, or the error that replaced it."""

    value: T | None
    error: OpsctlError | None = None


def gather(
    tasks: Mapping[str, Callable[[], T]], timeout: float | None = None
) -> dict[str, Outcome[T]]:
    """Run every read at once; a failing read yields its error instead of sinking the others.

    With `timeout`, a read still running after that many seconds yields an AwsUnreachable and is
    left behind (its thread ends with the SDK's own timeouts). A Ctrl-C while waiting propagates
    at once. Any other exception in a read (something opsctl did not foresee in what a source
    returned) makes that source unreadable with the exception as its reason: one source never
    sinks the others.
    """

    def run(key: str, task: Callable[[], T], future: Future[Outcome[T]]) -> None:
        try:
            future.set_result(Outcome(task()))
        except OpsctlError as error:
            future.set_result(Outcome(None, error))
        except Exception as error:
            unexpected = OpsctlError(
                f"reading {key} failed: unexpected {type(error).__name__}: {error}"
            )
            future.set_result(Outcome(None, unexpected))
        except BaseException as error:  # SystemExit and the like: re-raised in the waiter
            future.set_exception(error)

    futures: dict[str, Future[Outcome[T]]] = {key: Future() for key in tasks}
    for key, task in tasks.items():
        threading.Thread(
            target=run, args=(key, task, futures[key]), name=f"opsctl-read-{key}", daemon=True
        ).start()
    wait(futures.values(), timeout=timeout)
    return {
        key: future.result()
        if future.done()
        else Outcome(None, AwsUnreachable(f"no answer within {timeout:g}s while reading {key}"))
        for key, future in futures.items()
    }


def iso_time(value: Any) -> str | None:
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return None if value is None else str(value)


def read_health_metrics(cloudwatch: Any, health_check_ids: Iterable[str]) -> dict[str, bool | None]:
    """Health per health check from AWS/Route53 HealthCheckStatus (us-east-1), in one call.

    None means no datapoint in the lookback window (a new or deleted check, or no metric yet).
    """
    ids = list(health_check_ids)
    # Minute-aligned window ending at the end of the current minute: the newest bucket holds what
    # has been published so far this minute (CloudWatch also answers aligned periods fastest).
    now = datetime.now(UTC)
    end = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    queries = [
        {
            "Id": f"hc{index}",
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/Route53",
                    "MetricName": "HealthCheckStatus",
                    "Dimensions": [{"Name": "HealthCheckId", "Value": hc_id}],
                },
                "Period": HEALTH_METRIC_PERIOD,
                "Stat": "Minimum",
            },
            "ReturnData": True,
        }
        for index, hc_id in enumerate(ids)
    ]
    with translate_aws_errors("reading the HealthCheckStatus metric"):
        response = cloudwatch.get_metric_data(
            MetricDataQueries=queries,
            StartTime=end - HEALTH_LOOKBACK,
            EndTime=end,
            ScanBy="TimestampDescending",
        )
    latest: dict[str, bool | None] = dict.fromkeys(ids)
    for result in response.get("MetricDataResults", []):
        values = result.get("Values") or []
        if values:
            latest[ids[int(result["Id"][2:])]] = values[0] >= 1
    return latest


def read_checker_counts(route53: Any, health_check_id: str) -> CheckerCounts:
    """GetHealthCheckStatus: how many Route 53 checkers currently see the endpoint healthy."""
    with translate_aws_errors(f"reading the checkers of health check {health_check_id}"):
        response = route53.get_health_check_status(HealthCheckId=health_check_id)
    observations = response.get("HealthCheckObservations", [])
    healthy = sum(
        1
        for observation in observations
        if str(observation.get("StatusReport", {}).get("Status", "")).startswith("Success")
    )
    return CheckerCounts(healthy=healthy, total=len(observations))


def read_alarms(cloudwatch: Any, names: Iterable[str]) -> dict[str, AlarmState]:
    """Metric or composite alarms by name, in one call; missing alarms have state None."""
    wanted = list(dict.fromkeys(names))
    found: dict[str, AlarmState] = {name: AlarmState(name, None, None) for name in wanted}
    with translate_aws_errors(f"reading alarms {', '.join(wanted)}"):
        response = cloudwatch.describe_alarms(
            AlarmNames=wanted, AlarmTypes=["MetricAlarm", "CompositeAlarm"]
        )
    for alarm in [*response.get("MetricAlarms", []), *response.get("CompositeAlarms", [])]:
        if alarm["AlarmName"] in found:
            found[alarm["AlarmName"]] = AlarmState(
                name=alarm["AlarmName"],
                state=alarm.get("StateValue"),
                # StateUpdatedTimestamp moves on any update, a new reason in the same state too.
                since=iso_time(alarm.get("StateTransitionedTimestamp")),
                missing_data=_for_missing_data(alarm),
            )
    return found


def read_accelerated_recovery(route53: Any, hosted_zone_id: str) -> str | None:
    """GetHostedZone's `Features.AcceleratedRecoveryStatus` (ENABLED, DISABLED, ENABLING, ...);
    None when Route 53 reports no features for the zone."""
    with translate_aws_errors(f"reading hosted zone {hosted_zone_id}"):
        zone = route53.get_hosted_zone(Id=hosted_zone_id)["HostedZone"]
    status = zone.get("Features", {}).get("AcceleratedRecoveryStatus")
    return None if status is None else str(status)


@dataclass(frozen=True)
class SwitchReading:
    value: str | None  # None: the parameter does not exist
    version: int  # the SSM parameter version read; 0 when it does not exist


def read_failure_switch_version(ssm: Any, parameter: str) -> SwitchReading:
    """The Region's failure switch value and its parameter version (`name:version` reads an
    older version)."""
    with translate_aws_errors(f"reading failure switch {parameter}"):
        try:
            found = ssm.get_parameter(Name=parameter)["Parameter"]
        except ClientError as error:
            if client_error_code(error) == "ParameterNotFound":
                return SwitchReading(None, 0)
            raise
    return SwitchReading(str(found["Value"]), int(found["Version"]))


def read_failure_switch(ssm: Any, parameter: str) -> str | None:
    """The Region's failure switch value; None when the parameter does not exist."""
    return read_failure_switch_version(ssm, parameter).value


# Capacity: what each Region runs with, for readiness to compare --------------------------------

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
