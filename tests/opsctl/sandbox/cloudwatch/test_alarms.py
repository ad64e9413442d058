"""What CloudWatch computes for one metric alarm: statistics, percentiles, metric-math sums,
DatapointsToAlarm and TreatMissingData, on synthetic datapoints."""

from __future__ import annotations

import pytest

from opsctl.sandbox.cloudwatch.alarms import (
    MathTerm,
    MetricMathRatio,
    MetricMathSum,
    MetricSeries,
    evaluate_alarm,
)
from tests.opsctl.sandbox.conftest import HEALTH_ALARM

pytestmark = pytest.mark.unit  # pure logic: no emulator, no processes


def series_of(*points: tuple[float, float]) -> MetricSeries:
    series = MetricSeries()
    for stamp, value in points:
        series.add(stamp, value, retain_seconds=1e9)
    return series


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


def test_metric_math_ratio_is_the_5xx_share_and_drops_an_idle_minute() -> None:
    """`(e0 + e1) / (n0 + n1)`: the served routes' 5xx share. A minute without requests divides
    by zero, which CloudWatch drops: missing data, not an impairment."""
    share = {
        "AlarmName": "app-secondary-api-5xx",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 0.05,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
    }
    now = 1000.0
    whoami_5xx = series_of((now - 1, 1.0), (now - 2, 0.0))
    whoami_count = series_of((now - 1, 1.0), (now - 2, 1.0))
    sessions_5xx = series_of()  # this route had no requests at all
    sessions_count = series_of()

    def summed(*members: MetricSeries) -> MetricMathSum:
        return MetricMathSum(tuple(MathTerm(member, sum) for member in members))

    ratio = MetricMathRatio(summed(whoami_5xx, sessions_5xx), summed(whoami_count, sessions_count))
    assert ratio.value(now - 60, now) == 0.5
    evaluation = evaluate_alarm(share, ratio, now, 1.0)
    assert evaluation is not None and evaluation.state == "ALARM"
    assert ratio.value(now - 500, now - 440) is None  # no requests: dropped
    quiet = evaluate_alarm(share, ratio, now + 120, 1.0)
    assert quiet is not None and quiet.state == "OK"
