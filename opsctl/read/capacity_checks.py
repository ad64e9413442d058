"""Does the Region that would take all traffic have what the other Region runs with? Pure
judgements of the CapacityReadings of `opsctl.read.capacity`: account and authorizer concurrency,
stage throttling, the table in both Regions, its replication latency."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from opsctl.errors import error_in_words
from opsctl.read.capacity import (
    AccountConcurrency,
    AuthorizerConcurrency,
    CapacityReadings,
    StageThrottling,
)
from opsctl.read.concurrent_reads import Outcome
from opsctl.read.readiness_report import FAIL, PASS, WARN, Check, unknown_check

T = TypeVar("T")

DEFAULT_MAX_REPLICATION_LATENCY_MS = 5000.0


def _sides(check: Check, sides: tuple[str, str] | None) -> Check:
    """`A vs B` with each side named by its Region: `us-west-2: A vs us-east-1: B`."""
    if sides is None or " vs " not in check.value:
        return check
    target, other = check.value.split(" vs ", 1)
    return replace(check, value=f"{sides[0]}: {target} vs {sides[1]}: {other}")


def _compare(
    name: str,
    target: Outcome[T],
    other: Outcome[T],
    judge: Callable[[str, T, T], Check],
    sides: tuple[str, str] | None = None,
) -> Check:
    """`judge` the target's value against the other Region's; an unreadable side is a warning."""
    target_region, other_region = sides or (None, None)
    unknown = unknown_check(name, target, target_region) or unknown_check(name, other, other_region)
    if unknown:
        return unknown
    assert target.value is not None and other.value is not None  # no error: the read gave a value
    return _sides(judge(name, target.value, other.value), sides)


def _judge_quota(name: str, t: AccountConcurrency, o: AccountConcurrency) -> Check:
    value = (
        f"limit {t.limit}, unreserved {t.unreserved} vs limit {o.limit}, unreserved {o.unreserved}"
    )
    if t.limit < o.limit:
        return Check(name, WARN, value, "the target's account concurrency limit (quota) is lower")
    if t.unreserved < o.unreserved:
        return Check(
            name, WARN, value, "the target leaves less to functions without reserved concurrency"
        )
    return Check(name, PASS, value)


def _judge_authorizer(name: str, t: AuthorizerConcurrency, o: AuthorizerConcurrency) -> Check:
    def show(c: AuthorizerConcurrency) -> str:
        reserved = "unreserved" if c.reserved is None else f"reserved {c.reserved}"
        return f"{reserved}, provisioned {c.provisioned}"

    value = f"{show(t)} vs {show(o)}"
    if t.reserved is not None and (o.reserved is None or t.reserved < o.reserved):
        return Check(name, FAIL, value, "the target's reserved concurrency caps it below the other")
    if t.provisioned < o.provisioned:
        return Check(name, WARN, value, "less provisioned concurrency: expect cold starts")
    return Check(name, PASS, value)


def _judge_throttling(name: str, t: StageThrottling, o: StageThrottling) -> Check:
    value = (
        f"rate {t.rate_limit}/burst {t.burst_limit} vs rate {o.rate_limit}/burst {o.burst_limit}"
    )
    if t == o:
        return Check(name, PASS, value)

    def lower(a: float | None, b: float | None) -> bool:
        return a is not None and (b is None or a < b)

    if lower(t.rate_limit, o.rate_limit) or lower(t.burst_limit, o.burst_limit):
        return Check(name, FAIL, value, "the target's stage throttles below the other's")
    return Check(name, WARN, value, "stage throttling limits differ between the Regions")


def _table_check(
    table: str, target: Outcome[str], other: Outcome[str], other_region: str | None
) -> Check:
    name = "table-replicas"
    if target.error is not None:
        return Check(
            name, FAIL, "unknown", f"{table} in the target: {error_in_words(target.error)}"
        )
    failed = unknown_check(name, other, other_region)
    if failed:
        return failed
    value = f"{target.value} vs {other.value}"
    if target.value == "ACTIVE" and other.value == "ACTIVE":
        return Check(name, PASS, value)
    return Check(name, FAIL, value, f"{table} must be ACTIVE in both Regions")


def _latency_check(
    latency: Outcome[float | None], threshold_ms: float, read_in: str | None
) -> Check:
    name = "replication-latency"
    failed = unknown_check(name, latency, read_in)
    if failed:
        return failed
    if latency.value is None:
        return Check(name, WARN, "no data", "no ReplicationLatency datapoint in 30 minutes")
    value = f"{latency.value:.0f} ms (max {threshold_ms:.0f} ms)"
    if latency.value <= threshold_ms:
        return Check(name, PASS, value)
    return Check(name, FAIL, value, "the target's copy of the table lags behind")


def capacity_checks(
    readings: CapacityReadings,
    max_replication_latency_ms: float = DEFAULT_MAX_REPLICATION_LATENCY_MS,
    sides: tuple[str, str] | None = None,
) -> tuple[Check, ...]:
    """The target against the other Region (`sides`: their names, to label each value). A read
    that failed in the other Region (it may be the one that is down) is a warning, never a
    refusal."""
    other_region = sides[1] if sides else None
    return (
        _compare(
            "lambda-concurrency-quota",
            readings.target_account,
            readings.other_account,
            _judge_quota,
            sides,
        ),
        _compare(
            "authorizer-concurrency",
            readings.target_authorizer,
            readings.other_authorizer,
            _judge_authorizer,
            sides,
        ),
        _compare(
            "api-throttling",
            readings.target_throttling,
            readings.other_throttling,
            _judge_throttling,
            sides,
        ),
        _sides(
            _table_check(readings.table, readings.target_table, readings.other_table, other_region),
            sides,
        ),
        # The metric lives in the sending Region: the other one.
        _latency_check(readings.latency, max_replication_latency_ms, other_region),
    )
