"""Route 53-like checkers and CloudWatch-like alarm evaluation against the emulator."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from opsctl.sandbox.emulator import Emulator
from opsctl.sandbox.healthcheck import (
    AlarmEvaluator,
    CheckerState,
    HealthTarget,
    MathTerm,
    MetricMathSum,
    MetricSeries,
    Route53HealthCheckers,
    evaluate_alarm,
    evaluate_rule,
)
from tests.support.http import LoopbackServer, QuietHandler

HEALTH_ALARM = {
    "AlarmName": "app-primary-health",
    "Namespace": "AWS/Route53",
    "MetricName": "HealthCheckStatus",
    "Statistic": "Minimum",
    "Period": 60,
    "EvaluationPeriods": 1,
    "Threshold": 1.0,
    "ComparisonOperator": "LessThanThreshold",
    "TreatMissingData": "breaching",
}


def series_of(*points: tuple[float, float]) -> MetricSeries:
    series = MetricSeries()
    for stamp, value in points:
        series.add(stamp, value, retain_seconds=1e9)
    return series


def test_checker_flips_only_after_failure_threshold_consecutive_results() -> None:
    checker = CheckerState()
    checker.observe(False, 3)
    checker.observe(False, 3)
    assert checker.healthy
    checker.observe(True, 3)  # a success resets the streak
    for _ in range(3):
        checker.observe(False, 3)
    assert not checker.healthy
    checker.observe(True, 3)
    checker.observe(True, 3)
    checker.observe(True, 3)
    assert checker.healthy


def test_alarm_is_ok_on_healthy_datapoints_and_fires_on_one_zero() -> None:
    now = 1000.0
    healthy = series_of((now - 2, 1.0), (now - 1, 1.0))
    assert evaluate_alarm(HEALTH_ALARM, healthy, now, 0.05).state == "OK"
    failing = series_of((now - 2, 1.0), (now - 1, 0.0))
    evaluation = evaluate_alarm(HEALTH_ALARM, failing, now, 0.05)
    assert evaluation.state == "ALARM"
    assert "less than the threshold (1.0)" in evaluation.reason


def test_missing_data_follows_treat_missing_data() -> None:
    empty = MetricSeries()
    assert evaluate_alarm(HEALTH_ALARM, empty, 1000.0, 0.05).state == "ALARM"
    missing = {**HEALTH_ALARM, "TreatMissingData": "missing"}
    assert evaluate_alarm(missing, empty, 1000.0, 0.05).state == "INSUFFICIENT_DATA"
    assert (
        evaluate_alarm({**HEALTH_ALARM, "TreatMissingData": "ignore"}, empty, 1000.0, 0.05) is None
    )


def test_datapoints_to_alarm_of_evaluation_periods() -> None:
    alarm = {**HEALTH_ALARM, "EvaluationPeriods": 3, "DatapointsToAlarm": 2}
    now = 1000.0  # periods of 3 s at scale 0.05: [997,1000) [994,997) [991,994)
    one_bad = series_of((998, 0.0), (995, 1.0), (992, 1.0))
    assert evaluate_alarm(alarm, one_bad, now, 0.05).state == "OK"
    two_bad = series_of((998, 0.0), (995, 0.0), (992, 1.0))
    assert evaluate_alarm(alarm, two_bad, now, 0.05).state == "ALARM"


class SwitchableHealth:
    """A loopback /health endpoint whose answer the test flips."""

    def __init__(self) -> None:
        self.status = 200
        owner = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                self.reply(owner.status)

        self.server = LoopbackServer(Handler)

    @property
    def url(self) -> str:
        return f"{self.server.base_url}/prod/health"

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def health_endpoint() -> Iterator[SwitchableHealth]:
    endpoint = SwitchableHealth()
    yield endpoint
    endpoint.close()


def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def test_checkers_publish_status_and_the_alarm_follows_with_sns_notice(
    aws_endpoint: str, emulator: Emulator, health_endpoint: SwitchableHealth
) -> None:
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    sns = boto3.client("sns", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    topic = sns.create_topic(Name="app-alarms")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="alarm-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    cloudwatch.put_metric_alarm(
        **{k: v for k, v in HEALTH_ALARM.items()},
        Dimensions=[{"Name": "HealthCheckId", "Value": "hc-1"}],
        AlarmActions=[topic],
        OKActions=[topic],
    )
    target = HealthTarget("hc-1", health_endpoint.url, "api.example", 0.1, failure_threshold=2)
    checkers = Route53HealthCheckers([target], cloudwatch)
    evaluator = AlarmEvaluator(
        {"us-east-1": cloudwatch},
        {"us-east-1": sns},
        emulator.metrics,
        time_scale=0.02,
        tick_seconds=0.05,
    )
    checkers.start()
    evaluator.start()

    def alarm_state() -> str:
        return cloudwatch.describe_alarms(AlarmNames=["app-primary-health"])["MetricAlarms"][0][
            "StateValue"
        ]

    try:
        wait_for(lambda: alarm_state() == "OK")
        health_endpoint.status = 500
        wait_for(lambda: alarm_state() == "ALARM")
        health_endpoint.status = 200
        wait_for(lambda: alarm_state() == "OK")
    finally:
        evaluator.stop()
        checkers.stop()
    metrics = cloudwatch.list_metrics(Namespace="AWS/Route53", MetricName="HealthCheckStatus")
    assert metrics["Metrics"][0]["Dimensions"] == [{"Name": "HealthCheckId", "Value": "hc-1"}]
    notices = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    assert any("ALARM" in message["Body"] for message in notices)


def test_percentile_alarm_fires_on_the_slow_tail_only() -> None:
    latency_alarm = {
        "AlarmName": "app-primary-api-p99-latency",
        "ExtendedStatistic": "p99",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 2000.0,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
    }
    now = 1000.0
    fast = series_of(*((now - 1 - i * 0.01, 40.0) for i in range(100)))
    assert evaluate_alarm(latency_alarm, fast, now, 0.05).state == "OK"
    # Two slow requests in a hundred put p99 over the threshold; p50 stays fast.
    slow = series_of(
        *((now - 1 - i * 0.01, 40.0) for i in range(98)), (now - 0.5, 2500.0), (now - 0.4, 2600.0)
    )
    assert evaluate_alarm(latency_alarm, slow, now, 0.05).state == "ALARM"
    median = {**latency_alarm, "ExtendedStatistic": "p50"}
    assert evaluate_alarm(median, slow, now, 0.05).state == "OK"
    # No traffic is not an impairment: missing data is not breaching.
    assert evaluate_alarm(latency_alarm, MetricSeries(), now, 0.05).state == "OK"


def test_metric_math_sum_adds_every_member_metric() -> None:
    throttles = {
        "AlarmName": "app-primary-lambda-throttles",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 5.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
    }
    now = 1000.0
    authorizer = series_of((now - 1, 2.0), (now - 2, 1.0))
    api = series_of((now - 1, 1.0))
    health = series_of((now - 1, 1.0))

    def summed(*members: MetricSeries) -> MetricMathSum:
        return MetricMathSum(tuple(MathTerm(member, sum) for member in members))

    assert evaluate_alarm(throttles, summed(authorizer, api), now, 0.05).state == "OK"
    assert evaluate_alarm(throttles, summed(authorizer, api, health), now, 0.05).state == "ALARM"


def test_metric_math_sum_counts_a_missing_member_as_zero() -> None:
    """CloudWatch's arithmetic operators treat a missing value as 0: `e0 + e1` has a value in
    every period where either reason has datapoints, so 7 errors of one reason alone reach the
    threshold; a period where neither has any is missing data (TreatMissingData decides)."""
    errors = {
        "AlarmName": "app-primary-authorizer-errors",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 5.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
    }
    now = 1000.0
    error = series_of(*((now - 1 - i * 0.1, 1.0) for i in range(7)))
    misconfigured = series_of((now - 100, 1.0))  # published, but not in this period
    summed = MetricMathSum((MathTerm(error, sum), MathTerm(misconfigured, sum)))
    evaluation = evaluate_alarm(errors, summed, now, 0.05)
    assert evaluation is not None and evaluation.state == "ALARM"
    assert evaluation.reason_data["recentDatapoints"] == [7.0]
    # The period where only `misconfigured` has its one datapoint: 0 + 1.
    assert summed.value(now - 100.5, now - 99.5) == 1.0
    # Neither member has a datapoint: no sum at all, not a 0.
    assert summed.value(now - 50, now - 40) is None
    quiet = evaluate_alarm(errors, summed, now + 10, 0.05)
    assert quiet is not None and quiet.state == "OK"
    assert quiet.reason_data["recentDatapoints"] == []
    missing = evaluate_alarm({**errors, "TreatMissingData": "missing"}, summed, now + 10, 0.05)
    assert missing is not None and missing.state == "INSUFFICIENT_DATA"


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ('ALARM("a") OR ALARM("b")', True),
        ('ALARM("a") AND ALARM("b")', False),
        ('ALARM("a") AND NOT ALARM("b")', True),
        ('OK("b") AND (ALARM("c") OR ALARM("a"))', True),
        ("ALARM(arn:aws:cloudwatch:us-east-1:123456789012:alarm:b) OR FALSE", False),
        ('INSUFFICIENT_DATA("c")', True),
        ('ALARM("unknown")', False),
        ("NOT (ALARM(a) OR OK(b))", False),
    ],
)
def test_composite_rule_is_evaluated_over_the_alarm_states(rule: str, expected: bool) -> None:
    states = {"a": "ALARM", "b": "OK", "c": "INSUFFICIENT_DATA"}
    assert evaluate_rule(rule, states) is expected


@pytest.mark.parametrize("rule", ['ALARM("a") OR', '(ALARM("a")', 'ALARM("a") ALARM("b")', "x"])
def test_malformed_composite_rule_is_refused(rule: str) -> None:
    with pytest.raises(ValueError, match="alarm rule"):
        evaluate_rule(rule, {"a": "ALARM"})


def test_region_alarms_and_composite_follow_the_published_api_metrics(
    aws_endpoint: str, emulator: Emulator
) -> None:
    """The Region's own 5xx alarm, from API Gateway's metrics, drives the composite alarm."""
    region = "us-west-2"
    cloudwatch = boto3.client("cloudwatch", region_name=region)
    sns = boto3.client("sns", region_name=region)
    sqs = boto3.client("sqs", region_name=region)
    topic = sns.create_topic(Name="app-secondary-region-alarms")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="region-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    api = [{"Name": "ApiName", "Value": "app-secondary"}, {"Name": "Stage", "Value": "prod"}]
    cloudwatch.put_metric_alarm(
        AlarmName="app-secondary-api-5xx",
        Namespace="AWS/ApiGateway",
        MetricName="5XXError",
        Dimensions=api,
        Statistic="Average",
        Period=60,
        EvaluationPeriods=2,
        DatapointsToAlarm=2,
        Threshold=0.05,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
    )
    cloudwatch.put_composite_alarm(
        AlarmName="app-secondary-impaired",
        AlarmRule='ALARM("app-secondary-api-5xx") OR ALARM("app-secondary-lambda-throttles")',
        AlarmActions=[topic],
        OKActions=[topic],
    )
    evaluator = AlarmEvaluator(
        {region: cloudwatch}, {region: sns}, emulator.metrics, time_scale=0.01
    )

    def publish_requests(failed_share: float, at: float) -> None:
        cloudwatch.put_metric_data(
            Namespace="AWS/ApiGateway",
            MetricData=[
                {
                    "MetricName": "5XXError",
                    "Dimensions": api,
                    "Timestamp": datetime.fromtimestamp(at - i * 0.01, UTC),
                    "Value": float(i < failed_share * 100),
                }
                for i in range(100)
            ],
        )

    def states() -> tuple[str, str]:
        alarms = cloudwatch.describe_alarms(AlarmTypes=["MetricAlarm", "CompositeAlarm"])
        return (
            alarms["MetricAlarms"][0]["StateValue"],
            alarms["CompositeAlarms"][0]["StateValue"],
        )

    # Periods are 0.6 s at this scale: two periods of 20 % 5xx breach the 5 % threshold.
    now = time.time()
    publish_requests(0.02, now - 1.0)
    publish_requests(0.02, now - 0.1)
    evaluator.evaluate_all(now)
    assert states() == ("OK", "OK")
    publish_requests(0.2, now + 0.5)
    publish_requests(0.2, now + 1.1)
    evaluator.evaluate_all(now + 1.2)
    assert states() == ("ALARM", "ALARM")
    publish_requests(0.0, now + 1.7)
    evaluator.evaluate_all(now + 1.8)
    assert states() == ("OK", "OK")
    notices = [
        json.loads(json.loads(m["Body"])["Message"])
        for m in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    ]
    composite = [n for n in notices if n["AlarmName"] == "app-secondary-impaired"]
    assert [n["NewStateValue"] for n in composite] == ["ALARM", "OK"]
    assert composite[0]["Region"] == "US West (Oregon)"
