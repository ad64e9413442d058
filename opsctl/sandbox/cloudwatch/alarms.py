"""What CloudWatch computes for one metric alarm: its metric's statistic per period (a statistic,
a percentile or a metric-math sum of metrics), and the state the last EvaluationPeriods give it
(comparison, threshold, DatapointsToAlarm, TreatMissingData), with time scaled down."""

from __future__ import annotations

import math
import operator
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

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
_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?)$")
# One term of a metric-math sum the sandbox evaluates: a query id.
MATH_TERM = re.compile(r"^\s*(?P<ident>[a-z]\w*)\s*$")
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


@dataclass(frozen=True)
class MetricMathRatio:
    """`(a + b + ...) / (c + d + ...)`, period by period: each sum as `MetricMathSum` (a missing
    operand counts as 0); a period where the divisor is 0 or missing has no value, as CloudWatch
    drops a datapoint whose function would divide by zero."""

    numerator: MetricMathSum
    denominator: MetricMathSum

    @property
    def published(self) -> bool:
        return self.numerator.published or self.denominator.published

    def value(self, start: float, end: float) -> float | None:
        divisor = self.denominator.value(start, end)
        if not divisor:
            return None
        return (self.numerator.value(start, end) or 0.0) / divisor


MetricMath = MetricMathSum | MetricMathRatio


def dimension_map(dimensions: Iterable[Any]) -> dict[str, str]:
    """moto's metric dimensions by name. CloudWatch requires both a name and a value; moto types
    each as optional."""
    return {d.name: d.value for d in dimensions if d.name is not None and d.value is not None}


class MetricStore(Protocol):
    """Where the evaluator reads datapoints: the emulator's CloudWatch (emulator.py)."""

    def refresh(self) -> None: ...

    def series(
        self, region: str, namespace: str, name: str, dimensions: dict[str, str]
    ) -> MetricSeries | None: ...


@dataclass(frozen=True)
class AlarmEvaluation:
    state: str  # OK | ALARM | INSUFFICIENT_DATA
    reason: str
    reason_data: dict[str, Any]


def evaluate_alarm(
    alarm: dict[str, Any], series: Series | MetricMath, now: float, time_scale: float
) -> AlarmEvaluation | None:
    """The state CloudWatch would give `alarm` now, or None to keep the current state.

    `series` is the alarm's metric (aggregated with the alarm's statistic) or, for a
    metric-math alarm, its returned expression."""
    period = float(alarm["Period"]) * time_scale
    periods = int(alarm["EvaluationPeriods"])
    to_alarm = int(alarm.get("DatapointsToAlarm") or periods)
    if isinstance(series, MetricMathSum | MetricMathRatio):
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
    if breaching >= to_alarm and not shown:
        # CloudWatch's words when missing data alone breaches (recentDatapoints stays empty).
        reason = (
            f"Threshold Crossed: no datapoints were received for {periods} periods and "
            f"{breaching} missing datapoints were treated as [Breaching]."
        )
        return AlarmEvaluation("ALARM", reason, reason_data)
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
