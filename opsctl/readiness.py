"""Can a Region take all traffic now? Checks, each pass / warn / fail with the measured value.

`region_checks` judges a Region from a StatusReport (health check, alarm, composite alarm, failure
switch); the shift preflight and the per-step gate of a gradual fallback use it. `assess_readiness`
adds the capacity comparisons between the Regions for `opsctl readiness`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opsctl.aws import AwsClients
from opsctl.status import RegionStatus, StatusReport, read_status
from opsctl.topology import Topology

PASS, WARN, FAIL = "pass", "warn", "fail"


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


def _health(region: RegionStatus) -> Check:
    checkers = (
        f" ({region.checkers_healthy}/{region.checkers_total} checkers)"
        if region.checkers_total is not None
        else ""
    )
    if region.healthy is True:
        return Check("health-check", PASS, f"healthy{checkers}")
    if region.healthy is False:
        return Check("health-check", FAIL, f"unhealthy{checkers}", "HealthCheckStatus is 0")
    return Check(
        "health-check", FAIL, "unknown", "no HealthCheckStatus datapoint in the last 10 minutes"
    )


def _alarm(region: RegionStatus) -> Check:
    if region.alarm == "OK":
        return Check("health-alarm", PASS, "OK")
    if region.alarm == "ALARM":
        return Check("health-alarm", FAIL, f"ALARM since {region.alarm_since}")
    if region.alarm is None:
        return Check("health-alarm", WARN, "missing", "the health-check alarm was not found")
    return Check("health-alarm", WARN, region.alarm, "the alarm has no verdict yet")


def _impaired(region: RegionStatus, deployed: bool) -> Check:
    if not deployed:
        return Check("impaired-alarm", WARN, "not deployed", "no impairedAlarmName in the topology")
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


def _switch(region: RegionStatus) -> Check:
    if region.failure_switch == "healthy":
        return Check("failure-switch", PASS, "healthy")
    if region.failure_switch == "failing":
        return Check("failure-switch", FAIL, "failing", "the Region is simulating an outage")
    return Check(
        "failure-switch",
        FAIL,
        str(region.failure_switch),
        "the failure switch is missing, unreadable or not healthy|failing",
    )


def region_checks(status: StatusReport, role: str, impaired_deployed: bool) -> tuple[Check, ...]:
    """The Region's own signals: what the preflight and each gradual step insist on."""
    region = status.region(role)
    return (_health(region), _alarm(region), _impaired(region, impaired_deployed), _switch(region))


def assess_readiness(
    clients: AwsClients, topology: Topology, role: str, status: StatusReport | None = None
) -> ReadinessReport:
    """All readiness checks for `role` taking all traffic; reuses `status` when already read."""
    status = status or read_status(clients, topology)
    target = topology.role(role)
    checks = region_checks(status, role, target.impaired_alarm_name is not None)
    return ReadinessReport(role=role, region=target.region, checks=checks)
