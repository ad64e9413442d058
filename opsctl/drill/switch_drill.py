"""The switch drill, on the stack in use (a real account or the sandbox) through opsctl's core.

`switch` (the default): the primary's failure switch breaks it while the rest of its Region runs.
 1. the primary serves and every Region is healthy (opsctl status);
 2. a player creates a game session through the shared hostname (lands in the primary);
 3. the primary's failure switch is flipped to `failing` through opsctl's switch core (approved,
    with the drill's reason and id, audited);
 4. the health checkers see it and the primary's alarm fires (on the sandbox SNS's notice to the
    operator is checked too) — detection time is measured from the flip to the alarm; the
    primary's own "Region impaired" composite alarm stays OK when deployed (its api-5xx alarm
    leaves out the health route: players are still served, so the Region's own signals rightly
    disagree with the drilled health check);
 5. failover with approval (non-interactive) through opsctl's plan/apply, with players' requests
    running throughout — decision (alarm to approval), approval-to-INSYNC, approval to every
    player served by the secondary and failed requests are measured;
 6. the probe shows the secondary serving with tokens still accepted, the session created before
    the failover readable there, and a retried POST with the same Idempotency-Key returning the
    same session instead of a second one; a new session is created in the secondary;
 7. the primary is healed (switch back to `healthy`, approved and audited like step 3) and its
    alarms return to OK;
 8. fallback in steps (10, 50, 100 percent by default) through opsctl, again measured under
    load, each step's health gate recorded;
 9. the primary serves again, all healthy, and the session created in the secondary is readable.

Players may fail only from the flip until every player is served by the secondary (the detection
window); a failure outside it counts against `--max-failed`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from opsctl.change.apply import ShiftOptions, ShiftResult, apply_shift
from opsctl.change.plan import plan_failover, plan_fallback
from opsctl.change.switch import apply_switch, plan_switch
from opsctl.cli import output, plan_view
from opsctl.drill.engine import Drill
from opsctl.drill.model import (
    FALLBACK_STEPS,
    PROBE_COUNT,
    CreatedSession,
    DrillReport,
    ShiftMeasurement,
    StepGate,
)
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
from opsctl.model import Weights
from opsctl.read.probe import ProbeReport, probe
from stack_topology import FailureSwitch


class SwitchDrill(Drill):
    """The primary's failure switch breaks it while the rest of its Region keeps running."""

    scenario = Scenario.SWITCH
    title = "switch drill"

    phases = (
        ("steady state", ""),
        ("detection (switch → alarm)", "primary switch: failing"),
        ("decision (alarm → approval)", "primary health alarm: ALARM"),
        ("failover (approval → every player on the secondary)", "failover approved"),
        ("on the secondary", "every player served by"),
        ("healing (switch healthy → alarms OK)", "primary switch: healthy"),
        ("fallback", "fallback"),
        ("primary again", "primary serves again"),
        ("restore", "restoring as found"),
    )
    fallback_steps: tuple[int, ...] = FALLBACK_STEPS
    # Seconds between the fallback's steps, at AWS's timings (scaled on the sandbox).
    fallback_interval: float = 30.0

    def run(self) -> DrillReport:
        primary_serving_all_healthy(self)
        session = create_session(self)
        flipped_at = self.fail_primary()
        detection = self.detect_failure(flipped_at)
        self.failover(detection)
        self.verify_secondary_serving(session)
        during_outage = create_session_on_secondary(self)
        recovery = self.heal_primary()
        self.fallback(recovery)
        primary_serving_again(self, during_outage)
        self.report.note = (
            "detection: failure switch flipped -> alarm ALARM (failover); healed -> healthy "
            "with alarm OK (fallback)."
        )
        return self.report

    def _set_switch(self, role: str, value: FailureSwitch) -> None:
        """Flip a failure switch through opsctl's switch core: approved, audited."""
        plan = plan_switch(self.clients, self.topology, role, value)
        apply_switch(self.clients, self.topology, plan, self.target.approval(), self.audit_log)

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
        output.stdout.print(plan_view.plan_brief(plan))
        self.say(f"  approving {name} (reason {self.target.reason!r}, non-interactive)")
        approval = self.target.approval()
        started = self.mark(f"{name} approved")
        gates: list[tuple[int, Weights, float]] = []

        def on_step(index: int, weights: Weights) -> None:
            gates.append((index, weights, self.mark(f"step {index + 1}: {weights}")))

        options = ShiftOptions(interval=interval, poll_interval=self.poll_seconds, on_step=on_step)
        result = apply_shift(self.clients, self.topology, plan, approval, self.audit_log, options)
        ended = self.mark(f"{name} INSYNC")
        output.stdout.print(plan_view.result_brief(result))
        self.players.wait_recorded(ended)
        during = self.timeline.between(started, ended)
        measured = ShiftMeasurement(
            name,
            detection,
            result.steps[-1].approval_to_insync_seconds if result.steps else 0.0,
            len(during),
            failed(during),
            tuple(step.change_id for step in result.steps),
        )
        self.report.shifts.append(measured)
        if len(plan.steps) > 1:
            self._record_gates(gates, result, ended)
        return result, measured

    def _record_gates(
        self, gates: list[tuple[int, Weights, float]], result: ShiftResult, ended: float
    ) -> None:
        """Each step of a gradual shift: when its health gate passed, its INSYNC, its traffic."""
        total = len(gates)
        for (index, weights, at), done in zip(gates, result.steps, strict=False):
            until = gates[index + 1][2] if index + 1 < total else ended
            window = self.timeline.between(at, until)
            self.report.gates.append(
                StepGate(
                    f"{index + 1}/{total}",
                    str(weights),
                    at,
                    done.insync_seconds,
                    len(window),
                    failed(window),
                )
            )

    # ---- the steps ----------------------------------------------------------------------------

    def fail_primary(self) -> float:
        self.step("flip the primary's failure switch to `failing`")
        self.expect_failures()  # from the flip, players may fail until the failover reaches them
        self._set_switch("primary", FailureSwitch.FAILING)
        self.flipped_at = self.mark("primary switch: failing")
        return time.monotonic()

    def detect_failure(self, flipped_at: float) -> float:
        self.step("wait for the health checkers and the alarm")
        # Its health read too: a read that timed out this once is "not yet", not a failed drill.
        report = self.wait_for(
            "the primary's alarm to fire",
            lambda r: (
                r.region("primary").alarm == "ALARM" and r.region("primary").healthy is not None
            ),
        )
        detection = time.monotonic() - flipped_at
        self.alarm_at = self.mark("primary health alarm: ALARM")
        self.measure("detection: switch flipped → alarm ALARM", f"{detection:.1f}s")
        self.show_status()
        primary = report.region("primary")
        self.check(
            primary.healthy is False and report.serving == "primary" and not report.consistent,
            f"primary alarm in ALARM after {detection:.1f}s; traffic still on the sick primary",
            f"unexpected status after the flip: {report.headline}",
        )
        alarm_name = self.topology.primary.alarm_name
        if self.target.alarm_inbox:
            self._check_notice(alarm_name)
        if self.topology.primary.impaired_alarm_name is not None:
            self._region_impaired(flipped_at)
        return detection

    def _check_notice(self, alarm_name: str) -> None:
        notice = self.inbox.wait_for_notice(alarm_name, "ALARM")
        self.check(
            notice is not None,
            f"SNS notified the operator of the ALARM (seen at {self.mark('SNS notice'):.1f}s)",
            f"no ALARM notice on the alarm topic (got {self.inbox.received_names()})",
        )

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
        approved = next(
            e.at for e in reversed(self.timeline.events) if e.label == "failover approved"
        )
        self.measure(
            "decision: alarm ALARM → failover approved", f"{approved - self.alarm_at:.1f}s"
        )
        self.measure("approval → INSYNC (failover)", f"{measured.approval_to_insync_seconds:.1f}s")
        report = self.status()
        self.check(
            result.completed and report.serving == "secondary" and report.consistent,
            f"secondary serves after failover (change {result.steps[-1].change_id} INSYNC)",
            f"after failover: {report.headline}",
        )
        served = self.every_player_served_by(self.topology.secondary.region, approved)
        self.measure(
            "approval → every player served by the secondary (recovery time)", f"{served:.1f}s"
        )
        self.failures_no_longer_expected()
        return measured

    def verify_secondary_serving(self, session: CreatedSession) -> ProbeReport:
        self.step("probe: the secondary serves, tokens, sessions and idempotency survive")
        secondary = self.topology.secondary.region
        self.resolver = self.new_resolver()  # a client arriving now: no answer cached from before
        report = probe(self.hostname, self.resolver, token=self.token, count=PROBE_COUNT)
        self.check(
            report.by_region() == {secondary: PROBE_COUNT} and report.failed == 0,
            f"{PROBE_COUNT}/{PROBE_COUNT} requests answered 200 by {secondary}: tokens accepted",
            f"probe after failover: by region {report.by_region()}, statuses {report.by_status()}",
        )
        check_session_readable(self, session, secondary)
        check_idempotent_retry(self, session)
        return report

    def heal_primary(self) -> float:
        self.step("heal the primary: failure switch back to `healthy`")
        healed_at = time.monotonic()
        self._set_switch("primary", FailureSwitch.HEALTHY)
        self.mark("primary switch: healthy")
        wait_primary_clear(self)
        recovery = time.monotonic() - healed_at
        return recovery

    def fallback(self, recovery: float) -> ShiftMeasurement:
        shares = self.fallback_steps
        steps = ", ".join(f"{p}%" for p in shares)
        self.step(f"fall back to the primary in steps ({steps}), approved")
        interval = self.fallback_interval * self.target.time_scale
        result, measured = self._shift(
            f"fallback ({steps})",
            lambda: plan_fallback(self.clients, self.topology, shares),
            interval=interval,
            detection=recovery,
        )
        self.measure(
            "approval → INSYNC (fallback, last step)", f"{measured.approval_to_insync_seconds:.1f}s"
        )
        self.check(
            result.completed and len(result.steps) == len(shares),
            f"fallback completed in {len(result.steps)} steps",
            f"fallback stopped: {result.stopped_reason}",
        )
        return measured
