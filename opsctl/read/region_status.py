"""One Region as `opsctl status` reads it: its weight, health, alarms, failure switch, direct
probe and the other Region's watch on it, and whether any of them says it should not take
traffic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from opsctl.model import ago
from opsctl.read.health_probe import HealthProbe


@dataclass(frozen=True)
class WatchView:
    """A Region as the other Region's watcher sees it: the alarm there on this one
    (`<app>-<role>-unreachable`), which pages from that Region, so it still speaks when this
    Region's own signals (and us-east-1's) are dark."""

    region: str  # the watching Region, where the alarm is
    alarm: str | None  # OK | ALARM | INSUFFICIENT_DATA; None: missing or unreadable
    since: str | None

    @property
    def unreachable(self) -> bool:
        return self.alarm == "ALARM"

    def to_json(self) -> dict[str, Any]:
        return {"region": self.region, "alarm": self.alarm, "since": self.since}


@dataclass(frozen=True)
class RegionStatus:
    role: str
    region: str
    set_identifier: str
    weight: int | None  # None: the weighted records could not be read
    share: float | None  # fraction of traffic by weight, 0.0-1.0; None with the weight
    healthy: bool | None  # None: no HealthCheckStatus data (or it could not be read)
    checkers_healthy: int | None
    checkers_total: int | None
    alarm: str | None  # OK | ALARM | INSUFFICIENT_DATA; None: alarm missing or unreadable
    alarm_since: str | None
    failure_switch: str | None  # healthy | failing; None: missing or unreadable
    # The Region's own composite "Region impaired" alarm; None when not deployed or unreadable.
    impaired_alarm: str | None = None
    impaired_alarm_since: str | None = None
    probe: HealthProbe | None = None  # None: no healthUrl, or the probe was not made
    # The health alarm is in ALARM only because its metric's data is missing.
    alarm_missing_data: bool = False
    watch: WatchView | None = None  # None: no watch in the topology

    @property
    def health(self) -> str:
        """healthy | unhealthy | unknown (no HealthCheckStatus data, or unreadable)."""
        return {True: "healthy", False: "unhealthy", None: "unknown"}[self.healthy]

    @property
    def checkers(self) -> str | None:
        """`healthy/total` Route 53 checkers, when GetHealthCheckStatus could be read."""
        if self.checkers_total is None:
            return None
        return f"{self.checkers_healthy}/{self.checkers_total}"

    @property
    def degraded(self) -> bool:
        """True when a signal says this Region should not take traffic. A probe that got no
        answer is not one (it may be the operator's own network); a non-2xx answer is."""
        probe_failed = (
            self.probe is not None and self.probe.status is not None and not self.probe.ok
        )
        return (
            self.healthy is False
            or self.alarm == "ALARM"
            or self.impaired_alarm == "ALARM"
            or (self.watch is not None and self.watch.unreachable)
            or probe_failed
        )

    def unreachable_for(self, now: datetime) -> str | None:
        """`unreachable from us-west-2 for 3m` while the other Region's watcher cannot reach this
        one; None otherwise."""
        if self.watch is None or not self.watch.unreachable:
            return None
        return f"unreachable from {self.watch.region} for {ago(self.watch.since, now)}"

    def to_json(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "region": self.region,
            "setIdentifier": self.set_identifier,
            "weight": self.weight,
            "share": None if self.share is None else round(self.share, 4),
            "healthy": self.healthy,
            "checkersHealthy": self.checkers_healthy,
            "checkersTotal": self.checkers_total,
            "alarm": self.alarm,
            "alarmSince": self.alarm_since,
            "failureSwitch": self.failure_switch,
            "impairedAlarm": self.impaired_alarm,
            "impairedAlarmSince": self.impaired_alarm_since,
            "probe": self.probe.to_json() if self.probe else None,
            "watch": self.watch.to_json() if self.watch else None,
        }
