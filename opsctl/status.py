"""`opsctl status`: weights, health, alarms and failure switches of both Regions, read at once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opsctl.aws import AwsClients
from opsctl.route53 import RecordState, Weights, alias_mismatches, read_records
from opsctl.signals import (
    AlarmState,
    CheckerCounts,
    gather,
    read_alarms,
    read_checker_counts,
    read_failure_switch,
    read_health_metrics,
)
from opsctl.topology import RegionTopology, Topology


@dataclass(frozen=True)
class RegionStatus:
    role: str
    region: str
    set_identifier: str
    weight: int
    share: float  # fraction of traffic, 0.0-1.0
    healthy: bool | None  # None: no HealthCheckStatus data (or it could not be read)
    checkers_healthy: int | None
    checkers_total: int | None
    alarm: str | None  # OK | ALARM | INSUFFICIENT_DATA; None: alarm missing or unreadable
    alarm_since: str | None
    failure_switch: str | None  # healthy | failing; None: missing or unreadable
    # The Region's own composite "Region impaired" alarm; None when not deployed or unreadable.
    impaired_alarm: str | None = None
    impaired_alarm_since: str | None = None

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
        """True when a signal says this Region should not take traffic."""
        return self.healthy is False or self.alarm == "ALARM" or self.impaired_alarm == "ALARM"

    def to_json(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "region": self.region,
            "setIdentifier": self.set_identifier,
            "weight": self.weight,
            "share": round(self.share, 4),
            "healthy": self.healthy,
            "checkersHealthy": self.checkers_healthy,
            "checkersTotal": self.checkers_total,
            "alarm": self.alarm,
            "alarmSince": self.alarm_since,
            "failureSwitch": self.failure_switch,
            "impairedAlarm": self.impaired_alarm,
            "impairedAlarmSince": self.impaired_alarm_since,
        }


@dataclass(frozen=True)
class StatusReport:
    record_name: str
    weights: Weights
    regions: tuple[RegionStatus, RegionStatus]
    errors: tuple[str, ...]  # reads that failed; their fields are None
    # Records that do not point at the Region the topology assigns them (see alias_mismatches):
    # then the weights do not say who serves, and the state is inconsistent.
    alias_mismatches: tuple[str, ...] = ()

    @property
    def serving(self) -> str:
        return self.weights.serving

    def region(self, role: str) -> RegionStatus:
        return self.regions[0] if role == "primary" else self.regions[1]

    @property
    def consistent(self) -> bool:
        """Sane: traffic goes somewhere opsctl would send it, and nowhere that is degraded."""
        if self.alias_mismatches:
            return False
        if self.serving == "none":
            return False
        return not any(r.degraded for r in self.regions if r.share > 0)

    @property
    def headline(self) -> str:
        if self.alias_mismatches:
            return (
                "INCONSISTENT: the records do not point where the topology says, so the weights "
                f"do not tell who serves: {'; '.join(self.alias_mismatches)}"
            )
        if self.serving == "none":
            return "both weights are 0: Route 53 splits traffic equally (not a state opsctl sets)"
        if self.serving == "split":
            shares = " / ".join(f"{r.role} {r.share:.0%}" for r in self.regions)
            text = f"traffic is split: {shares}"
        else:
            serving = self.region(self.serving)
            text = f"{serving.role} ({serving.region}) serves all traffic"
        degraded = [r for r in self.regions if r.share > 0 and r.degraded]
        if degraded:
            names = " and ".join(f"{r.role} ({r.region})" for r in degraded)
            return f"{text}, but {names} is unhealthy"
        if self.unverified:
            names = " and ".join(f"{r.role} ({r.region})" for r in self.unverified)
            return f"{text}; health of {names} unknown (no HealthCheckStatus data)"
        return f"{text}; healthy"

    @property
    def unverified(self) -> tuple[RegionStatus, ...]:
        """Regions taking traffic whose health could not be read, and nothing says degraded:
        neither called healthy nor unhealthy."""
        return tuple(
            r for r in self.regions if r.share > 0 and r.healthy is None and not r.degraded
        )

    @property
    def advice(self) -> str | None:
        """The command to run when traffic sits on a degraded Region and the other is fine."""
        if self.alias_mismatches:
            return "fix the records or the topology (setIdentifier, aliasTarget) before shifting"
        if self.consistent or self.serving == "none":
            return None
        primary, secondary = self.regions
        if primary.share > 0 and primary.degraded and not secondary.degraded:
            return 'opsctl failover --approve --reason "..."'
        if secondary.share > 0 and secondary.degraded and not primary.degraded:
            return 'opsctl fallback --approve --reason "..."'
        return "both Regions look degraded: do not shift traffic; investigate first"

    def to_json(self) -> dict[str, Any]:
        return {
            "recordName": self.record_name,
            "serving": self.serving,
            "consistent": self.consistent,
            "headline": self.headline,
            "advice": self.advice,
            "regions": [r.to_json() for r in self.regions],
            "aliasMismatches": list(self.alias_mismatches),
            "errors": list(self.errors),
        }


def _region_status(
    topology: RegionTopology,
    weights: Weights,
    health: dict[str, bool | None] | None,
    checkers: CheckerCounts | None,
    alarms: dict[str, AlarmState] | None,
    switch: str | None,
    impaired: AlarmState | None,
) -> RegionStatus:
    alarm = (alarms or {}).get(topology.alarm_name)
    return RegionStatus(
        role=topology.role,
        region=topology.region,
        set_identifier=topology.set_identifier,
        weight=weights.of(topology.role),
        share=weights.share(topology.role),
        healthy=(health or {}).get(topology.health_check_id),
        checkers_healthy=checkers.healthy if checkers else None,
        checkers_total=checkers.total if checkers else None,
        alarm=alarm.state if alarm else None,
        alarm_since=alarm.since if alarm else None,
        failure_switch=switch,
        impaired_alarm=impaired.state if impaired else None,
        impaired_alarm_since=impaired.since if impaired else None,
    )


def read_status(clients: AwsClients, topology: Topology) -> StatusReport:
    """Every read runs concurrently: wall time is about one AWS round trip, whatever the count.

    The weighted records must be readable and well-formed (RecordsError otherwise); any other read
    that fails leaves its fields None and adds a line to `errors`, because during an incident one
    Region's endpoints may be down and the operator still needs the rest.
    """
    route53 = clients.route53()
    alarm_cloudwatch = clients.client("cloudwatch", topology.alarm_region)
    # Clients are created here, up front, so the threads only make calls.
    ssm = {r.role: clients.client("ssm", r.region) for r in topology.regions}
    regional_cloudwatch = {r.role: clients.client("cloudwatch", r.region) for r in topology.regions}

    tasks: dict[str, Callable[[], Any]] = {
        "records": lambda: read_records(route53, topology),
        "health": lambda: read_health_metrics(
            alarm_cloudwatch, [r.health_check_id for r in topology.regions]
        ),
        "alarms": lambda: read_alarms(alarm_cloudwatch, [r.alarm_name for r in topology.regions]),
    }
    for region in topology.regions:
        role = region.role
        tasks[f"checkers:{role}"] = lambda r=region: read_checker_counts(route53, r.health_check_id)
        tasks[f"switch:{role}"] = lambda r=region: read_failure_switch(
            ssm[r.role], r.failure_switch
        )
        if region.impaired_alarm_name:
            tasks[f"impaired:{role}"] = lambda r=region: read_alarms(
                regional_cloudwatch[r.role], [r.impaired_alarm_name]
            )[r.impaired_alarm_name]
    outcomes = gather(tasks)

    records = outcomes.pop("records")
    if records.error is not None:
        raise records.error
    state: RecordState = records.value  # type: ignore[assignment]
    errors = tuple(outcome.error.message for outcome in outcomes.values() if outcome.error)
    regions = tuple(
        _region_status(
            region,
            state.weights,
            outcomes["health"].value,
            outcomes[f"checkers:{region.role}"].value,
            outcomes["alarms"].value,
            outcomes[f"switch:{region.role}"].value,
            outcomes[f"impaired:{region.role}"].value
            if f"impaired:{region.role}" in outcomes
            else None,
        )
        for region in topology.regions
    )
    return StatusReport(
        record_name=topology.record_name,
        weights=state.weights,
        regions=(regions[0], regions[1]),
        errors=errors,
        alias_mismatches=alias_mismatches(state, topology),
    )
