"""Route 53's data plane in the emulator: health-check status by type, records read in-process."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from opsctl.sandbox.emulator import Emulator
from opsctl.sandbox.route53.data_plane import METRIC_CHECK_LAG_SECONDS

LEVER_ALARM = "app-primary-out-of-service"


@pytest.fixture
def route53(aws_endpoint: str) -> Any:
    return boto3.client("route53", region_name="us-east-1")


@pytest.fixture
def lever_alarm(aws_endpoint: str) -> Any:
    """The lever's alarm in the secondary Region, as the program declares it."""
    cloudwatch = boto3.client("cloudwatch", region_name="us-west-2")
    cloudwatch.put_metric_alarm(
        AlarmName=LEVER_ALARM, Namespace="MultiRegionAuthorizer/Lever",
        MetricName="PrimaryOutOfService",
        Dimensions=[{"Name": "App", "Value": "app"}], Statistic="Maximum", Period=60,
        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="ignore",
    )  # fmt: skip
    return cloudwatch


def set_alarm(cloudwatch: Any, state: str) -> None:
    cloudwatch.set_alarm_state(AlarmName=LEVER_ALARM, StateValue=state, StateReason="test")


def metric_check(route53: Any, insufficient: str = "LastKnownStatus", **extra: Any) -> str:
    config = {
        "Type": "CLOUDWATCH_METRIC",
        "AlarmIdentifier": {"Region": "us-west-2", "Name": LEVER_ALARM},
        "InsufficientDataHealthStatus": insufficient,
        **extra,
    }
    created = route53.create_health_check(CallerReference=insufficient, HealthCheckConfig=config)
    return str(created["HealthCheck"]["Id"])


def http_check(route53: Any) -> str:
    config = {
        "Type": "HTTPS", "FullyQualifiedDomainName": "api.example.com", "Port": 443,
        "ResourcePath": "/prod/health", "RequestInterval": 10, "FailureThreshold": 3,
    }  # fmt: skip
    return str(
        route53.create_health_check(CallerReference="http", HealthCheckConfig=config)[
            "HealthCheck"
        ]["Id"]
    )


def test_a_metric_check_keeps_what_moto_drops(route53: Any, lever_alarm: Any) -> None:
    check_id = metric_check(route53)
    config = route53.get_health_check(HealthCheckId=check_id)["HealthCheck"]["HealthCheckConfig"]
    assert config["AlarmIdentifier"] == {"Region": "us-west-2", "Name": LEVER_ALARM}
    assert config["InsufficientDataHealthStatus"] == "LastKnownStatus"
    assert "Port" not in config and "RequestInterval" not in config  # no endpoint to probe
    listed = route53.list_health_checks()["HealthChecks"]
    assert listed[0]["HealthCheckConfig"]["AlarmIdentifier"]["Name"] == LEVER_ALARM


# The metric data stream and Route 53's evaluation of it on a clock the test steps: a minute's
# period and lag as on AWS, datapoints stamped in that clock's past, no waiting.
LAG = METRIC_CHECK_LAG_SECONDS
PERIOD = 60.0


@dataclass
class SteppedClock:
    now: float

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> SteppedClock:
    stepped = SteppedClock(time.time() - 3600)
    monkeypatch.setattr(emulator.data_plane, "time_scale", 1.0)
    monkeypatch.setattr(emulator.data_plane, "clock", stepped)
    return stepped


def publish(cloudwatch: Any, value: float, at: float) -> None:
    """The lever's datapoint stamped `at` (epoch seconds), as opsctl's lever stamps its own."""
    cloudwatch.put_metric_data(
        Namespace="MultiRegionAuthorizer/Lever",
        MetricData=[{"MetricName": "PrimaryOutOfService",
                     "Dimensions": [{"Name": "App", "Value": "app"}], "Value": value,
                     "Timestamp": datetime.fromtimestamp(at, UTC)}],
    )  # fmt: skip


def test_set_alarm_state_does_not_move_a_metric_check(
    route53: Any, lever_alarm: Any, clock: SteppedClock, emulator: Emulator
) -> None:
    check_id = metric_check(route53)
    set_alarm(lever_alarm, "ALARM")  # an operator's SetAlarmState, no datapoint
    clock.now += 2 * LAG
    assert emulator.data_plane.healthy(check_id)
    statuses = route53.get_health_check_status(HealthCheckId=check_id)
    reports = [o["StatusReport"]["Status"] for o in statuses["HealthCheckObservations"]]
    assert reports and all(report.startswith("Success") for report in reports)


def test_a_datapoint_makes_a_metric_check_unhealthy_after_the_lag(
    route53: Any, lever_alarm: Any, clock: SteppedClock, emulator: Emulator
) -> None:
    healthy = emulator.data_plane.healthy
    check_id = metric_check(route53)
    set_alarm(lever_alarm, "OK")
    engaged = clock.now
    publish(lever_alarm, 1.0, at=engaged)  # the lever engaged
    clock.now = engaged + LAG - 1
    assert healthy(check_id)  # Route 53 has not read it yet
    clock.now = engaged + LAG + 1
    assert not healthy(check_id)
    statuses = route53.get_health_check_status(HealthCheckId=check_id)
    reports = [o["StatusReport"]["Status"] for o in statuses["HealthCheckObservations"]]
    assert reports and all(report.startswith("Failure") for report in reports)
    # The datapoint leaves the window: LastKnownStatus keeps the check unhealthy, although the
    # alarm (TreatMissingData ignore) and SetAlarmState say otherwise.
    set_alarm(lever_alarm, "OK")
    clock.now = engaged + LAG + 2 * PERIOD
    assert not healthy(check_id)
    released = engaged + 3 * PERIOD
    publish(lever_alarm, 0.0, at=released)
    clock.now = released + LAG - 1
    assert not healthy(check_id)
    clock.now = released + LAG + 1
    assert healthy(check_id)


@pytest.mark.parametrize(("insufficient", "expected"), [("Healthy", True), ("Unhealthy", False)])
def test_insufficient_data_takes_the_configured_status(
    route53: Any, lever_alarm: Any, clock: SteppedClock, emulator: Emulator,
    insufficient: str, expected: bool,
) -> None:  # fmt: skip
    check_id = metric_check(route53, insufficient)
    set_alarm(lever_alarm, "ALARM" if expected else "OK")  # no data: the state plays no part
    assert emulator.data_plane.healthy(check_id) is expected


def test_a_metric_check_on_a_missing_alarm_has_insufficient_data(
    route53: Any, emulator: Emulator
) -> None:
    assert not emulator.data_plane.healthy(metric_check(route53, "Unhealthy"))


def test_inverted_and_disabled_checks(
    route53: Any, lever_alarm: Any, clock: SteppedClock, emulator: Emulator
) -> None:
    publish(lever_alarm, 1.0, at=clock.now)
    clock.now += LAG + 1
    assert emulator.data_plane.healthy(metric_check(route53, "Healthy", Inverted=True))
    assert emulator.data_plane.healthy(metric_check(route53, "Unhealthy", Disabled=True))


def test_a_calculated_check_counts_its_healthy_children_against_the_threshold(
    route53: Any, lever_alarm: Any, clock: SteppedClock, emulator: Emulator
) -> None:
    # The auto-failover shape: the endpoint check AND the lever, both required.
    endpoint, lever = http_check(route53), metric_check(route53)

    def calculated(threshold: int) -> str:
        config = {"Type": "CALCULATED", "ChildHealthChecks": [endpoint, lever],
                  "HealthThreshold": threshold}  # fmt: skip
        created = route53.create_health_check(
            CallerReference=f"c{threshold}", HealthCheckConfig=config
        )
        return str(created["HealthCheck"]["Id"])

    both, either = calculated(2), calculated(1)
    data_plane = emulator.data_plane
    healthy = data_plane.healthy
    assert healthy(endpoint)  # no checker has reported yet: healthy, as Route 53 starts
    assert healthy(both) and healthy(either)
    data_plane.record_checkers(endpoint, False)
    assert not healthy(both) and healthy(either)
    publish(lever_alarm, 1.0, at=clock.now)
    clock.now += LAG + 1
    assert not healthy(either)
    data_plane.record_checkers(endpoint, True)
    publish(lever_alarm, 0.0, at=clock.now + PERIOD)
    clock.now += PERIOD + LAG + 1
    assert healthy(both)


def test_records_are_read_in_process(route53: Any, emulator: Emulator) -> None:
    zone_id = route53.create_hosted_zone(Name="example.com", CallerReference="z")["HostedZone"][
        "Id"
    ].rsplit("/", 1)[-1]
    record = {"Name": "auth.example.com.", "Type": "A", "SetIdentifier": "us-east-1",
              "Weight": 100, "HealthCheckId": "hc-1",
              "AliasTarget": {"HostedZoneId": "Z1UJRXOUMOOFQ8", "EvaluateTargetHealth": False,
                              "DNSName": "d-east.execute-api.us-east-1.amazonaws.com"}}  # fmt: skip
    route53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": record}]},
    )
    (found,) = emulator.data_plane.records(zone_id, "AUTH.example.com", "A")
    assert (found["Weight"], found["HealthCheckId"]) == (100, "hc-1")
    assert found["AliasTarget"]["DNSName"] == "d-east.execute-api.us-east-1.amazonaws.com."
    assert emulator.data_plane.records(zone_id, "auth.example.com", "AAAA") == []
