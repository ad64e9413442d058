"""Route 53-like health checkers and CloudWatch-like alarm evaluation for the sandbox.

moto stores health checks and alarms but never probes an endpoint, never publishes the
AWS/Route53 metrics and never evaluates an alarm. This module does what the AWS data plane does,
with time scaled down (`time_scale` multiplies every interval and alarm period):

- each health check is probed by several independent checkers, each every RequestInterval; a
  checker changes its verdict after FailureThreshold consecutive contrary results; the check is
  healthy while more than 18% of checkers say so (Route 53's rule). An HTTP(S) check passes on a
  2xx/3xx within 2 s (connect within 4 s). Each verdict is published as HealthCheckStatus (1/0)
  and HealthCheckPercentageHealthy in us-east-1;
- every alarm on those metrics is evaluated over its last EvaluationPeriods periods (statistic,
  comparison, threshold, DatapointsToAlarm, TreatMissingData), its state set with
  SetAlarmState on each transition, and its ALARM/OK actions published to SNS, as CloudWatch does.
"""

from __future__ import annotations

import json
import math
import operator
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ROUTE53_NAMESPACE = "AWS/Route53"
HEALTHY_FRACTION = 0.18
RESPONSE_TIMEOUT_SECONDS = 2.0
DEFAULT_CHECKERS = 3
# Where Route 53 runs health checkers; the sandbox's checkers take these names in turn.
CHECKER_REGIONS = (
    "us-east-1", "eu-west-1", "ap-southeast-1", "us-west-1",
    "sa-east-1", "ap-northeast-1", "us-west-2", "ap-southeast-2",
)  # fmt: skip

COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanOrEqualToThreshold": operator.ge,
    "GreaterThanThreshold": operator.gt,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}
COMPARISON_WORDS = {
    "GreaterThanOrEqualToThreshold": "greater than or equal to",
    "GreaterThanThreshold": "greater than",
    "LessThanThreshold": "less than",
    "LessThanOrEqualToThreshold": "less than or equal to",
}
STATISTICS: dict[str, Callable[[list[float]], float]] = {
    "Minimum": min,
    "Maximum": max,
    "Average": lambda values: sum(values) / len(values),
    "Sum": sum,
    "SampleCount": lambda values: float(len(values)),
}


@dataclass(frozen=True)
class HealthTarget:
    """One Route 53 health check as the sandbox probes it."""

    health_check_id: str
    url: str  # where the check's FQDN/port/path lands in the sandbox (a loopback front)
    host_header: str  # the FQDN the check is configured with
    interval_seconds: float  # RequestInterval, already scaled
    failure_threshold: int


@dataclass(frozen=True)
class ProbeResult:
    passed: bool
    detail: str  # Route 53's wording, e.g. "HTTP Status Code 200, OK"
    checked_at: datetime


@dataclass
class CheckerState:
    region: str = CHECKER_REGIONS[0]
    healthy: bool = True  # Route 53 treats a new health check as healthy until shown otherwise
    contrary_streak: int = 0
    last: ProbeResult | None = None

    def observation(self) -> dict[str, Any] | None:
        """This checker's latest result as a GetHealthCheckStatus observation."""
        if self.last is None:
            return None
        outcome = "Success" if self.last.passed else "Failure"
        return {
            "Region": self.region,
            "IPAddress": "127.0.0.1",
            "StatusReport": {
                "Status": f"{outcome}: {self.last.detail}",
                "CheckedTime": self.last.checked_at,
            },
        }

    def observe(self, passed: bool, failure_threshold: int) -> None:
        if passed == self.healthy:
            self.contrary_streak = 0
            return
        self.contrary_streak += 1
        if self.contrary_streak >= failure_threshold:
            self.healthy, self.contrary_streak = passed, 0


@dataclass
class MetricSeries:
    """Datapoints the sandbox published, kept for alarm evaluation (CloudWatch's own store)."""

    points: list[tuple[float, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    published: bool = False  # anything ever added (old points are dropped, this stays)

    def add(self, timestamp: float, value: float, retain_seconds: float) -> None:
        with self.lock:
            self.published = True
            self.points.append((timestamp, value))
            cutoff = timestamp - retain_seconds
            while self.points and self.points[0][0] < cutoff:
                self.points.pop(0)

    def between(self, start: float, end: float) -> list[float]:
        with self.lock:
            return [value for stamp, value in self.points if start <= stamp < end]


def probe_once(target: HealthTarget) -> ProbeResult:
    """One checker's request: passes on 2xx/3xx within the response timeout."""
    request = urllib.request.Request(target.url, headers={"Host": target.host_header})
    checked_at = datetime.now(UTC)
    try:
        with urllib.request.urlopen(request, timeout=RESPONSE_TIMEOUT_SECONDS) as response:
            status, reason = response.status, response.reason
    except urllib.error.HTTPError as error:
        status, reason = error.code, error.reason
    except (OSError, urllib.error.URLError) as error:
        return ProbeResult(
            False, f"Connection failure: {getattr(error, 'reason', error)}", checked_at
        )
    return ProbeResult(200 <= status < 400, f"HTTP Status Code {status}, {reason}", checked_at)


@dataclass(frozen=True)
class AlarmEvaluation:
    state: str  # OK | ALARM | INSUFFICIENT_DATA
    reason: str
    reason_data: dict[str, Any]


def evaluate_alarm(
    alarm: dict[str, Any], series: MetricSeries, now: float, time_scale: float
) -> AlarmEvaluation | None:
    """The state CloudWatch would give `alarm` now, or None to keep the current state."""
    period = float(alarm["Period"]) * time_scale
    periods = int(alarm["EvaluationPeriods"])
    to_alarm = int(alarm.get("DatapointsToAlarm") or periods)
    statistic = STATISTICS[alarm["Statistic"]]
    compare = COMPARISONS[alarm["ComparisonOperator"]]
    threshold = float(alarm["Threshold"])
    treat_missing = alarm.get("TreatMissingData", "missing")
    # Newest period first; the newest one may be partial, as with CloudWatch's latest datapoint.
    aggregates: list[float | None] = []
    for index in range(periods):
        values = series.between(now - (index + 1) * period, now - index * period)
        aggregates.append(statistic(values) if values else None)
    breaching = 0
    present = 0
    for value in aggregates:
        if value is None:
            if treat_missing == "breaching":
                breaching += 1
                present += 1
            elif treat_missing == "notBreaching":
                present += 1
            continue
        present += 1
        breaching += compare(value, threshold)
    shown = [value for value in aggregates if value is not None]
    words = COMPARISON_WORDS[alarm["ComparisonOperator"]]
    reason_data = {
        "version": "1.0",
        "queryDate": datetime.now(UTC).isoformat(),
        "statistic": alarm["Statistic"],
        "period": alarm["Period"],
        "recentDatapoints": shown,
        "threshold": threshold,
        "evaluatedDatapoints": len(shown),
    }
    if breaching >= to_alarm:
        reason = (
            f"Threshold Crossed: {breaching} out of the last {periods} datapoints {shown} "
            f"{'were' if breaching > 1 else 'was'} {words} the threshold ({threshold})."
        )
        return AlarmEvaluation("ALARM", reason, reason_data)
    if present == 0:
        if treat_missing == "ignore":
            return None
        return AlarmEvaluation(
            "INSUFFICIENT_DATA", "Insufficient Data: no datapoints were received.", reason_data
        )
    reason = (
        f"Threshold Crossed: no datapoints in the last {periods} were {words} "
        f"the threshold ({threshold})."
    )
    return AlarmEvaluation("OK", reason, reason_data)


class Route53HealthCheckers:
    """Probes every target with `checkers` independent checkers and publishes the metrics."""

    def __init__(
        self,
        targets: list[HealthTarget],
        cloudwatch: Any,
        *,
        checkers: int = DEFAULT_CHECKERS,
        on_observations: Callable[[str, list[dict[str, Any]]], None] | None = None,
        retain_seconds: float = 600.0,
    ) -> None:
        self.targets = targets
        self.cloudwatch = cloudwatch
        self.checkers = checkers
        self.on_observations = on_observations
        self.retain_seconds = retain_seconds
        self.series: dict[str, MetricSeries] = {
            target.health_check_id: MetricSeries() for target in targets
        }
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for target in self.targets:
            thread = threading.Thread(
                target=self._run, args=(target,), daemon=True, name=f"hc-{target.health_check_id}"
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _run(self, target: HealthTarget) -> None:
        states = [
            CheckerState(region=CHECKER_REGIONS[i % len(CHECKER_REGIONS)])
            for i in range(self.checkers)
        ]
        # Checkers are spread evenly over the interval, as Route 53's are over the world.
        step = target.interval_seconds / self.checkers
        index = 0
        while not self._stop.is_set():
            started = time.monotonic()
            checker = states[index]
            checker.last = probe_once(target)
            checker.observe(checker.last.passed, target.failure_threshold)
            index = (index + 1) % self.checkers
            self._publish(target, sum(state.healthy for state in states))
            if self.on_observations is not None:
                observed = [state.observation() for state in states]
                self.on_observations(target.health_check_id, [o for o in observed if o])
            self._stop.wait(max(0.0, step - (time.monotonic() - started)))

    def _publish(self, target: HealthTarget, healthy_checkers: int) -> None:
        fraction = healthy_checkers / self.checkers
        status = 1.0 if fraction > HEALTHY_FRACTION else 0.0
        now = time.time()
        self.series[target.health_check_id].add(now, status, self.retain_seconds)
        dimensions = [{"Name": "HealthCheckId", "Value": target.health_check_id}]
        stamp = datetime.fromtimestamp(now, UTC)
        try:
            self.cloudwatch.put_metric_data(
                Namespace=ROUTE53_NAMESPACE,
                MetricData=[
                    {
                        "MetricName": "HealthCheckStatus",
                        "Dimensions": dimensions,
                        "Timestamp": stamp,
                        "Value": status,
                    },
                    {
                        "MetricName": "HealthCheckPercentageHealthy",
                        "Dimensions": dimensions,
                        "Timestamp": stamp,
                        "Value": round(fraction * 100, 1),
                        "Unit": "Percent",
                    },
                ],
            )
        except Exception as error:  # the emulator stopping under us ends the sandbox anyway
            print(
                f"health checker {target.health_check_id}: publishing failed: {error!r}",
                file=sys.stderr,
            )


class AlarmEvaluator:
    """Evaluates the alarms on HealthCheckStatus like CloudWatch and fires their SNS actions."""

    def __init__(
        self,
        cloudwatch: Any,
        sns: Any,
        series_by_health_check: dict[str, MetricSeries],
        *,
        time_scale: float,
        tick_seconds: float | None = None,
    ) -> None:
        self.cloudwatch = cloudwatch
        self.sns = sns
        self.series_by_health_check = series_by_health_check
        self.time_scale = time_scale
        self.tick_seconds = (
            tick_seconds if tick_seconds is not None else max(0.05, 5.0 * time_scale)
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="alarm-evaluator")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.evaluate_all(time.time())
            except Exception as error:
                print(f"alarm evaluation failed: {error!r}", file=sys.stderr)
            self._stop.wait(self.tick_seconds)

    def evaluate_all(self, now: float) -> None:
        paginator = self.cloudwatch.get_paginator("describe_alarms")
        for page in paginator.paginate(AlarmTypes=["MetricAlarm"]):
            for alarm in page["MetricAlarms"]:
                series = self._series_for(alarm)
                if series is None:
                    continue
                evaluation = evaluate_alarm(alarm, series, now, self.time_scale)
                if evaluation is not None and evaluation.state != alarm["StateValue"]:
                    self._transition(alarm, evaluation)

    def _series_for(self, alarm: dict[str, Any]) -> MetricSeries | None:
        if (
            alarm.get("Namespace") != ROUTE53_NAMESPACE
            or alarm.get("MetricName") != "HealthCheckStatus"
        ):
            return None
        if (
            alarm.get("Statistic") not in STATISTICS
            or alarm.get("ComparisonOperator") not in COMPARISONS
        ):
            return None
        dimensions = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
        series = self.series_by_health_check.get(dimensions.get("HealthCheckId", ""))
        # Route 53 publishes from a health check's first probe on; before that the checkers
        # have not started, and "breaching" missing data would fire a false alarm.
        if series is None or not series.published:
            return None
        return series

    def _transition(self, alarm: dict[str, Any], evaluation: AlarmEvaluation) -> None:
        self.cloudwatch.set_alarm_state(
            AlarmName=alarm["AlarmName"],
            StateValue=evaluation.state,
            StateReason=evaluation.reason[:1023],
            StateReasonData=json.dumps(evaluation.reason_data),
        )
        print(
            f"alarm {alarm['AlarmName']}: {alarm['StateValue']} -> {evaluation.state}",
            file=sys.stderr,
            flush=True,
        )
        actions = {
            "ALARM": alarm.get("AlarmActions", []),
            "OK": alarm.get("OKActions", []),
            "INSUFFICIENT_DATA": alarm.get("InsufficientDataActions", []),
        }[evaluation.state]
        if not alarm.get("ActionsEnabled", True):
            return
        message = {
            "AlarmName": alarm["AlarmName"],
            "AlarmDescription": alarm.get("AlarmDescription"),
            "NewStateValue": evaluation.state,
            "NewStateReason": evaluation.reason,
            "OldStateValue": alarm["StateValue"],
            "StateChangeTime": datetime.now(UTC).isoformat(),
            "Region": "US East (N. Virginia)",
            "AlarmArn": alarm.get("AlarmArn"),
            "Trigger": {
                "MetricName": alarm["MetricName"],
                "Namespace": alarm["Namespace"],
                "Statistic": alarm["Statistic"],
                "Period": alarm["Period"],
                "EvaluationPeriods": alarm["EvaluationPeriods"],
                "ComparisonOperator": alarm["ComparisonOperator"],
                "Threshold": alarm["Threshold"],
                "Dimensions": [
                    {"name": d["Name"], "value": d["Value"]} for d in alarm.get("Dimensions", [])
                ],
            },
        }
        subject = f'{evaluation.state}: "{alarm["AlarmName"]}" in US East (N. Virginia)'
        for topic_arn in actions:
            if topic_arn.startswith("arn:aws:sns:"):
                self.sns.publish(
                    TopicArn=topic_arn, Subject=subject[:100], Message=json.dumps(message)
                )


def scaled(seconds: float, time_scale: float) -> float:
    """An AWS interval in sandbox time, never below 50 ms so loops stay cheap."""
    return max(0.05, math.ceil(seconds * time_scale * 1000) / 1000)
