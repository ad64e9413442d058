"""A Region's own signals judged from a StatusReport (health check, alarm, composite alarm,
failure switch, and the two Regions' watches on each other): what the shift preflight and each
step of a gradual fallback insist on. Pure functions of what status read."""

from __future__ import annotations

from datetime import UTC, datetime

from opsctl.read.readiness_report import FAIL, PASS, WARN, Check
from opsctl.read.region_status import RegionStatus
from opsctl.read.status_report import StatusReport
from stack_topology import FailureSwitch, RegionTopology, Role


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
    if region.failure_switch == FailureSwitch.HEALTHY:
        return Check("failure-switch", PASS, FailureSwitch.HEALTHY)
    if region.failure_switch == FailureSwitch.FAILING:
        return Check(
            "failure-switch", FAIL, FailureSwitch.FAILING, "the Region is simulating an outage"
        )
    return Check(
        "failure-switch",
        FAIL,
        "missing" if region.failure_switch is None else region.failure_switch,
        f"the failure switch is missing or not {'|'.join(FailureSwitch)}",
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
