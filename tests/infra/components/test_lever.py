"""The data-plane lever: the secondary Region's out-of-service alarm and the CLOUDWATCH_METRIC
health check on it."""

from __future__ import annotations

import json

from infra.mockrun import ProgramRun
from tests.infra.plan import APP, RunProgram


def test_lever_alarm_in_the_secondary_region(default_run: ProgramRun) -> None:
    alarm = default_run.named("lever-alarm")
    assert alarm.region == "us-west-2"
    inputs = alarm.inputs
    assert inputs["name"] == f"{APP}-primary-out-of-service"
    # Its own namespace: the operator may publish there and nowhere else.
    assert (inputs["namespace"], inputs["metricName"]) == (
        "MultiRegionAuthorizer/Lever",
        "PrimaryOutOfService",
    )
    assert inputs["dimensions"] == {"App": APP}
    # Route 53 alarms: a standard-resolution metric and one of Average/Min/Max/Sum/SampleCount.
    assert (inputs["statistic"], inputs["period"]) == ("Maximum", 60)
    assert (inputs["comparisonOperator"], inputs["threshold"]) == (
        "GreaterThanOrEqualToThreshold",
        1,
    )
    assert (inputs["evaluationPeriods"], inputs["datapointsToAlarm"]) == (1, 1)
    # Without new data the lever stays where an operator set it.
    assert inputs["treatMissingData"] == "ignore"


def test_lever_alarm_follows_the_configured_secondary(run_with: RunProgram) -> None:
    run = run_with(primaryRegion="us-west-2", secondaryRegion="eu-west-1")
    assert run.named("lever-alarm").region == "eu-west-1"
    check = run.named("dns-primary-out-of-service-check")
    assert check.inputs["cloudwatchAlarmRegion"] == "eu-west-1"


def test_lever_check_watches_the_alarm_and_is_tagged_like_the_others(
    default_run: ProgramRun,
) -> None:
    check = default_run.named("dns-primary-out-of-service-check")
    alarm = default_run.named("lever-alarm")
    assert check.region == "us-east-1"  # Route 53's home, like the other checks
    assert check.inputs["type"] == "CLOUDWATCH_METRIC"
    # The AlarmIdentifier: the lever's alarm, in the secondary Region.
    assert check.inputs["cloudwatchAlarmName"] == alarm.inputs["name"]
    assert check.inputs["cloudwatchAlarmRegion"] == "us-west-2"
    assert alarm.urn in check.dependencies  # the alarm exists before the check names it
    assert check.inputs["insufficientDataHealthStatus"] == "LastKnownStatus"
    for endpoint_only in ("fqdn", "port", "resourcePath", "requestInterval"):
        assert endpoint_only not in check.inputs
    # Route 53 copies the alarm's settings only when the check is created or updated.
    assert json.loads(check.replacement_trigger) == {
        "namespace": "MultiRegionAuthorizer/Lever",
        "metric_name": "PrimaryOutOfService",
        "dimensions": {"App": APP},
        "statistic": "Maximum",
        "period": 60,
        "evaluation_periods": 1,
        "datapoints_to_alarm": 1,
        "threshold": 1,
        "comparison_operator": "GreaterThanOrEqualToThreshold",
    }
    primary_tags = default_run.named("dns-primary-health-check").inputs["tags"]
    assert check.inputs["tags"] == {
        **primary_tags,
        "Name": f"{APP}-primary-out-of-service",
        "AlarmName": f"{APP}-primary-out-of-service",
    }
