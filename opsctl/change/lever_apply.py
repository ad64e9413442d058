"""Carry out an approved lever plan: reconcile the weights first when the plan says so, move the
lever (audited, intent first, after a re-read), then confirm.

A lever failover engages the lever, then confirms, bounded by the timeout and polling: the alarm
reads ALARM, and (with name servers in the topology) every DNS answer for the shared name carries
the secondary's addresses. Route 53 follows the metric's data stream, not the alarm, and a
datapoint can arrive late or go unseen: until confirmed, the lever is asserted again (published
once more) every minute. A failover with the lever engaged but DNS still answering the primary
asserts it again; it is not a no-op.
"""

from __future__ import annotations

from collections.abc import Callable

from opsctl.aws import AwsClients
from opsctl.change.apply import ShiftOptions, apply_shift
from opsctl.change.audit import AuditLog, AuditWriteError, current_actor
from opsctl.change.audit_record import Actor, AuditRecord
from opsctl.change.lever import LEVER_STEP, require_lever
from opsctl.change.lever_confirm import LeverConfirmation, LeverMove
from opsctl.change.lever_plan import LeverPlan, LeverResult
from opsctl.change.plan import check_preflight
from opsctl.errors import AwsUnreachable, OpsctlError
from opsctl.model import Approval, Clock, LeverAction, LeverPosition
from opsctl.read.concurrent_reads import gather, read_deadline
from stack_topology import Topology


def apply_lever(
    clients: AwsClients,
    topology: Topology,
    plan: LeverPlan,
    approval: Approval,
    audit_log: AuditLog,
    *,
    timeout: float,
    interval: float = 0.0,
    on_poll: Callable[[str], None] | None = None,
    clock: Clock | None = None,
) -> LeverResult:
    """Carry out an approved lever plan; every wait is bounded by `timeout` seconds.

    Raises PreflightRefused, or OpsctlError when a release cannot take effect within `timeout`,
    before anything changes; ChangeTimeoutError when the lever was moved (and audited) but the
    alarm or DNS did not follow in time. Once anything was applied (weights reconciled, the lever
    moved), every error ends with what was, and a Ctrl-C or SIGTERM propagates as
    KeyboardInterrupt carrying a note of it, as apply_shift does."""
    clock = clock or Clock()
    assert plan.preflight is not None  # set whenever there is something to do
    overridden = check_preflight(plan.preflight, plan.action, plan.target_role, approval)
    audit_log.ensure_writable()  # an unauditable change is not made at all
    lever = require_lever(clients, topology)
    # The lever's own Region: the one that must answer for the lever to move at all.
    actor = current_actor(clients, lever.region)
    if plan.lever_action == LeverAction.RELEASE:
        # Decided before anything changes: a release that cannot fit must not follow weight
        # changes it was planned with.
        _release_fits(lever.seconds_until_release_counts(), timeout, timeout, "nothing changed")
    move = LeverMove(clients, topology, plan, approval, lever, clock, on_poll)
    run = _LeverRun(move, audit_log)
    try:
        return run.carry_out(actor, overridden, timeout, interval)
    except KeyboardInterrupt as interrupt:
        if run.applied:
            interrupt.add_note(run.applied_report())
        raise
    except OpsctlError as error:
        if not run.applied:
            raise
        raise type(error)(f"{error.message}; {run.applied_report()}") from None


def _release_fits(wait: float, left: float, timeout: float, unchanged: str) -> None:
    """A release waits for the minute after the newest engage; refuse one that would not fit in
    the `left` seconds of --timeout (`unchanged`: what the refusal leaves as it was)."""
    if wait > left:
        of = f"--timeout {timeout:g}s" if left == timeout else f"the {left:.0f}s left of --timeout"
        raise OpsctlError(
            f"the lever was engaged this minute; releasing it needs a later minute ({wait:.0f}s "
            f"from now), more than {of}; {unchanged}"
        )


class _LeverRun:
    """One approved lever plan being carried out; `applied` says what took effect so far."""

    def __init__(self, move: LeverMove, audit_log: AuditLog) -> None:
        self.move = move
        self.audit_log = audit_log
        self.applied: list[str] = []
        self.confirmation = LeverConfirmation(move, self.applied)

    def applied_report(self) -> str:
        return f"applied: {'; '.join(self.applied)} (in the audit log {self.audit_log.path})"

    def carry_out(
        self, actor: Actor, overridden: tuple[str, ...], timeout: float, interval: float
    ) -> LeverResult:
        plan, clock = self.move.plan, self.move.clock
        deadline = clock.now() + timeout
        reconcile = None
        if plan.reconcile is not None:
            reconcile = apply_shift(
                self.move.clients,
                self.move.topology,
                plan.reconcile,
                self.move.approval,
                self.audit_log,
                ShiftOptions(insync_timeout=timeout),
            )
            self.applied.extend(
                f"weights {step.before} -> {step.after} (change {step.change_id})"
                for step in reconcile.steps
            )
        engage = plan.lever_action == LeverAction.ENGAGE
        if not engage:
            # Before the intent: nothing is on record while waiting, so an interrupt here
            # leaves no intent without an outcome.
            wait = self.move.lever.seconds_until_release_counts()
            _release_fits(wait, deadline - clock.now(), timeout, "the lever was not released")
            if wait > 0:
                if self.move.on_poll is not None:
                    self.move.on_poll(f"the next minute ({wait:.0f}s), when a release takes effect")
                clock.sleep(wait)
        change_id = self._move(actor, overridden)
        lever_seconds = clock.now() - self.move.approval.approved_at
        self.confirmation.published_at = clock.now()
        alarm_seconds, dns_seconds, dns = self.confirmation.confirm(deadline, timeout)
        then = None
        if plan.then is not None:  # the release moved no traffic: no dwell before the steps
            self.confirmation.route53_released(deadline, timeout)
            then = apply_shift(
                self.move.clients,
                self.move.topology,
                plan.then,
                self.move.approval,
                self.audit_log,
                ShiftOptions(insync_timeout=timeout, interval=interval),
            )
        return LeverResult(
            action=plan.action,
            lever_action=plan.lever_action,
            change_id=change_id or "",
            approval_to_lever_seconds=lever_seconds,
            approval_to_alarm_seconds=alarm_seconds,
            approval_to_dns_seconds=dns_seconds,
            dns=dns,
            overridden=overridden,
            reconcile=reconcile,
            then=then,
            published=change_id is not None,
            reasserted=self.confirmation.reasserted,
            dns_unconfirmed=self.confirmation.dns_unconfirmed,
        )

    def _move(self, actor: Actor, overridden: tuple[str, ...]) -> str | None:
        """Publish the lever's new state, audited (intent first); None when a re-read just
        before found another change had moved it already (audited as a no-op)."""
        plan, lever = self.move.plan, self.move.lever
        engage = plan.lever_action == LeverAction.ENGAGE
        after = plan.lever_action.position
        before = LeverPosition.ENGAGED if plan.reassert or not engage else LeverPosition.RELEASED
        intent = AuditRecord.intent(
            action=plan.action,
            app=self.move.topology.app,
            actor=actor,
            reason=self.move.approval.reason,
            before={"lever": before},
            after={"lever": after},
            read=[plan.lever.to_json()],
            forced=self.move.approval.force,
            drill=self.move.approval.drill_id,
            overridden=list(overridden),
            step=LEVER_STEP,
        )
        try:
            self.audit_log.append(intent)
        except AuditWriteError as error:
            raise AuditWriteError(f"{error.message}; the lever was not moved") from None
        # PutMetricData has no condition: re-read just before publishing, so of two operators
        # moving the lever at once the second one sees the first and publishes nothing. (A plan
        # made with the lever already there publishes again on purpose: a re-assertion.)
        now = gather({"lever": lever.read_state}, read_deadline())["lever"].value
        if now is not None and now.state == after and not plan.reassert:
            detail = f"the lever was already {after} (since {now.since}): nothing published"
            self.audit_log.record_outcome(intent.outcome(applied=False, detail=detail))
            return None
        try:
            change_id = lever.engage() if engage else lever.release()
        except KeyboardInterrupt as interrupt:
            detail = "interrupted while publishing: it may have been applied"
            self.audit_log.record_outcome(intent.outcome(applied=None, detail=detail), interrupt)
            interrupt.add_note(
                f"while publishing the lever {after}: it may have been applied (audited as "
                "unknown); run `opsctl status`"
            )
            raise
        except OpsctlError as failure:
            # No answer may still mean the datapoint landed; an error answer means it did not.
            applied = None if isinstance(failure, AwsUnreachable) else False
            self.audit_log.record_outcome(
                intent.outcome(applied=applied, detail=failure.message), failure
            )
            raise
        self.audit_log.record_outcome(intent.outcome(applied=True, change_id=change_id))
        self.applied.append(f"the lever {after} ({change_id})")
        return change_id
