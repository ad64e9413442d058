"""The region-outage drill: the primary Region (us-east-1) lost as a whole, recovered with the
data-plane lever, while players keep playing through DNS answers they cache for the TTL.

Steps (each checked; a failed check stops the drill with DrillFailed):
 1. the primary serves and every Region is healthy;
 2. a player creates a game session (in the primary); it replicates to the secondary;
 3. the primary Region goes out: its API front black-holes connections and every API call signed
    for it goes unanswered — Route 53's control plane, us-east-1 CloudWatch and SNS with it;
    Route 53's data plane (health checkers, DNS) keeps working;
 4. the secondary's watcher cannot reach the primary: its alarm `<app>-primary-unreachable`
    fires in the secondary Region and its notice (through that Region's `<app>-alerts`) reaches
    the operator's inbox — outage -> alarm, outage -> page; us-east-1's health alarm and topic
    are out with the Region and page nobody;
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

import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

from rich.text import Text

from opsctl.change.route53 import read_records
from opsctl.change.routing import (
    LeverPlan,
    apply_lever,
    plan_failover_via,
    plan_fallback_via,
)
from opsctl.cli import output
from opsctl.drill.engine import (
    FALLBACK_STEPS,
    CreatedSession,
    Drill,
    DrillFailed,
    DrillReport,
    DrillTarget,
    FoundState,
    Restored,
)
from opsctl.drill.players import PLAYER_TIMEOUT_SECONDS
from opsctl.drill.scenario import Scenario
from opsctl.drill.timeline import failed
from opsctl.drill.watch import Watch
from opsctl.read.probe import ApiResponse, Endpoint, call_api
from opsctl.sandbox.outage import OutageMode, outage, regions_out, restore
from opsctl.sandbox.state import SandboxState
from opsctl.sandbox.stubresolver import CachedAnswer, sandbox_resolver

# The harder mode for clients: connections are accepted and never answered.
OUTAGE_MODE = OutageMode.HANG
# `opsctl status` with the primary Region gone must answer within this (it bounds every read).
STATUS_BOUND_SECONDS = 20.0


class Pinned:
    """A resolver that always sends the shared hostname to one Region's front: a request straight
    to that Region, whatever DNS says (to read what replicated where)."""

    def __init__(self, address: str) -> None:
        self.address = address

    def resolve(self, hostname: str) -> Endpoint:
        name = hostname.rstrip(".")
        host, port = self.address.rsplit(":", 1)
        return Endpoint(base_url=f"https://{name}:{port}", host_header=name, address=host)


class RegionOutageDrill(Drill):
    """us-east-1 lost as a whole; the lever moves traffic where the weights cannot."""

    scenario = Scenario.REGION_OUTAGE
    title = "region-outage drill"

    def __init__(self, target: DrillTarget, state: SandboxState, **kwargs: Any) -> None:
        super().__init__(target, **kwargs)
        self.state = state
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
        if self.primary in regions_out(self.state):
            restore(self.state, self.primary)
            self.mark(f"{self.primary} restored")
        return super().restore(found, why)

    def run(self) -> DrillReport:
        if self.topology.out_of_service is None:
            raise DrillFailed(
                "the stack declares no data-plane lever (the topology has no outOfService): "
                "nothing can move traffic while us-east-1 is out"
            )
        self.primary_serving_all_healthy()
        before = self.create_session()
        self.wait_replicated(before, self.secondary)
        weights_before = self.weights()
        lost_at, lost_wall = self.lose_primary()
        self.detect_outage(lost_at, lost_wall)
        self.status_without_primary()
        dns_at = self.failover_with_lever()
        settled = self.clients_follow(lost_at, dns_at)
        during = self.sessions_survive(before)
        self.no_page_from_the_dark_region()
        self.restore_primary(during, weights_before)
        self.fallback_with_lever()
        self.primary_serving_again(during)
        self.nothing_failed_since(settled)
        self.report.note = (
            "outage -> alarm from the alarm's own state-change time (in the secondary Region); "
            "the page, lever and DNS times are when the drill first saw them (polled)."
        )
        return self.report

    # ---- reading the world around opsctl ------------------------------------------------------

    def _front_address(self, region: str) -> str:
        return self.state.front_addresses[region]

    def _read_from(self, region: str, path: str) -> ApiResponse:
        return call_api(
            self.state.hostname, Pinned(self._front_address(region)), path=path, token=self.token
        )

    def _dns_answer(self) -> CachedAnswer:
        """What the sandbox's DNS answers for the shared name now, asked afresh (no cache)."""
        return sandbox_resolver(self.state).lookup(self.state.hostname)

    def _dns_region(self) -> str | None:
        return self.state.region_of_address(self._dns_answer().address)

    def _lever_alarm(self) -> str | None:
        lever = self.topology.out_of_service
        assert lever is not None  # run() refuses a stack without one
        cloudwatch = self.clients.client("cloudwatch", lever.region)
        alarms = cloudwatch.describe_alarms(AlarmNames=[lever.alarm_name])["MetricAlarms"]
        return alarms[0]["StateValue"] if alarms else None

    def weights(self) -> dict[str, int]:
        return read_records(self.clients.route53(), self.topology).weights.as_dict()

    def _opsctl(self, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
        """opsctl as the operator runs it, on this sandbox; its output is shown; bounded."""
        environment = {
            **os.environ,
            **self.state.environment(),
            "OPSCTL_AUDIT_LOG": str(self.audit_log.path),
            "COLUMNS": str(output.stdout.width),
        }
        self.say(f"  $ opsctl {' '.join(args)}")
        started = time.monotonic()
        try:
            done = subprocess.run(
                [sys.executable, "-m", "opsctl", *args],
                capture_output=True,
                text=True,
                env=environment,
                timeout=STATUS_BOUND_SECONDS * 3,
            )
        except subprocess.TimeoutExpired:
            raise DrillFailed(
                f"`opsctl {' '.join(args)}` did not finish within {STATUS_BOUND_SECONDS * 3:.0f}s"
            ) from None
        elapsed = time.monotonic() - started
        output.stdout.print(Text(done.stdout.rstrip()))
        if done.stderr.strip():
            output.stderr.print(Text(done.stderr.rstrip()))
        return done, elapsed

    # ---- the steps ------------------------------------------------------------------------------

    def wait_replicated(self, session: CreatedSession, region: str) -> None:
        took = self.wait_until(
            f"session {session.session_id[:8]} to replicate to {region}",
            lambda: self._read_from(region, f"/sessions/{session.session_id}").status == 200,
            self.signal_timeout,
        )
        self.passed(f"session {session.session_id[:8]} replicated to {region} in {took:.2f}s")

    def lose_primary(self) -> tuple[float, datetime]:
        self.step(f"{self.primary} goes out as a whole ({OUTAGE_MODE.value}: connections hang)")
        self.expect_failures()  # until the players follow DNS to the secondary
        outage(self.state, self.primary, OUTAGE_MODE)
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
        notices = self.wait_for_notice(watch.alarm_name, "ALARM")
        notice = next(
            (n for n in notices if n.get("AlarmName") == watch.alarm_name
             and n.get("NewStateValue") == "ALARM"),
            None,
        )  # fmt: skip
        if notice is None:
            raise DrillFailed(
                f"no ALARM notice for {watch.alarm_name} within {self.signal_timeout:.0f}s "
                f"(got {[n.get('AlarmName') for n in notices]})"
            )
        seen_at = self.mark(f"page from {watch.region}: primary unreachable")
        to_notice = seen_at - lost_at
        changed = _parse_time(notice.get("StateChangeTime"))
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

    def no_page_from_the_dark_region(self) -> None:
        """While us-east-1 is out, its CloudWatch evaluates nothing and its SNS delivers nothing.

        A notice is judged by when its alarm changed state (the notice's StateChangeTime), not by
        when the inbox was read: the OK notice of a watch that settled just before the outage can
        still be in the queue after it, as on AWS."""
        assert self.outage_wall is not None  # set by detect_outage, which runs first
        self.receive_notices()
        restored = datetime.now(UTC)
        from_dark = [
            n.get("AlarmName")
            for _, n in self.notices
            if _alarm_region(n) == self.primary
            and self.outage_wall <= (_parse_time(n.get("StateChangeTime")) or restored) <= restored
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
        done, elapsed = self._opsctl("status")
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

    def failover_with_lever(self) -> float:
        self.step("fail over (auto): the weights cannot move, the lever can")
        started = time.monotonic()
        plan = plan_failover_via(self.clients, self.topology)
        planned = time.monotonic() - started
        self.mark("failover planned")
        if not isinstance(plan, LeverPlan) or plan.lever_action != "engage" or plan.noop:
            raise DrillFailed(f"the failover plan does not engage the lever: {plan}")
        output.stdout.print(output.lever_plan_brief(plan))
        self.passed(f"the plan engages the lever, planned in {planned:.1f}s: {plan.reason}")
        # Status and preflight read every source with the primary's reads hanging.
        self.measure("failover plan (status + preflight) without the primary", f"{planned:.1f}s")
        self.say(f"  approving the failover (reason {self.target.reason!r}, non-interactive)")
        conditions = {
            "lever alarm ALARM": lambda: self._lever_alarm() == "ALARM",
            f"DNS answers {self.secondary}": lambda: self._dns_region() == self.secondary,
        }
        approved_at = self.mark("failover approved")
        with Watch(self.mark, conditions, self.poll_seconds) as watch:
            result = apply_lever(
                self.clients, self.topology, plan, self.target.approval(),
                self.audit_log, timeout=self.signal_timeout,
            )  # fmt: skip
            lever_at = watch.wait("lever alarm ALARM", self.signal_timeout)
            dns_at = watch.wait(f"DNS answers {self.secondary}", self.signal_timeout)
        output.stdout.print(output.lever_result_renderable(result, brief=True))
        self.wait_until(
            f"a player served by {self.secondary}",
            lambda: self.timeline.first_success(approved_at, self.secondary) is not None,
            self.signal_timeout,
        )
        success = self.timeline.first_success(approved_at, self.secondary)
        assert success is not None
        self.passed(
            f"lever alarm ALARM after {lever_at - approved_at:.1f}s, DNS answers "
            f"{self.secondary} after {dns_at - approved_at:.1f}s, first player served there "
            f"after {success.at - approved_at:.1f}s"
        )
        self.measure("approval → lever alarm ALARM", f"{lever_at - approved_at:.1f}s")
        self.measure(f"approval → DNS answers {self.secondary}", f"{dns_at - approved_at:.1f}s")
        self.measure(
            f"approval → first player served by {self.secondary}",
            f"{success.at - approved_at:.1f}s",
        )
        served = self.every_player_served_by(self.secondary, approved_at)
        self.measure(
            "approval → every player served by the secondary (recovery time)", f"{served:.1f}s"
        )
        self.check(
            result.lever_action == "engage",
            f"lever engaged, in the audit log ({result.change_id})",
            f"the failover did {result.lever_action}, not engage",
        )
        # opsctl's own confirmation: each answered address asked which Region it is, over HTTPS.
        confirmed = result.dns
        self.check(
            confirmed is not None and confirmed.all_name("secondary"),
            "opsctl confirmed the failover by DNS answers it classified by asking each address: "
            f"{confirmed.summary() if confirmed else ''}; {confirmed.asked() if confirmed else ''}",
            "opsctl's DNS confirmation did not name the secondary for every answer: "
            f"{confirmed.summary() if confirmed else 'no DNS answers'}",
        )
        return dns_at

    def clients_follow(self, lost_at: float, dns_at: float) -> float:
        """When DNS switch + TTL passed: from then on every player resolves afresh to the
        secondary, so no request may fail."""
        self.step("players follow DNS once their cached answer's TTL has run out")
        ttl = self._dns_answer().ttl
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
        self._check_session_readable(before, self.secondary)
        self._check_idempotent_retry(before)
        return self.create_session_on_secondary()

    def restore_primary(self, during: CreatedSession, weights_before: dict[str, int]) -> None:
        self.step(f"{self.primary} is restored; the backlog replicates")
        restore(self.state, self.primary)
        self.mark(f"{self.primary} restored")
        took = self.wait_until(
            f"session {during.session_id[:8]} to replicate to {self.primary}",
            lambda: self._read_from(self.primary, f"/sessions/{during.session_id}").status == 200,
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
        self.wait_primary_clear()

    def fallback_with_lever(self) -> None:
        steps = ", ".join(f"{p}%" for p in FALLBACK_STEPS)
        self.step(f"fall back: weights follow the lever, the lever is released, then {steps}")
        plan = plan_fallback_via(self.clients, self.topology, FALLBACK_STEPS)
        if not isinstance(plan, LeverPlan):
            raise DrillFailed(f"the fallback plan does not go through the engaged lever: {plan}")
        output.stdout.print(output.lever_plan_brief(plan))
        started = self.mark("fallback approved")
        result = apply_lever(
            self.clients, self.topology, plan, self.target.approval(), self.audit_log,
            timeout=self.signal_timeout, interval=30.0 * self.state.time_scale,
        )  # fmt: skip
        ended = self.mark("fallback done")
        output.stdout.print(output.lever_result_renderable(result, brief=True))
        self.players.wait_recorded(ended)
        during = self.timeline.between(started, ended)
        self.measure(
            "requests failed during the fallback",
            f"{failed(during)} of {len(during)}",
            failed(during) == 0,
        )
        self.check(
            result.then is not None and result.then.completed and failed(during) == 0,
            f"fallback completed; {len(during)} requests during it, none failed",
            f"fallback: {failed(during)} of {len(during)} requests failed; {result}",
        )


def _alarm_region(notice: dict[str, Any]) -> str | None:
    """The Region of the alarm a CloudWatch notice is about (from its AlarmArn)."""
    parts = str(notice.get("AlarmArn") or "").split(":")
    return parts[3] if len(parts) > 3 else None


def _parse_time(raw: object) -> datetime | None:
    """CloudWatch's notice time, e.g. 2026-11-29T06:12:01.123+0000."""
    if not isinstance(raw, str):
        return None
    for pattern in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(raw, pattern)
        except ValueError:
            continue
    return None
