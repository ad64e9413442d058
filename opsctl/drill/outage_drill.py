"""The region-outage drill: the primary Region (us-east-1) lost as a whole, recovered with the
data-plane lever, while players keep playing through DNS answers they cache for the TTL.

Steps (each checked; a failed check stops the drill with DrillFailed):
 1. the primary serves and every Region is healthy;
 2. a player creates a game session (in the primary); it replicates to the secondary;
 3. once the secondary's watch on the primary reads OK, the primary Region goes out: its API
    front black-holes connections and every API call signed for it goes unanswered — Route 53's
    control plane, us-east-1 CloudWatch and SNS with it; Route 53's data plane (health
    checkers, DNS) keeps working;
 4. the secondary's watcher cannot reach the primary: its alarm `<app>-primary-unreachable`
    fires in the secondary Region and its notice (through that Region's `<app>-alerts`) reaches
    the operator's inbox — outage -> alarm, outage -> page (a notice of a state change after
    the outage); the alarm holds once every watcher run begun before the outage has ended (a
    run lasts at most the watcher's timeout); us-east-1's health alarm and topic are out with
    the Region and page nobody;
 5. `opsctl status` shows the secondary's view, without a traceback or a long wait, naming the
    primary unreachable from the secondary;
 6. `failover` (auto) cannot use the weights and engages the lever instead, the plan saying why;
    measured from approval: the lever alarm in ALARM, DNS answering the secondary, the first
    player served there;
 7. players follow once their cached answer's TTL has run out: requests sent after the DNS
    switch plus the TTL all succeed;
 8. the session created before the outage is readable in the secondary, a retried POST with its
    Idempotency-Key returns it (no duplicate), and a new session is created there;
 9. no notice came from us-east-1 while it was out; the primary Region is restored: the backlog
    replicates (the new session is readable in the primary), the weights never moved, and the
    primary's alarms (and the secondary's watch on it) clear;
10. fallback: the weights follow the lever, the lever is released, then the steps 10/50/100 — no
    player request fails while it runs;
11. the primary serves again.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from opsctl.drill.engine import Drill
from opsctl.drill.inbox import alarm_region, state_changed_at
from opsctl.drill.lever_steps import failover_with_lever, fallback_with_lever
from opsctl.drill.model import (
    CreatedSession,
    DrillFailed,
    DrillReport,
    DrillTarget,
    FoundState,
    Restored,
)
from opsctl.drill.outage_sandbox import OutageSandbox
from opsctl.drill.players import PLAYER_TIMEOUT_SECONDS
from opsctl.drill.scenario import Scenario
from opsctl.drill.steps import (
    check_idempotent_retry,
    check_session_readable,
    create_session,
    create_session_on_secondary,
    primary_serving_again,
    primary_serving_all_healthy,
    wait_primary_clear,
)
from opsctl.drill.timeline import failed
from opsctl.read.probe import ApiResponse
from opsctl.read.records import read_records
from opsctl.read.signals import read_alarms

# `opsctl status` with the primary Region gone must answer within this (it bounds every read).
STATUS_BOUND_SECONDS = 20.0


class RegionOutageDrill(Drill):
    """us-east-1 lost as a whole; the lever moves traffic where the weights cannot."""

    scenario = Scenario.REGION_OUTAGE
    title = "region-outage drill"

    def __init__(self, target: DrillTarget, sandbox: OutageSandbox, **kwargs: Any) -> None:
        super().__init__(target, **kwargs)
        self.sandbox = sandbox
        self.outage_wall: datetime | None = None
        self.status_during_outage: dict[str, Any] | None = None
        self.primary = self.topology.primary.region
        self.secondary = self.topology.secondary.region
        self.phases = (
            ("steady state", ""),
            ("outage → failover approved", f"{self.primary} out"),
            ("failover → DNS switch + TTL", "failover approved"),
            ("on the secondary", "DNS switch + TTL"),
            ("restored → fallback", f"{self.primary} restored"),
            ("fallback", "fallback approved"),
            ("primary again", "primary serves again"),
            ("restore", "restoring as found"),
        )

    def restore(self, found: FoundState, why: str) -> Restored:
        """The Region comes back first: the weights and the switches are read and written
        through its control plane."""
        if self.sandbox.is_out(self.primary):
            self.sandbox.bring_back(self.primary)
            self.mark(f"{self.primary} restored")
        return super().restore(found, why)

    def run(self) -> DrillReport:
        if self.topology.out_of_service is None:
            raise DrillFailed(
                "the stack declares no data-plane lever (the topology has no outOfService): "
                "nothing can move traffic while us-east-1 is out"
            )
        primary_serving_all_healthy(self)
        before = create_session(self)
        self.wait_replicated(before, self.secondary)
        weights_before = self.weights()
        lost_at, lost_wall = self.lose_primary()
        self.detect_outage(lost_at, lost_wall)
        self.status_without_primary()
        dns_at = failover_with_lever(self, self.sandbox.dns_region)
        settled = self.clients_follow(lost_at, dns_at)
        during = self.sessions_survive(before)
        self.no_page_from_the_dark_region()
        self.restore_primary(during, weights_before)
        fallback_with_lever(self, interval=30.0 * self.sandbox.time_scale)
        primary_serving_again(self, during)
        self.nothing_failed_since(settled)
        self.report.note = (
            "outage -> alarm from the alarm's own state-change time (in the secondary Region); "
            "the page, lever and DNS times are when the drill first saw them (polled)."
        )
        return self.report

    # ---- reading the world around opsctl ------------------------------------------------------

    def _read_session(self, region: str, session: CreatedSession) -> ApiResponse:
        return self.sandbox.read_from(region, f"/sessions/{session.session_id}", self.token)

    def weights(self) -> dict[str, int]:
        return read_records(self.clients.route53(), self.topology).weights.as_dict()

    # ---- the steps ------------------------------------------------------------------------------

    def wait_replicated(self, session: CreatedSession, region: str) -> None:
        took = self.wait_until(
            f"session {session.session_id[:8]} to replicate to {region}",
            lambda: self._read_session(region, session).status == 200,
            self.signal_timeout,
        )
        self.passed(f"session {session.session_id[:8]} replicated to {region} in {took:.2f}s")

    def lose_primary(self) -> tuple[float, datetime]:
        watch = self.topology.primary.watch
        if watch is not None:
            # The page that counts comes after the outage: start from a watch that sees the
            # primary (on a loaded machine a slow answer can fire it for a moment).
            self.wait_until(
                f"{watch.alarm_name} to read OK before the outage",
                lambda: self._watch_state() == "OK",
                self.signal_timeout,
            )
        mode = self.sandbox.mode.value
        self.step(f"{self.primary} goes out as a whole ({mode}: connections hang)")
        self.expect_failures()  # until the players follow DNS to the secondary
        self.sandbox.take_out(self.primary)
        lost_wall = datetime.now(UTC)
        lost_at = self.mark(f"{self.primary} out")
        self.passed(f"{self.primary} is out: its API front, and every API call signed for it, hang")
        return lost_at, lost_wall

    def detect_outage(self, lost_at: float, lost_wall: datetime) -> None:
        """The page comes from the secondary: its watcher cannot reach the primary, its alarm
        fires in us-west-2 and notifies through that Region's topic. us-east-1's health alarm
        and its topic are out with the Region, as on AWS."""
        watch = self.topology.primary.watch
        if watch is None:
            raise DrillFailed(
                "the stack declares no watch on the primary (regions.primary.watch): nothing "
                f"outside {self.primary} would page about it"
            )
        self.step(f"the primary is unreachable from {watch.region}; the page comes from there")
        # Only a page about this outage counts: one that changed state after it.
        notice = self.inbox.wait_for_notice(watch.alarm_name, "ALARM", since=lost_wall)
        if notice is None:
            raise DrillFailed(
                f"no ALARM notice for {watch.alarm_name} after the outage within "
                f"{self.signal_timeout:.0f}s (got {self.inbox.received_names()})"
            )
        seen_at = self.mark(f"page from {watch.region}: primary unreachable")
        to_notice = seen_at - lost_at
        changed = state_changed_at(notice)
        to_alarm = (changed - lost_wall).total_seconds() if changed else None
        self.passed(
            f"{watch.alarm_name} in ALARM in {watch.region}"
            + (f" {to_alarm:.1f}s after the outage" if to_alarm is not None else "")
            + f"; its notice reached the operator after {to_notice:.1f}s"
        )
        if to_alarm is not None:
            self.measure(
                f"outage → primary unreachable from {watch.region} (alarm)", f"{to_alarm:.1f}s"
            )
        self.measure(f"outage → page from {watch.region} seen", f"{to_notice:.1f}s", True)
        self.outage_wall = lost_wall
        self._watch_holds(lost_wall)

    def _watch_holds(self, lost_wall: datetime) -> None:
        """The watch stays in ALARM once no watcher run begun before the outage can still
        publish: such a run may report the primary healthy after the alarm fired (on AWS too,
        in the outage's first minute), turning the alarm OK for a moment."""
        watch = self.topology.primary.watch
        assert watch is not None  # detect_outage checked it
        bound = self.sandbox.watcher_run_seconds(watch.region)

        def holds() -> bool:
            settled = (datetime.now(UTC) - lost_wall).total_seconds() >= bound
            return settled and self._watch_state() == "ALARM"

        took = self.wait_until(f"{watch.alarm_name} to hold ALARM", holds, self.signal_timeout)
        self.passed(
            f"{watch.alarm_name} holds ALARM {took:.1f}s later, once every watcher run begun "
            f"before the outage has ended (a run lasts at most {bound:g}s)"
        )

    def _watch_state(self) -> str | None:
        """The state of the secondary's watch on the primary, read in the watching Region."""
        watch = self.topology.primary.watch
        assert watch is not None  # the topology's watch is checked before it is read
        cloudwatch = self.clients.client("cloudwatch", watch.region)
        return read_alarms(cloudwatch, [watch.alarm_name])[watch.alarm_name].state

    def no_page_from_the_dark_region(self) -> None:
        """While us-east-1 is out, its CloudWatch evaluates nothing and its SNS delivers nothing.

        A notice is judged by when its alarm changed state (the notice's StateChangeTime), not by
        when the inbox was read: the OK notice of a watch that settled just before the outage can
        still be in the queue after it, as on AWS."""
        assert self.outage_wall is not None  # set by detect_outage, which runs first
        self.inbox.receive()
        restored = datetime.now(UTC)
        from_dark = [
            n.get("AlarmName")
            for _, n in self.inbox.notices
            if alarm_region(n) == self.primary
            and self.outage_wall <= (state_changed_at(n) or restored) <= restored
        ]
        self.check(
            not from_dark,
            f"no notice came from {self.primary} while it was out",
            f"notices from {self.primary} while it was out: {from_dark}",
        )
        self.measure(
            f"pages from {self.primary} during its outage", str(len(from_dark)), not from_dark
        )

    def status_without_primary(self) -> None:
        self.step("opsctl status with the primary Region gone")
        self.say("  $ opsctl status")
        done, elapsed = self.sandbox.run_opsctl(
            ("status",), self.audit_log, timeout=STATUS_BOUND_SECONDS * 3
        )
        self.mark("opsctl status")
        clean = done.returncode == 0 and "Traceback" not in done.stderr
        self.check(
            clean and elapsed <= STATUS_BOUND_SECONDS,
            f"opsctl status answered in {elapsed:.1f}s (exit 0, no traceback) with the "
            "secondary's view",
            f"opsctl status: exit {done.returncode} after {elapsed:.1f}s (bound "
            f"{STATUS_BOUND_SECONDS:.0f}s): {done.stderr.strip()[-300:]}",
        )
        self.measure("opsctl status without the primary", f"{elapsed:.1f}s", True)
        shown = " ".join(done.stdout.split())
        # Either headline names it: "primary (us-east-1) has been unreachable from us-west-2
        # for 3m", or, once DNS sends players to its silent addresses, "... primary (us-east-1)
        # does not answer (direct probe: ...; unreachable from us-west-2 for 3m)".
        named = re.search(
            rf"primary \({re.escape(self.primary)}\) (?:has been|does not answer \().*?"
            rf"unreachable from {re.escape(self.secondary)}",
            shown,
        )
        self.check(
            named is not None,
            f"opsctl status names the primary unreachable from {self.secondary}",
            f"opsctl status does not name the primary unreachable from {self.secondary}: "
            f"{shown[:300]}",
        )
        # What `opsctl status --json` carries: the secondary's view of the primary.
        self.status_during_outage = self.status().to_json()

    def clients_follow(self, lost_at: float, dns_at: float) -> float:
        """When DNS switch + TTL passed: from then on every player resolves afresh to the
        secondary, so no request may fail."""
        self.step("players follow DNS once their cached answer's TTL has run out")
        ttl = self.sandbox.dns_answer().ttl
        settled = dns_at + ttl
        # Every player has sent at least two requests after the TTL ran out: each resolved afresh.
        self.wait_until(
            f"players' requests after the DNS switch + TTL ({ttl}s)",
            lambda: len(self.timeline.between(settled)) >= 2 * self.players.count,
            self.signal_timeout,
        )
        self.mark(f"DNS switch + TTL ({ttl}s)")
        self.failures_no_longer_expected()
        self.players.wait_recorded(self.timeline.now())
        before, after = self.timeline.between(lost_at, settled), self.timeline.between(settled)
        # Sent before the outage and still unanswered when it hit: they fail too, counted apart
        # so that the failures here and the timeline's total add up.
        in_flight = failed(self.timeline.between(lost_at - PLAYER_TIMEOUT_SECONDS, lost_at))
        self.measure("requests in flight at the outage, lost with it", str(in_flight))
        self.measure(
            "requests failed, outage → DNS switch + TTL", f"{failed(before)} of {len(before)}"
        )
        self.check(
            failed(after) == 0,
            f"no request failed after the DNS switch + TTL ({len(after)} so far); "
            f"{failed(before)} of {len(before)} sent after the outage failed before it, "
            f"and {in_flight} in flight when it hit",
            f"{failed(after)} of {len(after)} requests failed after the DNS switch + TTL",
        )
        return settled

    def nothing_failed_since(self, settled: float) -> None:
        """The point of the drill, over everything after DNS switch + TTL: the rest of the
        outage, the restore and the fallback."""
        self.players.wait_recorded(self.timeline.now())
        after = self.timeline.between(settled)
        self.measure(
            "requests failed after DNS switch + TTL (to the end)",
            f"{failed(after)} of {len(after)}",
            failed(after) == 0,
        )
        self.check(
            failed(after) == 0,
            f"no request failed after the DNS switch + TTL: {len(after)} requests",
            f"{failed(after)} of {len(after)} requests failed after the DNS switch + TTL",
        )

    def sessions_survive(self, before: CreatedSession) -> CreatedSession:
        self.step("sessions and idempotency survive in the secondary")
        check_session_readable(self, before, self.secondary)
        check_idempotent_retry(self, before)
        return create_session_on_secondary(self)

    def restore_primary(self, during: CreatedSession, weights_before: dict[str, int]) -> None:
        self.step(f"{self.primary} is restored; the backlog replicates")
        self.sandbox.bring_back(self.primary)
        self.mark(f"{self.primary} restored")
        took = self.wait_until(
            f"session {during.session_id[:8]} to replicate to {self.primary}",
            lambda: self._read_session(self.primary, during).status == 200,
            self.signal_timeout,
        )
        self.mark("backlog replicated")
        self.passed(
            f"session {during.session_id[:8]} created during the outage replicated to "
            f"{self.primary} {took:.1f}s after the restore"
        )
        weights = self.weights()
        self.check(
            weights == weights_before,
            f"the weights never moved while {self.primary} was out: {weights}",
            f"the weights moved during the outage: {weights_before} -> {weights}",
        )
        wait_primary_clear(self)
