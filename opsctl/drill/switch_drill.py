"""The switch drill, on the sandbox through opsctl's real core.

`switch` (the default): the primary's failure switch breaks it while the rest of its Region runs.
 1. the primary serves and every Region is healthy (opsctl status);
 2. a player creates a game session through the shared hostname (lands in the primary);
 3. the primary's failure switch is flipped to `failing` through opsctl's switch core (approved,
    reason "drill", audited);
 4. the health checkers see it, the primary's alarm fires and SNS notifies the operator —
    detection time is measured from the flip to the alarm; the primary's own "Region impaired"
    composite alarm stays OK (its api-5xx alarm leaves out the health route: players are still
    served, so the Region's own signals rightly disagree with the drilled health check);
 5. failover with approval (non-interactive, reason "drill") through opsctl's plan/apply, with
    players' requests running throughout — approval-to-INSYNC and failed requests are measured;
 6. the probe shows the secondary serving with tokens still accepted, the session created before
    the failover readable there, and a retried POST with the same Idempotency-Key returning the
    same session instead of a second one; a new session is created in the secondary;
 7. the primary is healed (switch back to `healthy`, approved and audited like step 3) and its
    alarms return to OK;
 8. fallback in steps (10, 50, 100 percent) through opsctl, again measured under load;
 9. the primary serves again, all healthy, and the session created in the secondary is readable.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from opsctl import output
from opsctl.drill.engine import (
    DRILL_REASON,
    FALLBACK_STEPS,
    PROBE_COUNT,
    CreatedSession,
    Drill,
    DrillReport,
    ShiftMeasurement,
)
from opsctl.drill.scenario import Scenario
from opsctl.drill.timeline import failed
from opsctl.model import Approval
from opsctl.probe import ProbeReport, probe
from opsctl.shift import plan_failover, plan_fallback
from opsctl.shiftapply import ShiftOptions, ShiftResult, apply_shift
from opsctl.switch import apply_switch, plan_switch


class SwitchDrill(Drill):
    """The primary's failure switch breaks it while the rest of its Region keeps running."""

    scenario = Scenario.SWITCH
    title = "switch drill"

    def run(self) -> DrillReport:
        self.primary_serving_all_healthy()
        session = self.create_session()
        flipped_at = self.fail_primary()
        detection = self.detect_failure(flipped_at)
        self.failover(detection)
        self.verify_secondary_serving(session)
        during_outage = self.create_session_on_secondary()
        recovery = self.heal_primary()
        self.fallback(recovery)
        self.primary_serving_again(during_outage)
        self.report.note = (
            "detection: failure switch flipped -> alarm ALARM (failover); healed -> healthy "
            "with alarm OK (fallback)."
        )
        return self.report

    def _set_switch(self, role: str, value: str) -> None:
        """Flip a failure switch through opsctl's switch core: approved, audited."""
        plan = plan_switch(self.clients, self.topology, role, value)
        apply_switch(
            self.clients, self.topology, plan, Approval(reason=DRILL_REASON), self.audit_log
        )

    def _shift(
        self,
        name: str,
        plan_factory: Callable[[], Any],
        *,
        interval: float,
        detection: float,
    ) -> tuple[ShiftResult, ShiftMeasurement]:
        """Plan, approve and apply a shift while the players play; the measurement is recorded."""
        plan = plan_factory()
        output.stdout.print(output.plan_renderable(plan))
        self.say(f"  approving {name} (reason {DRILL_REASON!r}, non-interactive)")
        approval = Approval(reason=DRILL_REASON)
        started = self.mark(f"{name} approved")
        options = ShiftOptions(
            interval=interval,
            poll_interval=self.poll_seconds,
            on_step=lambda index, weights: self.mark(f"step {index + 1}: {weights}"),
        )
        result = apply_shift(self.clients, self.topology, plan, approval, self.audit_log, options)
        ended = self.mark(f"{name} INSYNC")
        output.stdout.print(output.result_renderable(result))
        self.players.wait_recorded(ended)
        during = self.timeline.between(started, ended)
        measured = ShiftMeasurement(
            name,
            detection,
            result.steps[-1].approval_to_insync_seconds if result.steps else 0.0,
            len(during),
            failed(during),
        )
        self.report.shifts.append(measured)
        return result, measured

    # ---- the steps ----------------------------------------------------------------------------

    def fail_primary(self) -> float:
        self.step("flip the primary's failure switch to `failing`")
        self._set_switch("primary", "failing")
        self.mark("primary switch: failing")
        return time.monotonic()

    def detect_failure(self, flipped_at: float) -> float:
        self.step("wait for the health checkers and the alarm")
        report = self.wait_for(
            "the primary's alarm to fire", lambda r: r.region("primary").alarm == "ALARM"
        )
        detection = time.monotonic() - flipped_at
        self.mark("primary health alarm: ALARM")
        self.show_status()
        primary = report.region("primary")
        self.check(
            primary.healthy is False and report.serving == "primary" and not report.consistent,
            f"primary alarm in ALARM after {detection:.1f}s; traffic still on the sick primary",
            f"unexpected status after the flip: {report.headline}",
        )
        alarm_name = self.topology.primary.alarm_name
        notices = self.wait_for_notice(alarm_name, "ALARM")
        self.check(
            any(
                n.get("NewStateValue") == "ALARM" and n.get("AlarmName") == alarm_name
                for n in notices
            ),
            f"SNS notified the operator of the ALARM (seen at {self.mark('SNS notice'):.1f}s)",
            f"no ALARM notice on the alarm topic (got {notices})",
        )
        if self.topology.primary.impaired_alarm_name is not None:
            self._region_impaired(flipped_at)
        return detection

    def _region_impaired(self, flipped_at: float) -> None:
        """The primary's own signals do not echo the drill. Its api-5xx alarm counts the routes
        players call, not the health route, and players are still served: the composite
        "Region impaired" alarm stays OK on both sides (a red health check with "impaired" OK
        is the drill's signature, or the checkers' path)."""
        report = self.status()
        impaired = {role: report.region(role).impaired_alarm for role in ("primary", "secondary")}
        self.check(
            impaired == {"primary": "OK", "secondary": "OK"},
            f"Region-impaired alarms stay OK {time.monotonic() - flipped_at:.1f}s after the flip "
            "(the health route's 500s are not players' errors)",
            f"a Region looks impaired by the drill itself: {impaired}",
        )

    def failover(self, detection: float) -> ShiftMeasurement:
        self.step("fail over to the secondary, approved")
        result, measured = self._shift(
            "failover",
            lambda: plan_failover(self.clients, self.topology),
            interval=0.0,
            detection=detection,
        )
        report = self.status()
        self.check(
            result.completed and report.serving == "secondary" and report.consistent,
            f"secondary serves after failover (change {result.steps[-1].change_id} INSYNC)",
            f"after failover: {report.headline}",
        )
        return measured

    def verify_secondary_serving(self, session: CreatedSession) -> ProbeReport:
        self.step("probe: the secondary serves, tokens, sessions and idempotency survive")
        secondary = self.topology.secondary.region
        report = probe(self.state.hostname, self.resolver, token=self.token, count=PROBE_COUNT)
        self.check(
            report.by_region() == {secondary: PROBE_COUNT} and report.failed == 0,
            f"{PROBE_COUNT}/{PROBE_COUNT} requests answered 200 by {secondary}: tokens accepted",
            f"probe after failover: by region {report.by_region()}, statuses {report.by_status()}",
        )
        self._check_session_readable(session, secondary)
        self._check_idempotent_retry(session)
        return report

    def heal_primary(self) -> float:
        self.step("heal the primary: failure switch back to `healthy`")
        healed_at = time.monotonic()
        self._set_switch("primary", "healthy")
        self.mark("primary switch: healthy")
        self.wait_primary_clear()
        recovery = time.monotonic() - healed_at
        return recovery

    def fallback(self, recovery: float) -> ShiftMeasurement:
        steps = ", ".join(f"{p}%" for p in FALLBACK_STEPS)
        self.step(f"fall back to the primary in steps ({steps}), approved")
        interval = 30.0 * self.state.time_scale
        result, measured = self._shift(
            f"fallback ({steps})",
            lambda: plan_fallback(self.clients, self.topology, FALLBACK_STEPS),
            interval=interval,
            detection=recovery,
        )
        self.check(
            result.completed and len(result.steps) == len(FALLBACK_STEPS),
            f"fallback completed in {len(result.steps)} steps",
            f"fallback stopped: {result.stopped_reason}",
        )
        return measured
