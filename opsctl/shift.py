"""Failover and fallback: plan, preflight, approved compare-and-swap, INSYNC, audit.

The flow the CLI (and the sandbox drill) drives:

    plan = plan_failover(clients, topology)  # or plan_fallback(..., steps=[10, 50, 100])
    # show plan; without approval stop here (exit 3)
    result = apply_shift(clients, topology, plan, Approval(reason="..."), AuditLog())

`apply_shift` refuses when the preflight failed (unless forced), re-reads the records before every
step (a change since the plan is a conflict), applies one atomic batch per step, waits for INSYNC,
and audits each step twice: its intent before the batch is submitted, its outcome after. Before
each later step of a gradual fallback it re-reads the target's signals and stops on degradation,
leaving the last safe weights.

Whatever ends a shift after a change was applied (degradation, a conflict, an AWS error, Ctrl-C),
the report says which steps were applied and what the weights are now, read back from Route 53
(`abort_report`): the operator never has to guess whether the plan's first half happened.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from opsctl.audit import (
    Actor,
    AuditLog,
    AuditRecord,
    AuditWriteError,
    change_comment,
    current_actor,
)
from opsctl.aws import AwsClients
from opsctl.errors import (
    AwsError,
    ChangeUnconfirmedError,
    ConflictError,
    InputError,
    OpsctlError,
    PreflightRefused,
)
from opsctl.model import Approval, Clock, Weights
from opsctl.readiness import FAIL, ReadinessReport, assess_readiness, region_checks
from opsctl.route53 import read_records, submit_change, wait_insync
from opsctl.signals import Outcome, gather
from opsctl.status import StatusReport, read_status
from topology import Topology

DEFAULT_INSYNC_TIMEOUT = 300.0
# The audit line's change id for a change Route 53 applied without answering the request.
UNCONFIRMED_CHANGE_ID = "unconfirmed"
# Seconds an abort spends re-reading the records for its report: bounded, so a Route 53 that does
# not answer cannot hold up an interrupted opsctl (the report then says the read failed).
READ_BACK_TIMEOUT = 2.0


@dataclass(frozen=True)
class ShiftPlan:
    action: str  # failover | fallback
    target_role: str  # the Region that ends up with all traffic
    current: Weights
    steps: tuple[Weights, ...]  # successive target weights; empty when there is nothing to do
    preflight: ReadinessReport | None  # None when there is nothing to do
    status: StatusReport

    @property
    def noop(self) -> bool:
        return not self.steps

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "target": self.target_role,
            "current": self.current.as_dict(),
            "steps": [step.as_dict() for step in self.steps],
            "noop": self.noop,
            "preflight": self.preflight.to_json() if self.preflight else None,
        }


@dataclass(frozen=True)
class ShiftOptions:
    """How apply_shift paces, waits and reports; the defaults are the CLI's."""

    interval: float = 0.0  # seconds between the steps of a gradual fallback
    insync_timeout: float = DEFAULT_INSYNC_TIMEOUT  # per step: the change reaching INSYNC
    # Seconds between GetChange polls; None: opsctl.route53.INSYNC_POLL_INTERVAL at call time.
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
class AppliedChange:
    """A step whose change Route 53 applied (whether or not it reached INSYNC)."""

    step: int  # 1-based
    before: Weights
    after: Weights
    change_id: str


@dataclass(frozen=True)
class ShiftResult:
    action: str
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


def parse_steps(raw: str) -> tuple[int, ...]:
    """`10,50,100` -> (10, 50, 100): the primary's share in percent, increasing, ending at 100."""
    parts = [part.strip(" ") for part in raw.split(",")]
    # ASCII digits only: int() also takes "1_0" and Arabic-Indic or fullwidth digits.
    if not all(part.isascii() and part.isdigit() and len(part) <= 6 for part in parts):
        raise InputError(f"--steps must be comma-separated integers, got {raw!r}")
    steps = tuple(int(part) for part in parts)
    if any(not 1 <= step <= 100 for step in steps):
        raise InputError(f"--steps values must be between 1 and 100, got {raw!r}")
    if any(later <= earlier for earlier, later in itertools.pairwise(steps)):
        raise InputError(f"--steps must increase, got {raw!r}")
    if steps[-1] != 100:
        raise InputError(f"--steps must end at 100 (all traffic on the primary), got {raw!r}")
    return steps


def _plan(
    clients: AwsClients,
    topology: Topology,
    action: str,
    target_role: str,
    targets: Sequence[Weights],
    status: StatusReport | None = None,
) -> ShiftPlan:
    status = status or read_status(clients, topology)
    current = status.require_weights()
    current.require_shiftable()
    # Skip steps the traffic has already reached (a stopped gradual fallback resumes from there).
    share = current.share(target_role)
    steps = tuple(t for t in targets if t.share(target_role) > share and t != current)
    preflight = assess_readiness(clients, topology, target_role, status) if steps else None
    return ShiftPlan(action, target_role, current, steps, preflight, status)


def plan_failover(
    clients: AwsClients, topology: Topology, status: StatusReport | None = None
) -> ShiftPlan:
    """All traffic to the secondary (reusing `status` when already read)."""
    return _plan(clients, topology, "failover", "secondary", [Weights.all_on("secondary")], status)


def plan_fallback(
    clients: AwsClients,
    topology: Topology,
    steps: Sequence[int] = (100,),
    status: StatusReport | None = None,
) -> ShiftPlan:
    """Traffic back to the primary, in one step or through the given primary shares (percent)."""
    return _plan(
        clients,
        topology,
        "fallback",
        "primary",
        [Weights.primary_share(p) for p in steps],
        status,
    )


def check_preflight(
    preflight: ReadinessReport, action: str, target_role: str, approval: Approval
) -> tuple[str, ...]:
    """The failing checks --force overrides; PreflightRefused when they are not overridden."""
    overridden = tuple(check.name for check in preflight.failures)
    if overridden and not approval.force:
        failed = "; ".join(f"{c.name}: {c.value}" for c in preflight.failures)
        raise PreflightRefused(
            f"preflight refused {action} to {target_role}: {failed}; nothing changed "
            "(--force overrides)"
        )
    return overridden


def _degradation(clients: AwsClients, topology: Topology, role: str) -> str | None:
    status = read_status(clients, topology)
    checks = region_checks(status, topology.role(role))
    failed = [f"{c.name}: {c.value}" for c in checks if c.result == FAIL]
    return "; ".join(failed) or None


def read_back(route53: Any, topology: Topology) -> Outcome[Weights]:
    """The weights as Route 53 returns them now, for an abort's report; an error after
    READ_BACK_TIMEOUT seconds at most."""
    what = "the weighted records"
    outcomes = gather({what: lambda: read_records(route53, topology).weights}, READ_BACK_TIMEOUT)
    return outcomes[what]


def abort_report(
    applied: Sequence[AppliedChange], total: int, weights_now: Outcome[Weights]
) -> str:
    """`applied: step 1/3 A -> B (change C); not applied: step 2/3, step 3/3; weights now (read
    back): B`. The step numbers are left out of a one-step shift."""

    def label(step: int) -> str:
        return f"step {step}/{total} " if total > 1 else ""

    changes = ", ".join(
        f"{label(c.step)}{c.before} -> {c.after} (change {c.change_id})" for c in applied
    )
    parts = [f"applied: {changes}"]
    remaining = range(applied[-1].step + 1, total + 1)
    if remaining:
        parts.append("not applied: " + ", ".join(f"step {n}/{total}" for n in remaining))
    if weights_now.error is None:
        parts.append(f"weights now (read back): {weights_now.value}")
    else:
        parts.append(
            f"the weights could not be read back ({weights_now.error.message}); run `opsctl status`"
        )
    return "; ".join(parts)


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
    Route 53 applied without answering or while interrupted (see _settle_unanswered)."""
    options = options or ShiftOptions()
    if plan.noop:
        return ShiftResult(plan.action, (), plan.current)
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
                return ShiftResult(plan.action, tuple(done), expected, degraded, overridden)
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
            found, was_applied = _settle_unanswered(
                route53, topology, expected, target, intent, audit_log, interrupt
            )
            if was_applied:
                applied.append(AppliedChange(index + 1, expected, target, UNCONFIRMED_CHANGE_ID))
            interrupt.add_note(f"while submitting {expected} -> {target}: {found}")
            raise
        except ChangeUnconfirmedError as unconfirmed:
            failure = AwsError(unconfirmed.message)
            found, was_applied = _settle_unanswered(
                route53, topology, expected, target, intent, audit_log, failure
            )
            if was_applied:
                applied.append(AppliedChange(index + 1, expected, target, UNCONFIRMED_CHANGE_ID))
            raise AwsError(f"{failure.message}; {found}") from None
        except OpsctlError as refused:  # a conflict or another error: Route 53 did not apply it
            audit_log.record_outcome(intent.outcome(applied=False, detail=refused.message), refused)
            raise
        applied.append(AppliedChange(index + 1, expected, target, change_id))
        insync = _wait_and_audit(
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
            StepResult(expected, target, change_id, insync, clock.now() - approval.approved_at)
        )
        expected = target
    return ShiftResult(plan.action, tuple(done), expected, None, overridden)


def _what_ended(failure: BaseException, doing: str) -> str:
    """An outcome's detail: the error's message, or which signal interrupted what."""
    if isinstance(failure, OpsctlError):
        return failure.message
    return f"interrupted ({str(failure) or 'SIGINT'}) while {doing}"


def _settle_unanswered(
    route53: Any,
    topology: Topology,
    before: Weights,
    after: Weights,
    intent: AuditRecord,
    audit_log: AuditLog,
    failure: BaseException,
) -> tuple[str, bool]:
    """Route 53 gave no answer to the change (it failed, or opsctl was interrupted while it was in
    flight): re-read the records to tell what happened, and audit that as the intent's outcome.
    Returns what was found and whether the change was applied. An applied change's outcome has
    change id UNCONFIRMED_CHANGE_ID (only the lost answer held its id, so its propagation cannot
    be awaited). A failure to write the outcome is added to `failure`."""
    now = read_back(route53, topology)
    applied: bool | None = None  # not known: the re-read failed, or someone else changed them
    if now.error is not None:
        found = (
            f"re-reading the records failed ({now.error.message}): the change may or may not "
            "have been applied; run `opsctl status` before retrying"
        )
    elif now.value == after:
        applied = True
        found = (
            f"the records now show {after}: the change was applied (audited without a change "
            "id; INSYNC was not awaited)"
        )
    elif now.value == before:
        applied = False
        found = (
            f"the records still show {before}: not applied so far. Run `opsctl status` before "
            "retrying"
        )
    else:
        found = (
            f"the records now show {now.value}, neither {before} nor {after}: someone else "
            "changed them. Run `opsctl status`"
        )
    audit_log.record_outcome(
        intent.outcome(
            applied=applied,
            change_id=UNCONFIRMED_CHANGE_ID if applied else None,
            detail=f"{_what_ended(failure, 'submitting')}; {found}",
        ),
        failure,
    )
    return found, bool(applied)


def _wait_and_audit(
    route53: Any,
    change_id: str,
    audit_log: AuditLog,
    intent: AuditRecord,
    *,
    timeout: float,
    poll_interval: float | None,
    on_poll: Callable[[str, float], None] | None,
    clock: Clock,
) -> float:
    """Wait for INSYNC, then append the outcome line: also when the wait times out, fails or is
    interrupted, because the change was applied either way."""
    insync: float | None = None
    failure: BaseException | None = None
    try:
        insync = wait_insync(
            route53,
            change_id,
            timeout=timeout,
            poll_interval=poll_interval,
            on_poll=on_poll,
            clock=clock,
        )
        return insync
    except AwsError as error:
        failure = AwsError(
            f"change {change_id} was applied, but waiting for INSYNC failed: {error.message}"
        )
        raise failure from None
    except KeyboardInterrupt as interrupt:
        interrupt.add_note(
            f"change {change_id} was applied and is in the audit log; it was still propagating "
            f"(check it with `aws route53 get-change --id {change_id}`)"
        )
        failure = interrupt
        raise
    except BaseException as other:  # the INSYNC timeout, or anything else ending the wait
        failure = other
        raise
    finally:
        detail = None if failure is None else _what_ended(failure, "waiting for INSYNC")
        audit_log.record_outcome(
            intent.outcome(applied=True, change_id=change_id, insync_seconds=insync, detail=detail),
            failure,
        )
