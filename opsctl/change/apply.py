"""Carry out an approved shift plan: compare-and-swap, INSYNC, audit, stop on degradation.

`apply_shift` refuses when the preflight failed (unless forced), re-reads the records before every
step (a change since the plan is a conflict), applies one atomic batch per step, waits for INSYNC,
and audits each step twice: its intent before the batch is submitted, its outcome after
(`opsctl.change.outcome`). Before each later step of a gradual fallback it re-reads the target's
signals and stops on degradation, leaving the last safe weights.

Whatever ends a shift after a change was applied (degradation, a conflict, an AWS error, Ctrl-C),
the report says which steps were applied and what the weights are now, read back from Route 53
(`abort_report`): the operator never has to guess whether the plan's first half happened.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from opsctl.aws import AwsClients
from opsctl.change.audit import AuditLog, AuditWriteError, change_comment, current_actor
from opsctl.change.audit_record import Actor, AuditRecord
from opsctl.change.outcome import (
    UNCONFIRMED_CHANGE_ID,
    AppliedChange,
    abort_report,
    read_back,
    settle_unanswered,
    wait_and_audit,
)
from opsctl.change.plan import ShiftPlan, check_preflight
from opsctl.change.route53 import submit_change
from opsctl.errors import (
    AwsError,
    ChangeUnconfirmedError,
    ConflictError,
    OpsctlError,
)
from opsctl.model import Approval, ChangeAction, Clock, Weights
from opsctl.read.readiness_report import FAIL
from opsctl.read.records import read_records
from opsctl.read.region_checks import region_checks
from opsctl.read.status import read_status
from stack_topology import Topology

DEFAULT_INSYNC_TIMEOUT = 300.0


@dataclass(frozen=True)
class ShiftOptions:
    """How apply_shift paces, waits and reports; the defaults are the CLI's."""

    interval: float = 0.0  # seconds between the steps of a gradual fallback
    insync_timeout: float = DEFAULT_INSYNC_TIMEOUT  # per step: the change reaching INSYNC
    # Seconds between GetChange polls; None: route53.INSYNC_POLL_INTERVAL at call time.
    poll_interval: float | None = None
    on_poll: Callable[[str, float], None] | None = None  # (change status, seconds waited)
    on_step: Callable[[int, Weights], None] | None = None  # (0-based index, target weights)
    clock: Clock = field(default_factory=Clock)  # tests pass a fake that advances on sleep


@dataclass(frozen=True)
class StepResult:
    before: Weights
    after: Weights
    change_id: str
    insync_seconds: float
    approval_to_insync_seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "before": self.before.as_dict(),
            "after": self.after.as_dict(),
            "changeId": self.change_id,
            "insyncSeconds": round(self.insync_seconds, 3),
            "approvalToInsyncSeconds": round(self.approval_to_insync_seconds, 3),
        }


@dataclass(frozen=True)
class ShiftResult:
    action: ChangeAction
    steps: tuple[StepResult, ...]
    # The weights at the end: read back from Route 53 when a gradual fallback stopped early (the
    # last step's target if they could not be read), else the last step's target.
    final: Weights
    # Set when a gradual fallback stopped on degradation: what was seen; weights stay at `final`.
    stopped_reason: str | None = None
    overridden: tuple[str, ...] = ()  # failing preflight checks that --force overrode
    # When it stopped early: the steps applied and not applied, and the weights read back.
    abort_report: str | None = None

    @property
    def completed(self) -> bool:
        return self.stopped_reason is None

    @property
    def summary(self) -> str:
        """What was applied, in one line: each step with its change id."""
        return "; ".join(
            f"weights {step.before} -> {step.after} (change {step.change_id})"
            for step in self.steps
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "completed": self.completed,
            "final": self.final.as_dict(),
            "steps": [step.to_json() for step in self.steps],
            "stoppedReason": self.stopped_reason,
            "abortReport": self.abort_report,
            "overridden": list(self.overridden),
        }


def _degradation(clients: AwsClients, topology: Topology, role: str) -> str | None:
    status = read_status(clients, topology)
    checks = region_checks(status, topology.role(role))
    failed = [f"{c.name}: {c.value}" for c in checks if c.result == FAIL]
    return "; ".join(failed) or None


def apply_shift(
    clients: AwsClients,
    topology: Topology,
    plan: ShiftPlan,
    approval: Approval,
    audit_log: AuditLog,
    options: ShiftOptions | None = None,
) -> ShiftResult:
    """Carry out an approved plan (see the module docstring). Raises PreflightRefused,
    ConflictError, ChangeTimeoutError, RecordsError, AwsError (nothing changed, unless the message
    says a change was applied). A Ctrl-C propagates as KeyboardInterrupt carrying a note of what
    was applied. Once a change was applied, every error and interrupt also carries the
    `abort_report`. Every applied change is audited, whatever stops the wait for INSYNC, also one
    Route 53 applied without answering or while interrupted (see settle_unanswered)."""
    options = options or ShiftOptions()
    if plan.noop:
        return ShiftResult(action=plan.action, steps=(), final=plan.current)
    assert plan.preflight is not None  # set whenever there are steps
    overridden = check_preflight(plan.preflight, plan.action, plan.target_role, approval)
    audit_log.ensure_writable()  # an unauditable change is not made at all
    actor = current_actor(clients, topology.role(plan.target_role).region)
    route53 = clients.route53()
    applied: list[AppliedChange] = []

    def report() -> str:
        return abort_report(applied, len(plan.steps), read_back(route53, topology))

    try:
        result = _apply_steps(
            clients,
            topology,
            plan,
            approval,
            audit_log,
            actor,
            overridden,
            applied,
            options,
        )
    except KeyboardInterrupt as interrupt:
        if applied:
            interrupt.add_note(report())
        raise
    except OpsctlError as error:
        if not applied:
            raise
        raise type(error)(f"{error.message}; {report()}") from None
    if result.completed:
        return result
    weights_now = read_back(route53, topology)
    return replace(
        result,
        final=weights_now.value or result.final,
        abort_report=abort_report(applied, len(plan.steps), weights_now),
    )


def _apply_steps(
    clients: AwsClients,
    topology: Topology,
    plan: ShiftPlan,
    approval: Approval,
    audit_log: AuditLog,
    actor: Actor,
    overridden: tuple[str, ...],
    applied: list[AppliedChange],
    options: ShiftOptions,
) -> ShiftResult:
    """The steps of apply_shift; each change Route 53 applied is added to `applied` at once."""
    clock = options.clock
    route53 = clients.route53()
    total = len(plan.steps)
    done: list[StepResult] = []
    expected = plan.current
    for index, target in enumerate(plan.steps):
        if index > 0:
            clock.sleep(options.interval)
            degraded = _degradation(clients, topology, plan.target_role)
            if degraded:
                return ShiftResult(
                    action=plan.action,
                    steps=tuple(done),
                    final=expected,
                    stopped_reason=degraded,
                    overridden=overridden,
                )
        if options.on_step is not None:
            options.on_step(index, target)
        state = read_records(route53, topology)
        if state.weights != expected:
            raise ConflictError(
                f"the weighted records changed since the plan (expected {expected}, found "
                f"{state.weights}); nothing changed. Run `opsctl status` and retry"
                if index == 0
                else f"the weighted records changed after step {index}/{total} (expected "
                f"{expected}, found {state.weights}); step {index + 1}/{total} was not "
                "submitted. Run `opsctl status`"
            )
        intent = AuditRecord.intent(
            action=plan.action,
            app=topology.app,
            actor=actor,
            reason=approval.reason,
            before=expected.as_dict(),
            after=target.as_dict(),
            read=[record.raw for record in state.records],
            forced=approval.force,
            drill=approval.drill_id,
            overridden=list(overridden),
            step=f"{index + 1}/{total}" if total > 1 else None,
        )
        try:
            audit_log.append(intent)  # before the submit: a crash from here on leaves the intent
        except AuditWriteError as error:
            not_done = (
                "nothing changed" if index == 0 else f"step {index + 1}/{total} not submitted"
            )
            raise AuditWriteError(f"{error.message}; {not_done}") from None
        comment = change_comment(plan.action, actor, approval.reason, str(expected), str(target))
        try:
            change_id = submit_change(
                clients.route53_changes(), topology, state, target, comment, clock=clock
            )
        except KeyboardInterrupt as interrupt:
            found, was_applied = settle_unanswered(
                route53, topology, expected, target, intent, audit_log, interrupt
            )
            if was_applied:
                applied.append(
                    AppliedChange(
                        step=index + 1,
                        before=expected,
                        after=target,
                        change_id=UNCONFIRMED_CHANGE_ID,
                    )
                )
            interrupt.add_note(f"while submitting {expected} -> {target}: {found}")
            raise
        except ChangeUnconfirmedError as unconfirmed:
            failure = AwsError(unconfirmed.message)
            found, was_applied = settle_unanswered(
                route53, topology, expected, target, intent, audit_log, failure
            )
            if was_applied:
                applied.append(
                    AppliedChange(
                        step=index + 1,
                        before=expected,
                        after=target,
                        change_id=UNCONFIRMED_CHANGE_ID,
                    )
                )
            raise AwsError(f"{failure.message}; {found}") from None
        except OpsctlError as refused:  # a conflict or another error: Route 53 did not apply it
            audit_log.record_outcome(intent.outcome(applied=False, detail=refused.message), refused)
            raise
        applied.append(
            AppliedChange(step=index + 1, before=expected, after=target, change_id=change_id)
        )
        insync = wait_and_audit(
            route53,
            change_id,
            audit_log,
            intent,
            timeout=options.insync_timeout,
            poll_interval=options.poll_interval,
            on_poll=options.on_poll,
            clock=clock,
        )
        done.append(
            StepResult(
                before=expected,
                after=target,
                change_id=change_id,
                insync_seconds=insync,
                approval_to_insync_seconds=clock.now() - approval.approved_at,
            )
        )
        expected = target
    return ShiftResult(action=plan.action, steps=tuple(done), final=expected, overridden=overridden)
