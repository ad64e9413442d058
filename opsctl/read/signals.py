"""Readers for each signal opsctl judges a Region by: its health metric and checkers, its alarms,
its failure switch, the zone's accelerated recovery.

Each reader is one AWS call and returns the value it read; judging it is for status and
readiness. status, readiness and the shift preflight all combine them; they run them through
`opsctl.read.concurrent_reads.gather`, so adding a signal adds no round trip to the wall time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from opsctl.aws import client_error_code, translate_aws_errors

# Route 53 publishes HealthCheckStatus once a minute (1 healthy, 0 unhealthy). A Region counts as
# healthy when the Minimum of the newest 1-minute datapoint is 1: one unhealthy sample in that
# minute is enough to call it unhealthy, which is the safe reading both for "should we leave it" and
# "may we send traffic back to it".
HEALTH_METRIC_PERIOD = 60
HEALTH_LOOKBACK = timedelta(minutes=10)


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
