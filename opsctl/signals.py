"""Readers for each signal opsctl judges a Region by, and the helper that runs reads concurrently.

Each reader is one AWS call. status, readiness and the shift preflight all combine them; they run
them through `gather`, so adding a signal adds no round trip to the wall time.

`gather` runs each read on its own daemon thread rather than in a ThreadPoolExecutor: an executor
joins its workers when it is left and again at interpreter exit, so with AWS not answering one
Ctrl-C waited for every hung read to time out (tens of seconds), and a second one printed the
threading module's traceback. Daemon threads are left behind; the process exits at once.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, wait
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from botocore.exceptions import ClientError

from opsctl.aws import client_error_code, translate_aws_errors
from opsctl.errors import AwsUnreachable, InputError, OpsctlError

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


def read_deadline() -> float:
    """READ_DEADLINE, or OPSCTL_READ_DEADLINE when set (seconds, > 0)."""
    configured = os.environ.get(READ_DEADLINE_ENV)
    if not configured:
        return READ_DEADLINE
    try:
        seconds = float(configured)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < float("inf"):
        raise InputError(f"{READ_DEADLINE_ENV} must be a number of seconds > 0, got {configured!r}")
    return seconds


ALARM_STATES = ("OK", "ALARM", "INSUFFICIENT_DATA")
SWITCH_VALUES = ("healthy", "failing")


@dataclass(frozen=True)
class AlarmState:
    name: str
    state: str | None  # None: no such alarm
    since: str | None  # ISO 8601 of the last state change


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
    at once. Any other exception in a read (a bug) is re-raised here.
    """

    def run(task: Callable[[], T], future: Future[Outcome[T]]) -> None:
        try:
            future.set_result(Outcome(task()))
        except OpsctlError as error:
            future.set_result(Outcome(None, error))
        except BaseException as error:  # a bug: re-raised in the waiting thread
            future.set_exception(error)

    futures: dict[str, Future[Outcome[T]]] = {key: Future() for key in tasks}
    for key, task in tasks.items():
        threading.Thread(
            target=run, args=(task, futures[key]), name=f"opsctl-read-{key}", daemon=True
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
                since=iso_time(alarm.get("StateUpdatedTimestamp")),
            )
    return found


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
