"""Can a Region take all traffic now? Checks, each pass / warn / fail with the measured value.

This module only judges: every check is a pure function of values already read (a StatusReport,
the CapacityReadings of `opsctl.read.signals`). `region_checks` judges a Region from a StatusReport
(health check, alarm, composite alarm, failure switch); the shift preflight and the per-step gate
of a gradual fallback use it. `capacity_checks` compares what the two Regions run with.
`assess_readiness`, for `opsctl readiness` and the preflight, reads both and judges them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from opsctl.aws import AwsClients
from opsctl.read.region_status import RegionStatus
from opsctl.read.signals import (
    AccountConcurrency,
    AuthorizerConcurrency,
    CapacityReadings,
    Outcome,
    StageThrottling,
    gather,
    read_accelerated_recovery,
    read_capacity,
    read_deadline,
)
from opsctl.read.status import read_status
from opsctl.read.status_report import StatusReport
from stack_topology import RegionTopology, Role, Topology

PASS, WARN, FAIL = "pass", "warn", "fail"

T = TypeVar("T")


@dataclass(frozen=True)
class Check:
    name: str
    result: str  # pass | warn | fail
    value: str  # what was measured
    detail: str = ""  # why this result, when it is not a pass

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "result": self.result,
            "value": self.value,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class ReadinessReport:
    role: str  # the Region that would take the traffic
    region: str
    checks: tuple[Check, ...]

    @property
    def failures(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.result == FAIL)

    @property
    def warnings(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.result == WARN)

    @property
    def ready(self) -> bool:
        return not self.failures

    def to_json(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "region": self.region,
            "ready": self.ready,
            "checks": [c.to_json() for c in self.checks],
        }


def _health(region: RegionStatus, status: StatusReport) -> Check:
    value = f"{region.health} ({region.checkers} checkers)" if region.checkers else region.health
    if region.healthy is True:
        return Check("health-check", PASS, value)
    if region.healthy is False:
        return Check("health-check", FAIL, value, "HealthCheckStatus is 0")
    # Unreadable, or no datapoint: the metric lives in us-east-1, whose CloudWatch may be down
    # or late (also when the target is the primary there): judge by the Region's own endpoint.
    if "health" in status.unreadable:
        where = f"HealthCheckStatus unreadable in {status.alarm_region}"
        return _by_probe("health-check", region, where, WARN)
    where = "no HealthCheckStatus datapoint in the last 10 minutes"
    return _by_probe("health-check", region, where, FAIL)


def _by_probe(name: str, region: RegionStatus, why: str, unprobed: str) -> Check:
    """A signal with no verdict of its own, decided by the Region's direct probe: a warning
    while it answers 2xx (or gives no answer: that may be the operator's network), a failure
    when it answers otherwise; `unprobed` without a healthUrl to probe."""
    probe = region.probe
    if probe is None:
        return Check(name, unprobed, "unknown; no healthUrl to probe", why)
    if probe.status is not None and not probe.ok:
        return Check(name, FAIL, f"unknown; probe {probe}", f"{why}; probe failed")
    return Check(name, WARN, f"unknown; probe {probe}", why)


def _alarm(region: RegionStatus, status: StatusReport) -> Check:
    if region.alarm is None and "alarms" in status.unreadable:
        where = status.alarm_region
        return Check("health-alarm", WARN, "unknown", f"the alarms in {where} could not be read")
    if region.alarm == "OK":
        return Check("health-alarm", PASS, "OK")
    if region.alarm == "ALARM" and region.alarm_missing_data:
        # A late us-east-1 CloudWatch puts both Regions' alarms in ALARM: not a verdict.
        return _by_probe(
            "health-alarm",
            region,
            f"ALARM since {region.alarm_since} only for missing HealthCheckStatus data",
            FAIL,
        )
    if region.alarm == "ALARM":
        return Check("health-alarm", FAIL, f"ALARM since {region.alarm_since}")
    if region.alarm is None:
        return Check("health-alarm", WARN, "missing", "the health-check alarm was not found")
    return Check("health-alarm", WARN, region.alarm, "the alarm has no verdict yet")


def _unreadable(name: str, source: str, region: RegionStatus, status: StatusReport) -> Check | None:
    """A signal of the Region that could not be read is neither missing nor a failure by itself:
    a warning, unless the Region's own endpoint answers the direct probe with an error."""
    key = f"{source}:{region.role}"
    if key not in status.unreadable:
        return None
    why = status.error_of(key) or "no answer"
    probe = region.probe
    if probe is not None and probe.status is not None and not probe.ok:
        return Check(
            name, FAIL, f"unknown; probe {probe}", f"could not be read ({why}); probe failed"
        )
    seen = f"unknown; probe {probe}" if probe else "unknown"
    return Check(name, WARN, seen, f"could not be read: {why}")


def _impaired(region: RegionStatus, deployed: bool, status: StatusReport) -> Check:
    if not deployed:
        return Check("impaired-alarm", WARN, "not deployed", "no impairedAlarmName in the topology")
    unreadable = _unreadable("impaired-alarm", "impaired", region, status)
    if unreadable is not None:
        return unreadable
    if region.impaired_alarm == "OK":
        return Check("impaired-alarm", PASS, "OK")
    if region.impaired_alarm == "ALARM":
        return Check(
            "impaired-alarm",
            FAIL,
            f"ALARM since {region.impaired_alarm_since}",
            "the Region's own signals say it is impaired",
        )
    if region.impaired_alarm is None:
        return Check("impaired-alarm", WARN, "missing", "the composite alarm was not found")
    return Check("impaired-alarm", WARN, region.impaired_alarm, "the alarm has no verdict yet")


def _reached_from_other(region: RegionStatus, status: StatusReport) -> Check:
    """The target through its custom domain, as the other Region's watcher reaches it: a broken
    mapping or certificate there would fail every player the shift sends."""
    name = "custom-domain"
    watch = region.watch
    assert watch is not None
    if f"watch:{region.role}" in status.unreadable:
        return Check(name, WARN, "unknown", f"the watcher's alarm in {watch.region} was not read")
    if watch.alarm == "OK":
        return Check(name, PASS, f"reached from {watch.region}")
    if watch.alarm == "ALARM":
        now = status.read_at or datetime.now(UTC)
        return Check(
            name,
            FAIL,
            str(region.unreachable_for(now)),
            f"{watch.region}'s watcher gets no healthy answer through the custom domain",
        )
    if watch.alarm is None:
        return Check(name, WARN, "missing", f"the watcher's alarm in {watch.region} was not found")
    return Check(name, WARN, watch.alarm, "the watcher's alarm has no verdict yet")


def _view_of_other(target: RegionStatus, other: RegionStatus, status: StatusReport) -> Check:
    """What the target Region sees of the other (its own watcher's alarm): the signal that
    says the other is unreachable when us-east-1, and the other's own signals, are dark."""
    name = "view-of-other"
    watch = other.watch
    assert watch is not None
    if f"watch:{other.role}" in status.unreadable:
        return Check(
            name, WARN, "unknown", f"the alarm in {target.region} (the target) was not read"
        )
    now = status.read_at or datetime.now(UTC)
    unreachable = other.unreachable_for(now)
    if unreachable:
        return Check(name, PASS, f"the {other.role} has been {unreachable}")
    if watch.alarm == "OK":
        return Check(name, PASS, f"the {other.role} is reachable from {watch.region}")
    return Check(name, PASS, f"the {other.role} seen from {watch.region}: {watch.alarm or '-'}")


def _switch(region: RegionStatus, status: StatusReport) -> Check:
    unreadable = _unreadable("failure-switch", "switch", region, status)
    if unreadable is not None:
        return unreadable
    if region.failure_switch == "healthy":
        return Check("failure-switch", PASS, "healthy")
    if region.failure_switch == "failing":
        return Check("failure-switch", FAIL, "failing", "the Region is simulating an outage")
    return Check(
        "failure-switch",
        FAIL,
        "missing" if region.failure_switch is None else region.failure_switch,
        "the failure switch is missing or not healthy|failing",
    )


def region_checks(status: StatusReport, target: RegionTopology) -> tuple[Check, ...]:
    """The Region's own signals: what the preflight and each gradual step insist on."""
    region = status.region(target.role)
    other = status.region(Role(target.role).other)
    impaired_deployed = target.impaired_alarm_name is not None
    checks = [
        _health(region, status),
        _alarm(region, status),
        _impaired(region, impaired_deployed, status),
        _switch(region, status),
    ]
    # Only with the watch in the topology (written before it, a topology has none).
    if region.watch is not None:
        checks.append(_reached_from_other(region, status))
    if other.watch is not None:
        checks.append(_view_of_other(region, other, status))
    return tuple(checks)


def _alias_targets(status: StatusReport) -> Check:
    """Shifting weights only moves traffic where the topology says when each record points at
    its own Region: a misrouted record would send the shifted traffic elsewhere."""
    if status.alias_mismatches:
        return Check(
            "alias-targets",
            FAIL,
            "; ".join(status.alias_mismatches),
            "the records do not point where the topology says",
        )
    if status.weights is None:  # Route 53's control plane unreadable (an us-east-1 outage)
        return Check(
            "alias-targets",
            WARN,
            "unknown",
            "the weighted records could not be read, so where they point was not checked",
        )
    return Check("alias-targets", PASS, "each record points at its own Region")


# Capacity: does the target have what the other Region runs with? --------------------------------

DEFAULT_MAX_REPLICATION_LATENCY_MS = 5000.0


def _unknown(name: str, outcome: Outcome[Any]) -> Check | None:
    if outcome.error is None:
        return None
    return Check(name, WARN, "unknown", f"could not read: {outcome.error.message}")


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
    unknown = _unknown(name, target) or _unknown(name, other)
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


def _table_check(table: str, target: Outcome[str], other: Outcome[str]) -> Check:
    name = "table-replicas"
    if target.error is not None:
        return Check(name, FAIL, "unknown", f"{table} in the target: {target.error.message}")
    failed = _unknown(name, other)
    if failed:
        return failed
    value = f"{target.value} vs {other.value}"
    if target.value == "ACTIVE" and other.value == "ACTIVE":
        return Check(name, PASS, value)
    return Check(name, FAIL, value, f"{table} must be ACTIVE in both Regions")


def _latency_check(latency: Outcome[float | None], threshold_ms: float) -> Check:
    name = "replication-latency"
    failed = _unknown(name, latency)
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
        _sides(_table_check(readings.table, readings.target_table, readings.other_table), sides),
        _latency_check(readings.latency, max_replication_latency_ms),
    )


# Recovery without us-east-1: what the operator's own setup depends on -------------------------


def credentials_check(
    sso_region: str | None, credentials_region: str | None, primary: str
) -> Check:
    """Credentials that need the primary's Region fail with it: an SSO sign-in lives in one
    Region, and a new session (or a refresh) needs it."""
    through = credentials_region or "the SDK's default Region"
    if sso_region is None:
        return Check("credentials", PASS, f"resolved through {through}")
    value = f"SSO in {sso_region}; resolved through {through}"
    if sso_region == primary:
        return Check(
            "credentials",
            WARN,
            value,
            f"the profile's SSO sign-in is in {primary}, the primary's Region: with it down, no "
            "SSO session can be started or refreshed (keep a profile whose sso_region is another "
            "Region, or one that assumes a role from keys)",
        )
    return Check("credentials", PASS, value)


def accelerated_recovery_check(status: Outcome[str | None]) -> Check:
    """With accelerated recovery, the zone's control plane moves to us-west-2 about an hour into
    a us-east-1 outage: weight changes work again then."""
    name = "accelerated-recovery"
    unknown = _unknown(name, status)
    if unknown:
        return unknown
    if status.value == "ENABLED":
        return Check(name, PASS, "ENABLED")
    return Check(
        name,
        WARN,
        status.value or "not reported",
        "without Route 53 accelerated recovery, the weights cannot move for as long as "
        "us-east-1 is down: only the data-plane lever can",
    )


def assess_readiness(
    clients: AwsClients,
    topology: Topology,
    role: str,
    status: StatusReport | None = None,
    max_replication_latency_ms: float = DEFAULT_MAX_REPLICATION_LATENCY_MS,
) -> ReadinessReport:
    """All readiness checks for `role` taking all traffic; reuses `status` when already read."""
    status = status or read_status(clients, topology)
    target = topology.role(role)
    checks = (*region_checks(status, target), _alias_targets(status))
    route53 = clients.route53()
    tasks: dict[str, Callable[[], Any]] = {
        "capacity": lambda: read_capacity(
            clients, target, topology.other(role), topology.names.table_name
        ),
        "zone": lambda: read_accelerated_recovery(route53, topology.hosted_zone_id),
    }
    # read_capacity waits read_deadline() for its own reads and returns what it has.
    reads = gather(tasks, read_deadline() + 1.0)
    # read_capacity gathers itself, so only an overrun of this outer bound (a starved machine)
    # leaves no readings: then every capacity check is unknown, never a crash.
    capacity_read = reads["capacity"]
    readings: CapacityReadings | None = capacity_read.value
    if readings is None:
        assert capacity_read.error is not None  # gather gives a value or the error instead
        readings = CapacityReadings.unread(topology.names.table_name, capacity_read.error)
    capacity = capacity_checks(
        readings, max_replication_latency_ms, (target.region, topology.other(role).region)
    )
    recovery = (
        credentials_check(clients.sso_region, clients.credentials_region, topology.primary.region),
        accelerated_recovery_check(reads["zone"]),
    )
    return ReadinessReport(role=role, region=target.region, checks=checks + capacity + recovery)
