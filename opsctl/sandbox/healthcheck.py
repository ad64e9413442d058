"""Route 53-like health checkers and CloudWatch-like alarm evaluation for the sandbox.

moto stores health checks and alarms but never probes an endpoint, never publishes the
AWS/Route53 metrics and never evaluates an alarm. This module does what the AWS data plane does,
with time scaled down (`time_scale` multiplies every interval and alarm period):

- each health check is probed by several independent checkers, each every RequestInterval; a
  checker changes its verdict after FailureThreshold consecutive contrary results; the check is
  healthy while more than 18% of checkers say so (Route 53's rule). An HTTP(S) check passes on a
  2xx/3xx within 2 s (connect within 4 s). Each verdict is published as HealthCheckStatus (1/0)
  and HealthCheckPercentageHealthy in us-east-1;
- every metric alarm in the sandbox's Regions (the health-check alarms in us-east-1, each
  Region's own API/Lambda alarms) is evaluated from the datapoints in the emulator's CloudWatch
  over its last EvaluationPeriods periods (statistic or percentile, or a metric-math sum of
  metrics; comparison, threshold, DatapointsToAlarm, TreatMissingData); then every
  composite alarm's AlarmRule over ALARM()/OK()/INSUFFICIENT_DATA(), AND, OR, NOT. Each
  transition is set with SetAlarmState and its actions published to SNS with CloudWatch's
  notification JSON.
"""

from __future__ import annotations

import json
import math
import operator
import re
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

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
REGION_NAMES = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)",
    "eu-west-1": "Europe (Ireland)",
    "eu-central-1": "Europe (Frankfurt)",
}
_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?)$")
# One term of a metric-math sum the sandbox evaluates: a query id.
_MATH_TERM = re.compile(r"^\s*(?P<ident>[a-z]\w*)\s*$")
STATISTICS: dict[str, Callable[[list[float]], float]] = {
    "Minimum": min,
    "Maximum": max,
    "Average": lambda values: sum(values) / len(values),
    "Sum": sum,
    "SampleCount": lambda values: float(len(values)),
}


def percentile(rank: float) -> Callable[[list[float]], float]:
    """CloudWatch's pNN: the nearest-rank percentile of the period's values."""

    def of(values: list[float]) -> float:
        ordered = sorted(values)
        return ordered[max(0, math.ceil(rank / 100 * len(ordered)) - 1)]

    return of


def statistic_named(name: str) -> Callable[[list[float]], float] | None:
    """A CloudWatch statistic (`Sum`, `p99`, ...); None when the sandbox has no such one."""
    if name in STATISTICS:
        return STATISTICS[name]
    match = _PERCENTILE.match(name)
    return percentile(float(match.group(1))) if match else None


def statistic_for(alarm: dict[str, Any]) -> Callable[[list[float]], float] | None:
    """The alarm's Statistic or ExtendedStatistic (pNN); None when the sandbox has no such one."""
    return statistic_named(alarm.get("Statistic") or alarm.get("ExtendedStatistic") or "")


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


class Series(Protocol):
    published: bool

    def between(self, start: float, end: float) -> list[float]: ...


@dataclass(frozen=True)
class MathTerm:
    """One operand of a metric-math sum: a query's statistic per period."""

    series: Series | None  # None: the metric has no datapoints at all
    statistic: Callable[[list[float]], float]

    def value(self, start: float, end: float) -> float | None:
        values = self.series.between(start, end) if self.series is not None else []
        return self.statistic(values) if values else None


@dataclass(frozen=True)
class MetricMathSum:
    """A metric-math alarm's returned expression `a + b + ...`, period by period.

    As CloudWatch documents for its arithmetic operators, a missing value counts as 0: a period
    has a sum when at least one operand has a datapoint in it, and none (missing data, for the
    alarm's TreatMissingData) when no operand has.
    """

    terms: tuple[MathTerm, ...]

    @property
    def published(self) -> bool:
        return any(term.series is not None and term.series.published for term in self.terms)

    def value(self, start: float, end: float) -> float | None:
        values = [v for v in (term.value(start, end) for term in self.terms) if v is not None]
        return sum(values) if values else None


class MetricStore(Protocol):
    """Where the evaluator reads datapoints: the emulator's CloudWatch (emulator.py)."""

    def refresh(self) -> None: ...

    def series(
        self, region: str, namespace: str, name: str, dimensions: dict[str, str]
    ) -> MetricSeries | None: ...


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
    alarm: dict[str, Any], series: Series | MetricMathSum, now: float, time_scale: float
) -> AlarmEvaluation | None:
    """The state CloudWatch would give `alarm` now, or None to keep the current state.

    `series` is the alarm's metric (aggregated with the alarm's statistic) or, for a
    metric-math alarm, its returned expression."""
    period = float(alarm["Period"]) * time_scale
    periods = int(alarm["EvaluationPeriods"])
    to_alarm = int(alarm.get("DatapointsToAlarm") or periods)
    if isinstance(series, MetricMathSum):
        period_value = series.value
    else:
        statistic = statistic_for(alarm)
        assert statistic is not None, "alarm with a statistic the sandbox cannot compute"
        period_value = MathTerm(series, statistic).value
    compare = COMPARISONS[alarm["ComparisonOperator"]]
    threshold = float(alarm["Threshold"])
    treat_missing = alarm.get("TreatMissingData", "missing")
    # Newest period first; the newest one may be partial, as with CloudWatch's latest datapoint.
    aggregates: list[float | None] = []
    for index in range(periods):
        aggregates.append(period_value(now - (index + 1) * period, now - index * period))
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
        "statistic": alarm.get("Statistic") or alarm.get("ExtendedStatistic"),
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
        on_status: Callable[[str, bool], None] | None = None,
    ) -> None:
        self.targets = targets
        self.cloudwatch = cloudwatch
        self.checkers = checkers
        self.on_observations = on_observations
        self.on_status = on_status  # the check's verdict, for Route 53's DNS answers
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
            healthy_checkers = sum(state.healthy for state in states)
            if self.on_status is not None:
                self.on_status(
                    target.health_check_id, healthy_checkers / self.checkers > HEALTHY_FRACTION
                )
            self._publish(target, healthy_checkers)
            if self.on_observations is not None:
                observed = [state.observation() for state in states]
                self.on_observations(target.health_check_id, [o for o in observed if o])
            self._stop.wait(max(0.0, step - (time.monotonic() - started)))

    def _publish(self, target: HealthTarget, healthy_checkers: int) -> None:
        fraction = healthy_checkers / self.checkers
        status = 1.0 if fraction > HEALTHY_FRACTION else 0.0
        now = time.time()
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
    """Evaluates every metric and composite alarm of the given Regions like CloudWatch, and
    publishes their actions to SNS."""

    def __init__(
        self,
        cloudwatch_by_region: dict[str, Any],
        sns_by_region: dict[str, Any],
        store: MetricStore,
        *,
        time_scale: float,
        tick_seconds: float | None = None,
    ) -> None:
        self.cloudwatch_by_region = cloudwatch_by_region
        self.sns_by_region = sns_by_region
        self.store = store
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
        """Metric alarms first, then the composite alarms over the states they now have."""
        self.store.refresh()
        for region, cloudwatch in self.cloudwatch_by_region.items():
            states: dict[str, str] = {}
            paginator = cloudwatch.get_paginator("describe_alarms")
            pages = list(paginator.paginate(AlarmTypes=["MetricAlarm", "CompositeAlarm"]))
            for alarm in (a for page in pages for a in page["MetricAlarms"]):
                states[alarm["AlarmName"]] = alarm["StateValue"]
                readable = self._readable(region, alarm)
                if readable is None:
                    continue
                evaluated_alarm, series = readable
                evaluation = evaluate_alarm(evaluated_alarm, series, now, self.time_scale)
                if evaluation is not None and evaluation.state != alarm["StateValue"]:
                    self._transition(region, alarm, evaluation)
                    states[alarm["AlarmName"]] = evaluation.state
            for alarm in (a for page in pages for a in page["CompositeAlarms"]):
                fired = evaluate_rule(alarm["AlarmRule"], states)
                state = "ALARM" if fired else "OK"
                if state != alarm["StateValue"]:
                    reason = (
                        f"arn:aws:cloudwatch alarm rule {alarm['AlarmRule']} evaluated to "
                        f"{str(fired).upper()}"
                    )
                    self._transition(region, alarm, AlarmEvaluation(state, reason, {}))

    def _readable(
        self, region: str, alarm: dict[str, Any]
    ) -> tuple[dict[str, Any], Series | MetricMathSum] | None:
        """The alarm as evaluated and its datapoints; None for what the sandbox cannot compute
        or what has never been published (CloudWatch has no datapoints before a metric's first;
        "breaching" missing data would otherwise fire before the checkers start)."""
        if alarm.get("ComparisonOperator") not in COMPARISONS:
            return None
        if alarm.get("Metrics"):
            return self._metric_math(region, alarm)
        if statistic_for(alarm) is None:
            return None
        dimensions = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
        series = self.store.series(
            region, alarm.get("Namespace", ""), alarm.get("MetricName", ""), dimensions
        )
        if series is None or not series.published:
            return None
        return alarm, series

    def _metric_math(
        self, region: str, alarm: dict[str, Any]
    ) -> tuple[dict[str, Any], MetricMathSum] | None:
        """A metric-math alarm whose returned expression adds up its queries' statistics
        (`e0 + e1`); any other expression is left alone."""
        queries = {query["Id"]: query for query in alarm["Metrics"]}
        returned = [q for q in alarm["Metrics"] if q.get("ReturnData")]
        if len(returned) != 1 or not returned[0].get("Expression"):
            return None
        terms = []
        periods = set()
        for text in returned[0]["Expression"].split("+"):
            match = _MATH_TERM.match(text)
            if match is None:
                return None
            ident = match.group("ident")
            stat = queries.get(ident, {}).get("MetricStat")
            statistic = statistic_named(stat.get("Stat", "")) if stat else None
            if stat is None or statistic is None:
                return None
            metric = stat["Metric"]
            periods.add(stat["Period"])
            dimensions = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
            series = self.store.series(
                region, metric["Namespace"], metric["MetricName"], dimensions
            )
            terms.append(MathTerm(series, statistic))
        expression = MetricMathSum(tuple(terms))
        if len(periods) != 1 or not expression.published:
            return None
        return {**alarm, "Period": periods.pop()}, expression

    def _transition(self, region: str, alarm: dict[str, Any], evaluation: AlarmEvaluation) -> None:
        self.cloudwatch_by_region[region].set_alarm_state(
            AlarmName=alarm["AlarmName"],
            StateValue=evaluation.state,
            StateReason=evaluation.reason[:1023],
            StateReasonData=json.dumps(evaluation.reason_data),
        )
        print(
            f"alarm {alarm['AlarmName']} ({region}): {alarm['StateValue']} -> {evaluation.state}",
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
        region_name = REGION_NAMES.get(region, region)
        message: dict[str, Any] = {
            "AlarmName": alarm["AlarmName"],
            "AlarmDescription": alarm.get("AlarmDescription"),
            "NewStateValue": evaluation.state,
            "NewStateReason": evaluation.reason,
            "OldStateValue": alarm["StateValue"],
            "StateChangeTime": datetime.now(UTC).isoformat(),
            "Region": region_name,
            "AlarmArn": alarm.get("AlarmArn"),
        }
        if "AlarmRule" in alarm:
            message["AlarmRule"] = alarm["AlarmRule"]
        elif alarm.get("MetricName"):
            message["Trigger"] = {
                "MetricName": alarm["MetricName"],
                "Namespace": alarm["Namespace"],
                "Statistic": alarm.get("Statistic") or alarm.get("ExtendedStatistic"),
                "Period": alarm["Period"],
                "EvaluationPeriods": alarm["EvaluationPeriods"],
                "ComparisonOperator": alarm["ComparisonOperator"],
                "Threshold": alarm["Threshold"],
                "Dimensions": [
                    {"name": d["Name"], "value": d["Value"]} for d in alarm.get("Dimensions", [])
                ],
            }
        subject = f'{evaluation.state}: "{alarm["AlarmName"]}" in {region_name}'
        sns = self.sns_by_region.get(region)
        for topic_arn in actions:
            if topic_arn.startswith("arn:aws:sns:") and sns is not None:
                sns.publish(TopicArn=topic_arn, Subject=subject[:100], Message=json.dumps(message))


_RULE_TOKEN = re.compile(
    r"\s*(?:(?P<function>ALARM|OK|INSUFFICIENT_DATA)\s*\(\s*(?:\"(?P<quoted>[^\"]+)\"|"
    r"(?P<bare>[^)\s]+))\s*\)|(?P<word>AND|OR|NOT|TRUE|FALSE)\b|(?P<paren>[()]))"
)


def evaluate_rule(rule: str, states: dict[str, str]) -> bool:
    """A composite AlarmRule over the named alarms' states (NOT binds tighter than AND, AND
    tighter than OR). An alarm named by ARN is looked up by its name; an unknown one is in no
    state. Raises ValueError on a rule CloudWatch would reject."""
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(rule.rstrip()):
        match = _RULE_TOKEN.match(rule, position)
        if match is None:
            raise ValueError(f"cannot parse alarm rule at {rule[position:]!r}")
        position = match.end()
        if match.group("function"):
            name = (match.group("quoted") or match.group("bare")).rsplit(":alarm:", 1)[-1]
            tokens.append(("state", str(states.get(name) == match.group("function"))))
        elif match.group("word") in ("TRUE", "FALSE"):
            tokens.append(("state", str(match.group("word") == "TRUE")))
        else:
            tokens.append(("op", match.group("word") or match.group("paren")))
    index = 0

    def peek() -> tuple[str, str] | None:
        return tokens[index] if index < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal index
        if index >= len(tokens):
            raise ValueError(f"alarm rule ends early: {rule!r}")
        index += 1
        return tokens[index - 1]

    def disjunction() -> bool:
        value = conjunction()
        while peek() == ("op", "OR"):
            take()
            value = conjunction() or value
        return value

    def conjunction() -> bool:
        value = negation()
        while peek() == ("op", "AND"):
            take()
            value = negation() and value
        return value

    def negation() -> bool:
        if peek() == ("op", "NOT"):
            take()
            return not negation()
        kind, text = take()
        if (kind, text) == ("op", "("):
            value = disjunction()
            if take() != ("op", ")"):
                raise ValueError(f"unbalanced parentheses in alarm rule {rule!r}")
            return value
        if kind != "state":
            raise ValueError(f"unexpected {text!r} in alarm rule {rule!r}")
        return text == "True"

    result = disjunction()
    if index != len(tokens):
        raise ValueError(f"unexpected {tokens[index][1]!r} in alarm rule {rule!r}")
    return result


def scaled(seconds: float, time_scale: float) -> float:
    """An AWS interval in sandbox time, never below 50 ms so loops stay cheap."""
    return max(0.05, math.ceil(seconds * time_scale * 1000) / 1000)
