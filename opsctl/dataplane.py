"""Failover and fallback when Route 53's control plane may be gone: which lever, and its flow.

`opsctl failover --via auto|weights|dataplane` (and fallback) start here. The status read that every
plan makes anyway is the probe: when the weighted records (ListResourceRecordSets, us-east-1) answer
within the status deadline, the control plane is up and the weights move traffic, as always; when
they do not, `auto` uses the data-plane lever (see opsctl.lever), which needs only the secondary
Region and DNS.

A lever failover engages the lever, then confirms, bounded by the timeout and polling: the alarm
reads ALARM, and (with name servers in the topology) every DNS answer for the shared name carries
the secondary's addresses. A fallback after a lever failover, with the control plane up, first
moves the weights to the secondary (no traffic moves: the lever already sends it there), then
releases the lever, then runs the usual fallback steps, each gated as usual. Without the control
plane, `--via dataplane` releases the lever only: every answer goes back to the primary at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from opsctl.audit import AuditLog, AuditRecord, AuditWriteError, current_actor
from opsctl.aws import AwsClients
from opsctl.dnsquery import DnsAnswers, read_dns
from opsctl.errors import AwsError, AwsUnreachable, ChangeTimeoutError, OpsctlError
from opsctl.lever import ENGAGED, RELEASED, LeverState, require_lever
from opsctl.model import Approval, Clock, Weights
from opsctl.readiness import ReadinessReport, assess_readiness
from opsctl.shift import ShiftPlan, check_preflight, plan_failover, plan_fallback
from opsctl.shiftapply import ShiftOptions, ShiftResult, apply_shift
from opsctl.status import StatusReport, read_status
from stack_topology import Topology

VIA_AUTO, VIA_WEIGHTS, VIA_DATAPLANE = "auto", "weights", "dataplane"
# Seconds between two looks at the lever's alarm and at DNS while confirming (read at call time).
CONFIRM_POLL_INTERVAL = 2.0


def control_plane_error(status: StatusReport) -> OpsctlError | None:
    """Why Route 53's control plane did not answer the status read; None when it answered. An
    error it answered with (no such zone, access denied) is raised: no lever covers for that."""
    if status.weights is not None:
        return None
    if isinstance(status.records_error, AwsUnreachable):
        return status.records_error
    status.require_weights()  # raises the error Route 53 answered with
    return None


def _weights_refused(error: OpsctlError, action: str) -> OpsctlError:
    return AwsError(
        f"Route 53's control plane does not answer ({error.message}): the weights cannot move; "
        f"use `opsctl {action} --via dataplane` to move traffic by the data-plane lever"
    )


def _lever_reason(via: str, down: OpsctlError | None) -> str:
    if via == VIA_DATAPLANE or down is None:
        return f"--via {VIA_DATAPLANE}"
    return f"Route 53's control plane does not answer ({down.message})"


@dataclass(frozen=True)
class LeverPlan:
    """A failover or fallback that engages or releases the lever (maybe with weight steps)."""

    action: str  # failover | fallback
    target_role: str  # the Region that ends up with all traffic
    lever_action: str  # engage | release
    reason: str  # why the lever: the control plane is down, or --via dataplane
    lever: LeverState
    status: StatusReport
    preflight: ReadinessReport | None  # None for a no-op
    # Fallback with the control plane up: weights to 0/100 before the release (no traffic moves),
    # and the usual steps back to the primary after it. None when not part of the plan.
    reconcile: ShiftPlan | None = None
    then: ShiftPlan | None = None
    noop_reason: str | None = None

    @property
    def noop(self) -> bool:
        return self.noop_reason is not None

    @property
    def steps(self) -> tuple[str, ...]:
        """What will happen, in order, in words."""
        if self.noop:
            return ()
        out: list[str] = []
        if self.reconcile is not None:
            out.extend(
                f"weights {self.reconcile.current} -> {w} (compare-and-swap; no traffic moves: "
                "the lever already sends it to the secondary)"
                for w in self.reconcile.steps
            )
        if self.lever_action == "engage":
            out.append(
                "engage the lever: every new DNS answer goes to the secondary, whatever the weights"
            )
        elif self.then is None and self.reconcile is None:
            out.append("release the lever: all traffic goes back to the primary at once")
        else:
            out.append("release the lever (the weights now keep traffic on the secondary)")
        if self.then is not None:
            out.extend(f"weights {w}" for w in self.then.steps)
        return tuple(out)

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "target": self.target_role,
            "via": VIA_DATAPLANE,
            "reason": self.reason,
            "lever": self.lever.to_json(),
            "leverAction": self.lever_action,
            "current": self.status.weights.as_dict() if self.status.weights else None,
            "steps": list(self.steps),
            "noop": self.noop,
            "noopReason": self.noop_reason,
            "preflight": self.preflight.to_json() if self.preflight else None,
        }


@dataclass(frozen=True)
class LeverResult:
    action: str
    lever_action: str
    change_id: str
    # Seconds from the approval until the lever was moved (opsctl's own work: preflight, identity,
    # audit check, weight reconciling), until the alarm showed the lever's new state, and until
    # every DNS answer named the target Region (None: no name servers to ask).
    approval_to_lever_seconds: float
    approval_to_alarm_seconds: float
    approval_to_dns_seconds: float | None
    dns: DnsAnswers | None
    overridden: tuple[str, ...] = ()
    # The weight changes of a fallback made with the control plane up.
    reconcile: ShiftResult | None = None
    then: ShiftResult | None = None

    @property
    def completed(self) -> bool:
        return self.then is None or self.then.completed

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "via": VIA_DATAPLANE,
            "leverAction": self.lever_action,
            "changeId": self.change_id,
            "approvalToLeverSeconds": round(self.approval_to_lever_seconds, 3),
            "approvalToAlarmSeconds": round(self.approval_to_alarm_seconds, 3),
            "approvalToDnsSeconds": None
            if self.approval_to_dns_seconds is None
            else round(self.approval_to_dns_seconds, 3),
            "dns": self.dns.to_json() if self.dns else None,
            "overridden": list(self.overridden),
            "reconcile": self.reconcile.to_json() if self.reconcile else None,
            "then": self.then.to_json() if self.then else None,
            "completed": self.completed,
        }


def plan_failover_via(
    clients: AwsClients, topology: Topology, via: str = VIA_AUTO
) -> ShiftPlan | LeverPlan:
    """The weights when the control plane answers (or --via weights), else the lever."""
    status = read_status(clients, topology)
    down = control_plane_error(status)
    if status.lever is not None and status.lever.state == ENGAGED:
        return LeverPlan(
            "failover",
            "secondary",
            "engage",
            "the lever is already engaged",
            status.lever,
            status,
            None,
            noop_reason="the data-plane lever is engaged: all traffic goes to the secondary",
        )
    if via == VIA_WEIGHTS or (via == VIA_AUTO and down is None):
        if down is not None:
            raise _weights_refused(down, "failover")
        return plan_failover(clients, topology, status)
    lever = require_lever(clients, topology)
    state = status.lever or lever.read_state()
    reason = _lever_reason(via, down)
    if status.weights is not None and status.weights.serving == "secondary":
        return LeverPlan(
            "failover",
            "secondary",
            "engage",
            reason,
            state,
            status,
            None,
            noop_reason="the weights already send all traffic to the secondary",
        )
    preflight = assess_readiness(clients, topology, "secondary", status)
    return LeverPlan("failover", "secondary", "engage", reason, state, status, preflight)


def plan_fallback_via(
    clients: AwsClients, topology: Topology, steps: Sequence[int], via: str = VIA_AUTO
) -> ShiftPlan | LeverPlan:
    """After a lever failover: reconcile the weights, release, then the usual steps (control
    plane up), or release only (--via dataplane, or auto without the control plane). Without an
    engaged lever: the usual weights fallback."""
    status = read_status(clients, topology)
    down = control_plane_error(status)
    lever_state = status.lever
    if lever_state is None and topology.out_of_service is not None:
        # Engaged or not decides the whole plan: never guess it.
        lever_state = require_lever(clients, topology).read_state()
    if lever_state is None or lever_state.state == RELEASED:
        if via == VIA_DATAPLANE:
            return LeverPlan(
                "fallback",
                "primary",
                "release",
                f"--via {VIA_DATAPLANE}",
                lever_state or require_lever(clients, topology).read_state(),
                status,
                None,
                noop_reason="the data-plane lever is not engaged",
            )
        if down is not None:
            raise _weights_refused(down, "fallback") if via == VIA_WEIGHTS else down
        return plan_fallback(clients, topology, steps, status)
    if lever_state.state != ENGAGED:
        raise AwsError(f"the data-plane lever's state is unknown: {lever_state.detail}")
    preflight = assess_readiness(clients, topology, "primary", status)
    if via == VIA_DATAPLANE or (via == VIA_AUTO and down is not None):
        reason = _lever_reason(via, down)
        return LeverPlan("fallback", "primary", "release", reason, lever_state, status, preflight)
    if down is not None:
        raise _weights_refused(down, "fallback")
    current = status.require_weights()
    on_secondary = Weights.all_on("secondary")
    reconcile = None
    if current != on_secondary:
        no_checks = ReadinessReport("secondary", topology.secondary.region, ())
        reconcile = ShiftPlan("fallback", "secondary", current, (on_secondary,), no_checks, status)
    then = ShiftPlan(
        "fallback",
        "primary",
        on_secondary,
        tuple(Weights.primary_share(p) for p in steps),
        preflight,
        status,
    )
    return LeverPlan(
        "fallback",
        "primary",
        "release",
        "the lever is engaged: the weights take over from it before it is released",
        lever_state,
        status,
        preflight,
        reconcile=reconcile,
        then=then,
    )


def _poll(
    what: str,
    check: Callable[[], bool],
    approval: Approval,
    deadline: float,
    clock: Clock,
    on_poll: Callable[[str], None] | None,
) -> float:
    """Poll `check` until true; seconds since the approval. ChangeTimeoutError past deadline."""
    while True:
        if check():
            return clock.now() - approval.approved_at
        remaining = deadline - clock.now()
        if remaining <= 0:
            raise ChangeTimeoutError(f"not confirmed in time: {what}")
        if on_poll is not None:
            on_poll(what)
        clock.sleep(min(CONFIRM_POLL_INTERVAL, remaining))


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
    """Carry out an approved lever plan; every confirmation is bounded by `timeout` seconds.

    Raises PreflightRefused before anything changes; ChangeTimeoutError when the lever was moved
    (and audited) but the alarm or DNS did not follow in time."""
    clock = clock or Clock()
    assert plan.preflight is not None  # set whenever there is something to do
    overridden = check_preflight(plan.preflight, plan.action, plan.target_role, approval)
    audit_log.ensure_writable()  # an unauditable change is not made at all
    lever = require_lever(clients, topology)
    # The lever's own Region: the one that must answer for the lever to move at all.
    actor = current_actor(clients, lever.region)
    deadline = clock.now() + timeout
    reconcile = None
    if plan.reconcile is not None:
        reconcile = apply_shift(
            clients,
            topology,
            plan.reconcile,
            approval,
            audit_log,
            ShiftOptions(insync_timeout=timeout),
        )
    engage = plan.lever_action == "engage"
    before, after = (RELEASED, ENGAGED) if engage else (ENGAGED, RELEASED)
    intent = AuditRecord.intent(
        action=plan.action,
        app=topology.app,
        actor=actor,
        reason=approval.reason,
        before={"lever": before},
        after={"lever": after},
        read=[plan.lever.to_json()],
        forced=approval.force,
        drill=approval.drill_id,
        overridden=list(overridden),
        step="lever",
    )
    try:
        audit_log.append(intent)
    except AuditWriteError as error:
        raise AuditWriteError(f"{error.message}; the lever was not moved") from None
    try:
        if engage:
            change_id = lever.engage()
        else:
            change_id = lever.release(clock, max(0.0, deadline - clock.now()))
    except OpsctlError as failure:
        # No answer may still mean the datapoint landed; an error answer means it did not.
        applied = None if isinstance(failure, AwsUnreachable) else False
        audit_log.record_outcome(intent.outcome(applied=applied, detail=failure.message), failure)
        raise
    audit_log.record_outcome(intent.outcome(applied=True, change_id=change_id))
    lever_seconds = clock.now() - approval.approved_at
    wanted_alarm = "ALARM" if engage else "OK"
    # With the weights already on the secondary (a reconciled fallback), DNS does not move now.
    dns_target = plan.target_role if plan.then is None else "secondary"
    answers: list[DnsAnswers] = []

    def dns_follows() -> bool:
        try:
            answers.append(read_dns(topology))
        except OpsctlError:
            return False
        latest = answers[-1]
        return latest.answered > 0 and latest.counts.get(dns_target, 0) == latest.answered

    try:
        alarm_seconds = _poll(
            f"{lever.description} reads {wanted_alarm}",
            lambda: lever.read_state().alarm == wanted_alarm,
            approval,
            deadline,
            clock,
            on_poll,
        )
        dns_seconds = None
        if topology.name_servers:
            dns_seconds = _poll(
                f"every DNS answer for {topology.record_name} names the {dns_target}",
                dns_follows,
                approval,
                deadline,
                clock,
                on_poll,
            )
    except ChangeTimeoutError as error:
        seen = f"; DNS last answered {answers[-1].summary()}" if answers else ""
        raise ChangeTimeoutError(
            f"the lever was {'engaged' if engage else 'released'} ({change_id}, in the audit "
            f"log) but is {error.message} after {timeout:g}s{seen}; run `opsctl status`"
        ) from None
    then = None
    if plan.then is not None:
        clock.sleep(interval)
        then = apply_shift(
            clients,
            topology,
            plan.then,
            approval,
            audit_log,
            ShiftOptions(insync_timeout=timeout, interval=interval),
        )
    return LeverResult(
        plan.action,
        plan.lever_action,
        change_id,
        lever_seconds,
        alarm_seconds,
        dns_seconds,
        answers[-1] if answers else None,
        overridden,
        reconcile,
        then,
    )
