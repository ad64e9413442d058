"""Failover and fallback when Route 53's control plane may be gone: which lever, and its flow.

`opsctl failover --via auto|weights|dataplane` (and fallback) start here. The status read that every
plan makes anyway is the probe: when the weighted records (ListResourceRecordSets, us-east-1) answer
within the status deadline, the control plane is up and the weights move traffic, as always; when
they do not, `auto` uses the data-plane lever (see opsctl.change.lever), which needs only the
secondary Region and DNS. The lever's plan is `opsctl.change.lever_plan`, carried out by
`opsctl.change.lever_apply`.

A fallback after a lever failover, with the control plane up, first moves the weights to the
secondary (no traffic moves: the lever already sends it there), then releases the lever, then runs
the usual fallback steps, each gated as usual. Without the control plane, `--via dataplane`
releases the lever only: every answer goes back to the primary at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from opsctl.aws import AwsClients
from opsctl.change.audit import AuditLog
from opsctl.change.lever import LEVER_STEP, CloudWatchAlarmLever, require_lever
from opsctl.change.lever_plan import LeverPlan
from opsctl.change.plan import ShiftPlan, gate_dwell, plan_failover, plan_fallback
from opsctl.errors import AwsError, AwsUnreachable, OpsctlError, error_in_words
from opsctl.model import ChangeAction, LeverAction, LeverPosition, Via, Weights
from opsctl.read.lever_state import LeverState
from opsctl.read.readiness import assess_readiness
from opsctl.read.readiness_report import ReadinessReport
from opsctl.read.status import read_status
from opsctl.read.status_report import StatusReport
from stack_topology import Topology


def control_plane_error(status: StatusReport) -> OpsctlError | None:
    """Why Route 53's control plane did not answer the status read; None when it answered. An
    error it answered with (no such zone, access denied) is raised: no lever covers for that."""
    if status.weights is not None:
        return None
    if isinstance(status.records_error, AwsUnreachable):
        return status.records_error
    status.require_weights()  # raises the error Route 53 answered with
    return None


def _weights_refused(error: OpsctlError, action: ChangeAction) -> OpsctlError:
    return AwsError(
        f"Route 53's control plane does not answer ({error_in_words(error)}): the weights "
        f"cannot move; use `opsctl {action} --via dataplane` to move traffic by the data-plane "
        "lever"
    )


def _lever_reason(via: Via, down: OpsctlError | None) -> str:
    if via == Via.DATAPLANE or down is None:
        return f"--via {Via.DATAPLANE}"
    return f"Route 53's control plane does not answer ({error_in_words(down)})"


def _lever_when_unreadable(
    topology: Topology, status: StatusReport, audit_log: AuditLog
) -> LeverState:
    """The lever's state when its alarm could not be read (its Region is dark): the newest lever
    change in the audit log ("never" counts as released), checked against Route 53's view of the
    lever's health check, which keeps its last known status while the alarm cannot be evaluated.
    Unknown when the audit log cannot say, or the check contradicts it."""
    why = [f"its alarm could not be read ({status.error_of('lever') or 'no answer'})"]
    since = None
    try:
        last = audit_log.read().last_change(topology.app, LEVER_STEP)
    except OpsctlError as error:
        audited = LeverPosition.UNKNOWN
        why.append(f"the audit log cannot be read ({error.message})")
    else:
        if last is None:
            audited = LeverPosition.RELEASED
            why.append("the audit log records no lever change (never engaged from here)")
        else:
            recorded, since = last.after.get("lever", LeverPosition.UNKNOWN), last.time
            known = recorded in tuple(LeverPosition) and last.applied is not None
            audited = LeverPosition(recorded) if known else LeverPosition.UNKNOWN
            maybe = "" if last.applied else ", which may not have been applied"
            why.append(f"the audit log's last lever change: {recorded} at {last.time}{maybe}")
    checked = status.lever_check_healthy
    if checked is not None:
        seen = "healthy" if checked else "unhealthy"
        why.append(f"Route 53 sees the lever's health check {seen}")
    in_effect = None
    if checked is not None:
        in_effect = LeverPosition.RELEASED if checked else LeverPosition.ENGAGED
    state = audited if in_effect in (None, audited) else LeverPosition.UNKNOWN
    return LeverState(
        kind=CloudWatchAlarmLever.kind, state=state, since=since, alarm=None, detail="; ".join(why)
    )


def _lever_for_plan(
    topology: Topology, status: StatusReport, audit_log: AuditLog
) -> LeverState | None:
    """The lever's state for a plan, read under the status deadline like every other input:
    None without a lever in the topology."""
    if topology.out_of_service is None:
        return None
    return status.lever or _lever_when_unreadable(topology, status, audit_log)


def _dns_not_following(status: StatusReport) -> str | None:
    """How DNS shows that Route 53 has not taken an engaged lever; None when it has, or when
    nothing readable says otherwise. The zone's answers first; without them, Route 53's own view
    of the lever's health check (healthy: it does not see the lever)."""
    if status.dns is not None and status.dns.answered:
        if status.dns.counts.get("secondary", 0) == status.dns.answered:
            return None
        return f"DNS still answers {status.dns.summary()}"
    if status.lever_check_healthy is True:
        return "Route 53 sees the lever's health check healthy"
    return None


def plan_failover_via(
    clients: AwsClients,
    topology: Topology,
    via: Via = Via.AUTO,
    audit_log: AuditLog | None = None,
) -> ShiftPlan | LeverPlan:
    """The weights when the control plane answers (or --via weights, whatever the lever says),
    else the lever."""
    status = read_status(clients, topology)
    down = control_plane_error(status)
    if via == Via.WEIGHTS:
        if down is not None:
            raise _weights_refused(down, ChangeAction.FAILOVER)
        return plan_failover(clients, topology, status)
    if status.lever is not None and status.lever.state == LeverPosition.ENGAGED:
        unfollowed = _dns_not_following(status)
        if unfollowed is None:
            return LeverPlan(
                action=ChangeAction.FAILOVER,
                target_role="secondary",
                lever_action=LeverAction.ENGAGE,
                reason="the lever is already engaged",
                lever=status.lever,
                status=status,
                preflight=None,
                noop_reason="the data-plane lever is engaged: all traffic goes to the secondary",
            )
        return LeverPlan(
            action=ChangeAction.FAILOVER,
            target_role="secondary",
            lever_action=LeverAction.ENGAGE,
            reason=f"the lever is engaged but {unfollowed}: Route 53 has not taken it (a late or "
            "unseen datapoint)",
            lever=status.lever,
            status=status,
            preflight=assess_readiness(clients, topology, "secondary", status),
            reassert=True,
        )
    if via == Via.AUTO and down is None:
        return plan_failover(clients, topology, status)
    require_lever(clients, topology)
    state = _lever_for_plan(topology, status, audit_log or AuditLog())
    assert state is not None  # require_lever: the topology has one
    reason = _lever_reason(via, down)
    if status.weights is not None and status.weights.serving == "secondary":
        return LeverPlan(
            action=ChangeAction.FAILOVER,
            target_role="secondary",
            lever_action=LeverAction.ENGAGE,
            reason=reason,
            lever=state,
            status=status,
            preflight=None,
            noop_reason="the weights already send all traffic to the secondary",
        )
    return LeverPlan(
        action=ChangeAction.FAILOVER,
        target_role="secondary",
        lever_action=LeverAction.ENGAGE,
        reason=reason,
        lever=state,
        status=status,
        preflight=assess_readiness(clients, topology, "secondary", status),
    )


def _weights_fallback(
    clients: AwsClients,
    topology: Topology,
    status: StatusReport,
    steps: Sequence[int],
    lever: LeverState | None,
) -> ShiftPlan:
    """The usual fallback by the weights; when the lever's alarm could not be read, the plan
    says what its state rests on."""
    plan = plan_fallback(clients, topology, steps, status)
    if lever is None or status.lever is not None:
        return plan
    if lever.state == LeverPosition.RELEASED:
        note = f"the lever reads released: {lever.detail}"
    else:
        note = (
            f"the lever's state is {lever.state}: {lever.detail}; traffic follows the weights "
            "only while the lever is released"
        )
    return replace(plan, notes=(*plan.notes, note))


def plan_fallback_via(
    clients: AwsClients,
    topology: Topology,
    steps: Sequence[int],
    via: Via = Via.AUTO,
    audit_log: AuditLog | None = None,
) -> ShiftPlan | LeverPlan:
    """After a lever failover: reconcile the weights, release, then the usual steps (control
    plane up), or release only (--via dataplane, or auto without the control plane). Without an
    engaged lever: the usual weights fallback. --via weights moves the weights whatever the
    lever's state (when its alarm cannot be read, the plan says so)."""
    status = read_status(clients, topology)
    down = control_plane_error(status)
    lever_state = _lever_for_plan(topology, status, audit_log or AuditLog())
    if via == Via.WEIGHTS and down is not None:
        raise _weights_refused(down, ChangeAction.FALLBACK)
    # An engaged lever that can be read is released on the way (the weights take over first).
    engaged_and_readable = status.lever is not None and status.lever.state == LeverPosition.ENGAGED
    if via == Via.WEIGHTS and not engaged_and_readable:
        return _weights_fallback(clients, topology, status, steps, lever_state)
    if lever_state is None or lever_state.state == LeverPosition.RELEASED:
        if via == Via.DATAPLANE:
            state = lever_state or require_lever(clients, topology).read_state()
            return LeverPlan(
                action=ChangeAction.FALLBACK,
                target_role="primary",
                lever_action=LeverAction.RELEASE,
                reason=f"--via {Via.DATAPLANE}",
                lever=state,
                status=status,
                preflight=None,
                noop_reason="the data-plane lever is released"
                + ("" if status.lever is not None else f" ({state.detail})"),
            )
        if down is not None:
            raise _weights_refused(down, ChangeAction.FALLBACK)
        return _weights_fallback(clients, topology, status, steps, lever_state)
    if not engaged_and_readable:
        weights_too = "" if down is not None else "; `--via weights` moves the weights anyway"
        raise AwsError(
            f"the data-plane lever's state is {lever_state.state} ({lever_state.detail}): it "
            f"cannot be released now{weights_too}; nothing changed"
        )
    preflight = assess_readiness(clients, topology, "primary", status)
    if via == Via.DATAPLANE or (via == Via.AUTO and down is not None):
        return LeverPlan(
            action=ChangeAction.FALLBACK,
            target_role="primary",
            lever_action=LeverAction.RELEASE,
            reason=_lever_reason(via, down),
            lever=lever_state,
            status=status,
            preflight=preflight,
        )
    if down is not None:
        raise _weights_refused(down, ChangeAction.FALLBACK)
    current = status.require_weights()
    on_secondary = Weights.all_on("secondary")
    reconcile = None
    if current != on_secondary:
        no_checks = ReadinessReport(role="secondary", region=topology.secondary.region, checks=())
        reconcile = ShiftPlan(
            action=ChangeAction.FALLBACK,
            target_role="secondary",
            current=current,
            steps=(on_secondary,),
            preflight=no_checks,
            status=status,
        )
    shares = tuple(Weights.primary_share(p) for p in steps)
    dwell, basis = gate_dwell(topology) if len(shares) > 1 else (0.0, "")
    then = ShiftPlan(
        action=ChangeAction.FALLBACK,
        target_role="primary",
        current=on_secondary,
        steps=shares,
        preflight=preflight,
        status=status,
        dwell=dwell,
        dwell_basis=basis,
    )
    return LeverPlan(
        action=ChangeAction.FALLBACK,
        target_role="primary",
        lever_action=LeverAction.RELEASE,
        reason="the lever is engaged: the weights take over from it before it is released",
        lever=lever_state,
        status=status,
        preflight=preflight,
        reconcile=reconcile,
        then=then,
    )
