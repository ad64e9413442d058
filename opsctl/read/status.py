"""`opsctl status`: weights, lever, health, alarms, failure switches and DNS answers, read at once.

Every source is read concurrently under one short deadline. A source that cannot be read (its
Region is down, or Route 53's control plane in us-east-1 is) is listed in `unreadable` and its
fields stay None; the report still says who serves, from what it could read, and says that the
judgement rests on partial data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import dns.inet

from opsctl.aws import AwsClients
from opsctl.change.lever import LeverState, lever_for
from opsctl.change.route53 import RecordState, alias_mismatches, read_records
from opsctl.errors import AwsUnreachable, OpsctlError, RecordsError
from opsctl.model import LeverPosition, Weights, ago
from opsctl.read import signals
from opsctl.read.dns_answers import NO_ANSWER, DnsAnswers, read_dns, zone_answer, zone_servers
from opsctl.read.probe import ApiResponse, Endpoint, call_api
from opsctl.read.signals import (
    AlarmState,
    CheckerCounts,
    gather,
    read_alarms,
    read_checker_counts,
    read_failure_switch,
    read_health_metrics,
)
from stack_topology import ROLES, RegionTopology, Role, Topology

# `[Errno 111] ` before a socket error's words: the number tells an operator nothing.
_ERRNO = re.compile(r"\[Errno -?\d+\] ")
# Seconds the direct probe of a Region's healthUrl waits for an answer.
HEALTH_PROBE_TIMEOUT = 2.0


@dataclass(frozen=True)
class HealthProbe:
    """One GET of the Region's healthUrl from the operator's machine (needs nothing in AWS)."""

    url: str
    status: int | None  # None: no HTTP answer (refused, timed out, not resolvable)
    latency_ms: float
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def __str__(self) -> str:
        if self.status is None:
            return f"no answer ({_ERRNO.sub('', self.error or '')})"
        return f"HTTP {self.status} in {self.latency_ms:.0f} ms"

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "status": self.status,
            "ok": self.ok,
            "latencyMs": round(self.latency_ms, 1),
            "error": self.error,
        }


@dataclass(frozen=True)
class _DirectUrl:
    """The healthUrl's own host, connected at `address` when the zone's name servers know it
    (the sandbox's answer its API names), else as the operator's system resolves it."""

    url: str
    address: str | None = None

    def resolve(self, hostname: str) -> Endpoint:
        parts = urlsplit(self.url)
        return Endpoint(f"{parts.scheme}://{parts.netloc}", parts.netloc, self.address)


def probe_health_url(
    url: str, timeout: float = HEALTH_PROBE_TIMEOUT, servers: Sequence[tuple[str, int]] = ()
) -> HealthProbe:
    """GET the healthUrl; its host is asked of the zone's name servers first (`servers`)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    by_zone = servers and not dns.inet.is_address(host)
    known = zone_answer(host, servers, "A", timeout) if by_zone else ()
    response: ApiResponse = call_api(
        host,
        _DirectUrl(url, known[0] if known else None),
        path=parts.path or "/",
        timeout=timeout,
    )
    return HealthProbe(url, response.status, response.latency_ms, response.error)


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


@dataclass(frozen=True)
class StatusReport:
    record_name: str
    weights: Weights | None  # None: the weighted records could not be read
    regions: tuple[RegionStatus, RegionStatus]
    errors: tuple[str, ...]  # reads that failed; their fields are None
    # Records that do not point at the Region the topology assigns them (see alias_mismatches):
    # then the weights do not say who serves, and the state is inconsistent.
    alias_mismatches: tuple[str, ...] = ()
    unreadable: tuple[str, ...] = ()  # the sources behind `errors`: records, health, lever, ...
    lever: LeverState | None = None  # None: no lever in the topology, or unreadable
    dns: DnsAnswers | None = None  # None: no nameServers in the topology, or none answered
    # Why the weights are missing (raised again by whatever needs them, e.g. a weight change).
    records_error: OpsctlError | None = None
    alarm_region: str = "us-east-1"  # where the health metrics and alarms live
    # Route 53's view of the lever's own health check (its HealthCheckStatus metric): False while
    # the lever takes the primary out of DNS answers; None without data, unreadable or unnamed.
    # It keeps its last known status while the lever's alarm cannot be evaluated.
    lever_check_healthy: bool | None = None
    read_at: datetime | None = None  # when the reads were made (None: now)

    def error_of(self, source: str) -> str | None:
        """Why `source` (e.g. `lever`, `switch:primary`) could not be read; None when it was."""
        return dict(zip(self.unreadable, self.errors, strict=False)).get(source)

    def require_weights(self) -> Weights:
        """The weights, or the error that kept them from being read."""
        if self.weights is None:
            raise self.records_error or RecordsError("the weighted records could not be read")
        return self.weights

    @property
    def lever_engaged(self) -> bool:
        """The lever is engaged and its alarm has taken the primary out of DNS answers."""
        return (
            self.lever is not None
            and self.lever.state == LeverPosition.ENGAGED
            and self.lever.in_effect
        )

    @property
    def serving(self) -> str:
        """primary | secondary | split | none | unknown. With the weights readable, what Route 53
        answers given them and the lever (an engaged lever fails the primary's record, so every
        answer is the secondary's): a handful of DNS samples cannot tell a 10/90 step from all
        on the secondary (8 samples are all secondary 43% of the time), so they corroborate,
        they do not decide. Without the weights, what the DNS answers named, else the lever."""
        if self.weights is not None:
            return "secondary" if self.lever_engaged else self.weights.serving
        if self.dns is not None and self.dns.serving is not None:
            return self.dns.serving
        if self.lever_engaged:
            return "secondary"
        return "unknown"

    @property
    def serving_regions(self) -> tuple[RegionStatus, ...]:
        if self.serving == "split":
            return self.regions
        return tuple(r for r in self.regions if r.role == self.serving)

    def region(self, role: Role | str) -> RegionStatus:
        return self.regions[ROLES.index(Role(role))]

    @property
    def consistent(self) -> bool:
        """Sane: traffic goes somewhere opsctl would send it, and nowhere that is degraded."""
        if self.alias_mismatches or self.serving in ("none", "unknown"):
            return False
        return not any(r.degraded or r in self.dark for r in self.serving_regions)

    @property
    def dark(self) -> tuple[RegionStatus, ...]:
        """Regions that do not answer: the other Region's watcher cannot reach it, or the direct
        probe of its /health got no answer while the other Region's answered (so it is not the
        operator's own network)."""
        found = []
        for region in self.regions:
            other = self.region(Role(region.role).other)
            silent = (
                region.probe is not None
                and region.probe.status is None
                and other.probe is not None
                and other.probe.status is not None
            )
            if silent or (region.watch is not None and region.watch.unreachable):
                found.append(region)
        return tuple(found)

    @property
    def unanswered(self) -> int:
        """DNS answers whose addresses did not answer when asked over HTTPS: players sent there
        get nothing."""
        return self.dns.counts.get(NO_ANSWER, 0) if self.dns is not None else 0

    def _why_dark(self, region: RegionStatus, now: datetime) -> str:
        """`primary (us-east-1) does not answer (direct probe: no answer in 2 s; unreachable
        from us-west-2 for 3m)`."""
        why = []
        if region.probe is not None and region.probe.status is None:
            why.append(f"direct probe: {region.probe}")
        unreachable = region.unreachable_for(now)
        if unreachable:
            why.append(unreachable)
        return f"{region.role} ({region.region}) does not answer ({'; '.join(why)})"

    def _what_serves(self) -> str:
        if self.serving == "split":
            if self.weights is None and self.dns is not None:
                counts = " / ".join(f"{r} {self.dns.of(r)}" for r in ROLES)
                return f"traffic is split (DNS answers: {counts})"
            shares = " / ".join(f"{r.role} {r.share or 0:.0%}" for r in self.regions)
            return f"traffic is split: {shares}"
        serving = self.region(self.serving)
        text = f"{serving.role} ({serving.region}) serves all traffic"
        if self.lever_engaged:
            text += " (data-plane lever engaged)"
        return text

    @staticmethod
    def _why_degraded(region: RegionStatus, now: datetime) -> str:
        """`primary (us-east-1) has been unreachable from us-west-2 for 3m`: the watch from the
        other Region is what still speaks when this Region's own signals are dark."""
        unreachable = region.unreachable_for(now)
        why = f"has been {unreachable}" if unreachable else "is unhealthy"
        return f"{region.role} ({region.region}) {why}"

    @property
    def sources(self) -> str:
        """What the judgement of who serves rests on, e.g. `DNS answers, lever`."""
        used = []
        if self.weights is not None:
            used.append("weights")
        if self.lever is not None:
            used.append("lever")
        if self.dns is not None and self.dns.serving is not None:
            used.append("DNS answers")
        return ", ".join(used) or "nothing readable"

    @property
    def dns_note(self) -> str | None:
        """What the DNS samples say beside the judgement, with their counts: they agree, name a
        Region that should get no traffic, or hold answers that name no Region (unclassified,
        unanswered, empty, failed), which are shown, never dropped."""
        if self.dns is None:
            return None
        expected = {r.role for r in self.serving_regions}
        unexpected = [r for r in ROLES if self.dns.of(r) and r not in expected]
        if unexpected and self.serving not in ("none", "unknown"):
            return f"DNS DISAGREES: {self.dns.summary()}"
        if self.dns.not_a_region:
            return f"DNS: {self.dns.summary()}; {self.dns.not_a_region} name no Region"
        return f"DNS: {self.dns.summary()}"

    @property
    def headline(self) -> str:
        if self.alias_mismatches:
            return (
                "INCONSISTENT: the records do not point where the topology says, so the weights "
                f"do not tell who serves: {'; '.join(self.alias_mismatches)}"
            )
        now = self.read_at or datetime.now(UTC)
        if self.serving == "unknown" and self.unanswered and self.dark:
            # What players meet: DNS sends them to addresses that do not answer.
            text = (
                f"DNS sends players to a Region that does not answer ({self.unanswered} of "
                f"{self.dns.total if self.dns else 0} answers unanswered): "
                + " and ".join(self._why_dark(r, now) for r in self.dark)
            )
        elif self.serving in ("unknown", "none"):
            text = (
                "who serves is unknown: neither the weights, the lever nor DNS could be read"
                if self.serving == "unknown"
                else "both weights are 0: Route 53 splits traffic equally (not a state opsctl sets)"
            )
            unreachable = [r for r in self.regions if r.unreachable_for(now)]
            if unreachable:
                text += "; " + " and ".join(self._why_degraded(r, now) for r in unreachable)
        else:
            text = self._what_serves()
            degraded = [r for r in self.serving_regions if r.degraded]
            dark = [r for r in self.serving_regions if r in self.dark and not r.degraded]
            if dark or degraded:
                text = f"{text}, but " + " and ".join(
                    [self._why_dark(r, now) for r in dark]
                    + [self._why_degraded(r, now) for r in degraded]
                )
            elif self.unverified:
                names = " and ".join(f"{r.role} ({r.region})" for r in self.unverified)
                text = f"{text}; health of {names} unknown (no HealthCheckStatus data)"
            else:
                text = f"{text}; healthy"
        if self.dns_note is not None:
            text += f"; {self.dns_note}"
        if self.partial:
            text += (
                f" [partial data: unreadable {'; '.join(self.partial)}; judged from {self.sources}]"
            )
        return text

    def source(self, key: str) -> tuple[str, str]:
        """Where a source of `unreadable` is read and what it is, in words: `records` ->
        (`us-east-1`, `weights`), `switch:secondary` -> (`us-west-2`, `secondary's failure
        switch`)."""
        name, _, role = key.partition(":")
        route53 = self.alarm_region  # Route 53's control plane and its metrics
        if not role:
            return {
                "records": (route53, "weights"),
                "health": (route53, "health metric"),
                "alarms": (route53, "health alarms"),
                "lever": (self.regions[1].region, "lever"),
                "dns": ("name servers", "DNS answers"),
            }.get(name, ("", name))
        region = self.region(role)
        return {
            "checkers": (route53, f"{role}'s health checkers"),
            "switch": (region.region, f"{role}'s failure switch"),
            "impaired": (region.region, f"{role}'s impaired alarm"),
            "watch": (self.region(Role(role).other).region, f"watch on the {role}"),
            "probe": (region.region, f"{role}'s /health"),
        }.get(name, (region.region, name))

    @property
    def partial(self) -> tuple[str, ...]:
        """Every source that could not be read, in words, grouped by where it is read:
        `us-east-1: weights, health metric, ...`."""
        by_place: dict[str, list[str]] = {}
        for key in self.unreadable:
            place, what = self.source(key)
            by_place.setdefault(place, []).append(what)
        return tuple(f"in {place}: {', '.join(whats)}" for place, whats in by_place.items())

    @property
    def unverified(self) -> tuple[RegionStatus, ...]:
        """Regions taking traffic whose health could not be read, and nothing says degraded:
        neither called healthy nor unhealthy."""
        return tuple(r for r in self.serving_regions if r.healthy is None and not r.degraded)

    @property
    def advice(self) -> str | None:
        """The command to run when traffic sits on a degraded Region and the other is fine."""
        if self.alias_mismatches:
            return "fix the records or the topology (setIdentifier, aliasTarget) before shifting"
        primary, secondary = self.regions

        def sick(region: RegionStatus) -> bool:
            return region.degraded or region in self.dark

        if self.serving == "unknown" and self.unanswered and self.dark:
            serving = {r.role for r in self.dark}
        elif self.consistent or self.serving in ("none", "unknown"):
            return None
        else:
            serving = {r.role for r in self.serving_regions}
        if "primary" in serving and sick(primary) and not sick(secondary):
            return 'opsctl failover --approve --reason "..."'
        if "secondary" in serving and sick(secondary) and not sick(primary):
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
            "lever": self.lever.to_json() if self.lever else None,
            "dns": self.dns.to_json() if self.dns else None,
            "unreadable": list(self.unreadable),
            "errors": list(self.errors),
        }


def _region_status(
    topology: RegionTopology,
    weights: Weights | None,
    health: dict[str, bool | None] | None,
    checkers: CheckerCounts | None,
    alarms: dict[str, AlarmState] | None,
    switch: str | None,
    impaired: AlarmState | None,
    probe: HealthProbe | None,
    watch: AlarmState | None,
) -> RegionStatus:
    alarm = (alarms or {}).get(topology.alarm_name)
    watch_view = None
    if topology.watch is not None:
        watch_view = WatchView(
            topology.watch.region,
            watch.state if watch else None,
            watch.since if watch else None,
        )
    return RegionStatus(
        role=topology.role,
        region=topology.region,
        set_identifier=topology.set_identifier,
        weight=weights.of(topology.role) if weights else None,
        share=weights.share(topology.role) if weights else None,
        healthy=(health or {}).get(topology.health_check_id),
        checkers_healthy=checkers.healthy if checkers else None,
        checkers_total=checkers.total if checkers else None,
        alarm=alarm.state if alarm else None,
        alarm_since=alarm.since if alarm else None,
        alarm_missing_data=alarm.missing_data if alarm else False,
        failure_switch=switch,
        impaired_alarm=impaired.state if impaired else None,
        impaired_alarm_since=impaired.since if impaired else None,
        probe=probe,
        watch=watch_view,
    )


def read_status(
    clients: AwsClients, topology: Topology, deadline: float | None = None
) -> StatusReport:
    """Every read runs concurrently under `deadline` (default signals.read_deadline()): wall time is
    one round trip when AWS answers, and at most the deadline when a Region does not.

    Weighted records that are readable but malformed raise RecordsError; any read that fails or
    does not answer in time leaves its fields None and is listed in `unreadable`, because during
    an incident one Region (or Route 53's control plane) may be down and the operator still needs
    the rest.
    """
    deadline = signals.read_deadline() if deadline is None else deadline
    route53 = clients.route53()
    alarm_cloudwatch = clients.client("cloudwatch", topology.alarm_region)
    # Clients are created here, up front, so the threads only make calls.
    ssm = {r.role: clients.client("ssm", r.region) for r in topology.regions}
    regional_cloudwatch = {r.role: clients.client("cloudwatch", r.region) for r in topology.regions}
    watching_cloudwatch = {
        r.role: clients.client("cloudwatch", r.watch.region) for r in topology.regions if r.watch
    }
    lever = lever_for(clients, topology)

    health_check_ids = [r.health_check_id for r in topology.regions]
    lever_check_id = topology.out_of_service.health_check_id if topology.out_of_service else None
    if lever_check_id:
        health_check_ids.append(lever_check_id)

    tasks: dict[str, Callable[[], Any]] = {
        "records": lambda: read_records(route53, topology),
        "health": lambda: read_health_metrics(alarm_cloudwatch, health_check_ids),
        "alarms": lambda: read_alarms(alarm_cloudwatch, [r.alarm_name for r in topology.regions]),
    }
    if lever is not None:
        tasks["lever"] = lever.read_state
    if topology.name_servers:
        tasks["dns"] = lambda: read_dns(topology, deadline=max(0.5, deadline - 0.2))

    def reads_of(region: RegionTopology) -> dict[str, Callable[[], Any]]:
        role = region.role
        reads: dict[str, Callable[[], Any]] = {
            "checkers": lambda: read_checker_counts(route53, region.health_check_id),
            "switch": lambda: read_failure_switch(ssm[role], region.failure_switch),
        }
        if impaired := region.impaired_alarm_name:
            reads["impaired"] = lambda: read_alarms(regional_cloudwatch[role], [impaired])[impaired]
        if region.watch is not None:
            # Read in the watching Region: what pages about this Region when it is dark.
            watch_alarm = region.watch.alarm_name
            reads["watch"] = lambda: read_alarms(watching_cloudwatch[role], [watch_alarm])[
                watch_alarm
            ]
        if health_url := region.health_url:
            reads["probe"] = lambda: probe_health_url(
                health_url,
                min(HEALTH_PROBE_TIMEOUT, deadline),
                zone_servers(topology, HEALTH_PROBE_TIMEOUT) if topology.name_servers else (),
            )
        return reads

    for region in topology.regions:
        tasks.update({f"{read}:{region.role}": task for read, task in reads_of(region).items()})
    outcomes = gather(tasks, deadline)

    records = outcomes["records"]
    aws_reads = [key for key in outcomes if key != "dns" and not key.startswith("probe:")]
    # Partial data is for an outage. Records that are wrong, an error AWS answered with (access
    # denied, no such zone) or no credentials are the operator's to fix, and so is an AWS that
    # answers nothing at all (a wrong endpoint, no network): one line, exit 1.
    if records.error is not None and (
        not isinstance(records.error, AwsUnreachable)
        or all(outcomes[key].error for key in aws_reads)
    ):
        raise records.error
    state: RecordState | None = records.value
    weights = state.weights if state else None

    def value(key: str) -> Any:
        return outcomes[key].value if key in outcomes else None

    regions = tuple(
        _region_status(
            region,
            weights,
            value("health"),
            value(f"checkers:{region.role}"),
            value("alarms"),
            value(f"switch:{region.role}"),
            value(f"impaired:{region.role}"),
            value(f"probe:{region.role}"),
            value(f"watch:{region.role}"),
        )
        for region in topology.regions
    )
    failed = {key: outcome.error for key, outcome in outcomes.items() if outcome.error}
    return StatusReport(
        record_name=topology.record_name,
        weights=weights,
        regions=(regions[0], regions[1]),
        errors=tuple(error.message for error in failed.values()),
        alias_mismatches=alias_mismatches(state, topology) if state else (),
        unreadable=tuple(failed),
        lever=value("lever"),
        dns=value("dns"),
        records_error=records.error,
        alarm_region=topology.alarm_region,
        lever_check_healthy=(value("health") or {}).get(lever_check_id),
        read_at=datetime.now(UTC),
    )
