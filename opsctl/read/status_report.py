"""What `opsctl status` reports: the judgement over both Regions' signals: who serves, whether
that is sane, the headline, the advice, and which sources it rests on when some could not be
read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from opsctl.errors import OpsctlError, RecordsError
from opsctl.model import LeverPosition, Weights
from opsctl.read.dns_answers import NO_ANSWER, DnsAnswers
from opsctl.read.lever_state import LeverState
from opsctl.read.region_status import RegionStatus
from stack_topology import ROLES, Role


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
        lever = self.lever
        return lever is not None and lever.state == LeverPosition.ENGAGED and lever.in_effect

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
