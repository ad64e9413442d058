"""Failover and fallback when Route 53's control plane may be gone: which lever, and its flow.

`opsctl failover --via auto|weights|dataplane` (and fallback) start here. The status read that every
plan makes anyway is the probe: when the weighted records (ListResourceRecordSets, us-east-1) answer
within the status deadline, the control plane is up and the weights move traffic, as always; when
they do not, `auto` uses the data-plane lever (see opsctl.change.lever), which needs only the
secondary Region and DNS.

A lever failover engages the lever, then confirms, bounded by the timeout and polling: the alarm
reads ALARM, and (with name servers in the topology) every DNS answer for the shared name carries
the secondary's addresses. Route 53 follows the metric's data stream, not the alarm, and a
datapoint can arrive late or go unseen: until confirmed, the lever is asserted again (published
once more) every minute. A failover with the lever engaged but DNS still answering the primary
asserts it again; it is not a no-op.

A fallback after a lever failover, with the control plane up, first moves the weights to the
secondary (no traffic moves: the lever already sends it there), then releases the lever, then runs
the usual fallback steps, each gated as usual. Without the control plane, `--via dataplane`
releases the lever only: every answer goes back to the primary at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from opsctl.aws import AwsClients
from opsctl.change.apply import ShiftOptions, ShiftResult, apply_shift
from opsctl.change.audit import Actor, AuditLog, AuditRecord, AuditWriteError, current_actor
from opsctl.change.lever import (
    ENGAGED,
    LEVER_STEP,
    RELEASED,
    UNKNOWN,
    CloudWatchAlarmLever,
    LeverState,
    require_lever,
)
from opsctl.change.plan import ShiftPlan, check_preflight, gate_dwell, plan_failover, plan_fallback
from opsctl.errors import (
    AwsError,
    AwsUnreachable,
    ChangeTimeoutError,
    OpsctlError,
    TopologyError,
)
from opsctl.model import Approval, Clock, Weights
from opsctl.read.concurrent_reads import gather, read_deadline
from opsctl.read.dns_answers import DnsAnswers, NameServersUnreachable, read_dns
from opsctl.read.readiness import assess_readiness
from opsctl.read.readiness_report import ReadinessReport
from opsctl.read.signals import read_checker_counts
from opsctl.read.status import read_status
from opsctl.read.status_report import StatusReport
from stack_topology import Topology

VIA_AUTO, VIA_WEIGHTS, VIA_DATAPLANE = "auto", "weights", "dataplane"
# Seconds between two looks at the lever's alarm and at DNS while confirming (read at call time).
CONFIRM_POLL_INTERVAL = 2.0
# Time to effect on AWS, in seconds (min, max). A CLOUDWATCH_METRIC check has no failure
# threshold or interval: the alarm's 60 s period plus CloudWatch's evaluation delay (up to about a
# minute), then Route 53's own evaluation of the metric's data stream (budget 1-2 minutes); the
# zone's name servers answer accordingly, and resolvers follow within the answer's TTL (60 s for
# these alias answers). The default --timeout (300 s) covers the name servers' worst case.
ALARM_SECONDS = (60, 120)
ROUTE53_EVALUATION_SECONDS = (60, 120)
ANSWER_TTL_SECONDS = 60
NAME_SERVERS_SECONDS = (
    ALARM_SECONDS[0] + ROUTE53_EVALUATION_SECONDS[0],
    ALARM_SECONDS[1] + ROUTE53_EVALUATION_SECONDS[1],
)
# Seconds between two publishes of an engaged lever while DNS does not confirm it: one per minute,
# the metric's period, so each minute Route 53 evaluates has a datapoint (read at call time).
REASSERT_INTERVAL = 60.0


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
    # Engage a lever that is engaged already, because DNS does not follow it: publish anyway.
    reassert: bool = False

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
        if self.reassert:
            out.append(
                "assert the engaged lever again (publish it once more, then each minute until "
                "DNS answers the secondary)"
            )
        elif self.lever_action == "engage":
            out.append(
                "engage the lever: every new DNS answer goes to the secondary, whatever the weights"
            )
        elif self.then is None and self.reconcile is None:
            out.append(f"release the lever: {self._release_goes()}")
        else:
            out.append("release the lever (the weights now keep traffic on the secondary)")
        if self.then is not None:
            out.extend(f"weights {w}" for w in self.then.steps)
        return tuple(out)

    @property
    def expected(self) -> str:
        """How long the lever takes to show on AWS, in words (for the plan)."""
        low, high = NAME_SERVERS_SECONDS
        return (
            f"on AWS the alarm follows in {ALARM_SECONDS[0] // 60}-{ALARM_SECONDS[1] // 60} min, "
            f"Route 53's own evaluation of the metric in {ROUTE53_EVALUATION_SECONDS[0] // 60}-"
            f"{ROUTE53_EVALUATION_SECONDS[1] // 60} min more: the name servers answer after "
            f"{low // 60}-{high // 60} min, resolvers within the {ANSWER_TTL_SECONDS} s TTL after "
            "that; --timeout bounds the wait for the name servers"
        )

    def _release_goes(self) -> str:
        """Where a release alone sends traffic: wherever the weights do, once the primary's
        record is healthy again."""
        weights = self.status.weights
        if weights is None:
            return (
                "traffic goes where the weights send it (they cannot be read now: all of it back "
                "to the primary if they are still primary 100 / secondary 0)"
            )
        if weights.serving == "primary":
            return "all traffic goes back to the primary at once"
        if weights.serving == "secondary":
            return "no traffic moves (the weights send all of it to the secondary)"
        return f"traffic goes where the weights send it ({weights})"

    @property
    def dns_expected(self) -> tuple[str, bool]:
        """The Region DNS answers name once the lever has moved, and whether every answer must
        (else at least one): a release alone sends traffic where the weights do."""
        if self.lever_action == "engage" or self.then is not None or self.reconcile is not None:
            return "secondary", True  # a reconciled fallback: the weights hold it there
        weights = self.status.weights
        if weights is not None and weights.serving in ("primary", "secondary"):
            return weights.serving, True
        return "primary", False  # split or unreadable weights: the primary is back in answers

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
            "expectedSeconds": {
                "alarm": list(ALARM_SECONDS),
                "nameServers": list(NAME_SERVERS_SECONDS),
                "resolvers": [n + ANSWER_TTL_SECONDS for n in NAME_SERVERS_SECONDS],
            },
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
    # False: another change had moved the lever already (re-read just before publishing), so
    # nothing was published and the audit records a no-op.
    published: bool = True
    # Publishes of the engaged lever after the first, while DNS did not confirm it yet.
    reasserted: int = 0
    # Why DNS could not confirm it (no name server answers from here), and what did instead.
    dns_unconfirmed: str | None = None

    @property
    def completed(self) -> bool:
        return self.then is None or self.then.completed

    @property
    def summary(self) -> str:
        """What was applied, in one line: weights reconciled, the lever, the steps after it."""
        moved = (
            f"the lever {self.lever_action}d ({self.change_id})"
            if self.published
            else f"nothing published (the lever was already {self.lever_action}d)"
        )
        shifts = [shift.summary for shift in (self.reconcile, self.then) if shift and shift.steps]
        return "; ".join([*shifts[:1], moved, *shifts[1:]] if self.reconcile else [moved, *shifts])

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
            "published": self.published,
            "reasserted": self.reasserted,
            "dnsUnconfirmed": self.dns_unconfirmed,
        }


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
        audited = UNKNOWN
        why.append(f"the audit log cannot be read ({error.message})")
    else:
        if last is None:
            audited = RELEASED
            why.append("the audit log records no lever change (never engaged from here)")
        else:
            audited, since = str(last.after.get("lever", UNKNOWN)), last.time
            maybe = "" if last.applied else ", which may not have been applied"
            why.append(f"the audit log's last lever change: {audited} at {last.time}{maybe}")
            if last.applied is None:
                audited = UNKNOWN
    checked = status.lever_check_healthy
    if checked is not None:
        seen = "healthy" if checked else "unhealthy"
        why.append(f"Route 53 sees the lever's health check {seen}")
    in_effect = None if checked is None else (RELEASED if checked else ENGAGED)
    state = audited if in_effect in (None, audited) else UNKNOWN
    return LeverState(CloudWatchAlarmLever.kind, state, since, None, "; ".join(why))


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
    via: str = VIA_AUTO,
    audit_log: AuditLog | None = None,
) -> ShiftPlan | LeverPlan:
    """The weights when the control plane answers (or --via weights, whatever the lever says),
    else the lever."""
    status = read_status(clients, topology)
    down = control_plane_error(status)
    if via == VIA_WEIGHTS:
        if down is not None:
            raise _weights_refused(down, "failover")
        return plan_failover(clients, topology, status)
    if status.lever is not None and status.lever.state == ENGAGED:
        unfollowed = _dns_not_following(status)
        if unfollowed is None:
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
        preflight = assess_readiness(clients, topology, "secondary", status)
        return LeverPlan(
            "failover",
            "secondary",
            "engage",
            f"the lever is engaged but {unfollowed}: Route 53 has not taken it (a late or "
            "unseen datapoint)",
            status.lever,
            status,
            preflight,
            reassert=True,
        )
    if via == VIA_AUTO and down is None:
        return plan_failover(clients, topology, status)
    require_lever(clients, topology)
    state = _lever_for_plan(topology, status, audit_log or AuditLog())
    assert state is not None  # require_lever: the topology has one
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
    if lever.state == RELEASED:
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
    via: str = VIA_AUTO,
    audit_log: AuditLog | None = None,
) -> ShiftPlan | LeverPlan:
    """After a lever failover: reconcile the weights, release, then the usual steps (control
    plane up), or release only (--via dataplane, or auto without the control plane). Without an
    engaged lever: the usual weights fallback. --via weights moves the weights whatever the
    lever's state (when its alarm cannot be read, the plan says so)."""
    status = read_status(clients, topology)
    down = control_plane_error(status)
    lever_state = _lever_for_plan(topology, status, audit_log or AuditLog())
    if via == VIA_WEIGHTS and down is not None:
        raise _weights_refused(down, "fallback")
    # An engaged lever that can be read is released on the way (the weights take over first).
    engaged_and_readable = status.lever is not None and status.lever.state == ENGAGED
    if via == VIA_WEIGHTS and not engaged_and_readable:
        return _weights_fallback(clients, topology, status, steps, lever_state)
    if lever_state is None or lever_state.state == RELEASED:
        if via == VIA_DATAPLANE:
            state = lever_state or require_lever(clients, topology).read_state()
            return LeverPlan(
                "fallback",
                "primary",
                "release",
                f"--via {VIA_DATAPLANE}",
                state,
                status,
                None,
                noop_reason="the data-plane lever is released"
                + ("" if status.lever is not None else f" ({state.detail})"),
            )
        if down is not None:
            raise _weights_refused(down, "fallback")
        return _weights_fallback(clients, topology, status, steps, lever_state)
    if not engaged_and_readable:
        weights_too = "" if down is not None else "; `--via weights` moves the weights anyway"
        raise AwsError(
            f"the data-plane lever's state is {lever_state.state} ({lever_state.detail}): it "
            f"cannot be released now{weights_too}; nothing changed"
        )
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
    shares = tuple(Weights.primary_share(p) for p in steps)
    dwell, basis = gate_dwell(topology) if len(shares) > 1 else (0.0, "")
    then = ShiftPlan(
        "fallback", "primary", on_secondary, shares, preflight, status, (), dwell, basis
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
    between: Callable[[], None] | None = None,
) -> float:
    """Poll `check` until true; seconds since the approval. ChangeTimeoutError past deadline.
    `between` runs after each look that was not yet true."""
    while True:
        if check():
            return clock.now() - approval.approved_at
        remaining = deadline - clock.now()
        if remaining <= 0:
            raise ChangeTimeoutError(f"not confirmed in time: {what}")
        if between is not None:
            between()
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
    if plan.lever_action == "release":
        # Decided before anything changes: a release that cannot fit must not follow weight
        # changes it was planned with.
        _release_fits(lever.seconds_until_release_counts(), timeout, timeout, "nothing changed")
    run = _LeverRun(clients, topology, plan, approval, audit_log, lever, clock, on_poll)
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

    def __init__(
        self,
        clients: AwsClients,
        topology: Topology,
        plan: LeverPlan,
        approval: Approval,
        audit_log: AuditLog,
        lever: CloudWatchAlarmLever,
        clock: Clock,
        on_poll: Callable[[str], None] | None,
    ) -> None:
        self.clients = clients
        self.topology = topology
        self.plan = plan
        self.approval = approval
        self.audit_log = audit_log
        self.lever = lever
        self.clock = clock
        self.on_poll = on_poll
        self.applied: list[str] = []
        self.published_at = 0.0  # clock time of the lever's last publish
        self.reasserted = 0
        self.dns_unconfirmed: str | None = None  # why DNS could not confirm the lever

    def applied_report(self) -> str:
        return f"applied: {'; '.join(self.applied)} (in the audit log {self.audit_log.path})"

    def carry_out(
        self, actor: Actor, overridden: tuple[str, ...], timeout: float, interval: float
    ) -> LeverResult:
        plan, clock = self.plan, self.clock
        deadline = clock.now() + timeout
        reconcile = None
        if plan.reconcile is not None:
            reconcile = apply_shift(
                self.clients,
                self.topology,
                plan.reconcile,
                self.approval,
                self.audit_log,
                ShiftOptions(insync_timeout=timeout),
            )
            self.applied.extend(
                f"weights {step.before} -> {step.after} (change {step.change_id})"
                for step in reconcile.steps
            )
        engage = plan.lever_action == "engage"
        if not engage:
            # Before the intent: nothing is on record while waiting, so an interrupt here
            # leaves no intent without an outcome.
            wait = self.lever.seconds_until_release_counts()
            _release_fits(wait, deadline - clock.now(), timeout, "the lever was not released")
            if wait > 0:
                if self.on_poll is not None:
                    self.on_poll(f"the next minute ({wait:.0f}s), when a release takes effect")
                clock.sleep(wait)
        change_id = self._move(actor, overridden)
        lever_seconds = clock.now() - self.approval.approved_at
        self.published_at = clock.now()
        alarm_seconds, dns_seconds, dns = self._confirm(deadline, timeout)
        then = None
        if plan.then is not None:  # the release moved no traffic: no dwell before the steps
            self._route53_released(deadline, timeout)
            then = apply_shift(
                self.clients,
                self.topology,
                plan.then,
                self.approval,
                self.audit_log,
                ShiftOptions(insync_timeout=timeout, interval=interval),
            )
        return LeverResult(
            plan.action,
            plan.lever_action,
            change_id or "",
            lever_seconds,
            alarm_seconds,
            dns_seconds,
            dns,
            overridden,
            reconcile,
            then,
            published=change_id is not None,
            reasserted=self.reasserted,
            dns_unconfirmed=self.dns_unconfirmed,
        )

    def _move(self, actor: Actor, overridden: tuple[str, ...]) -> str | None:
        """Publish the lever's new state, audited (intent first); None when a re-read just
        before found another change had moved it already (audited as a no-op)."""
        plan, lever = self.plan, self.lever
        engage = plan.lever_action == "engage"
        before, after = (RELEASED, ENGAGED) if engage else (ENGAGED, RELEASED)
        if plan.reassert:
            before = ENGAGED
        intent = AuditRecord.intent(
            action=plan.action,
            app=self.topology.app,
            actor=actor,
            reason=self.approval.reason,
            before={"lever": before},
            after={"lever": after},
            read=[plan.lever.to_json()],
            forced=self.approval.force,
            drill=self.approval.drill_id,
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

    def _route53_sees(
        self, healthy: bool, deadline: float, between: Callable[[], None] | None = None
    ) -> None:
        """Poll, bounded by the deadline, until Route 53 itself (GetHealthCheckStatus, with the
        control plane up) sees the lever's health check `healthy` or not: Route 53 evaluates
        the metric's stream on its own and may trail the alarm. ChangeTimeoutError past it."""
        lever = self.topology.out_of_service
        assert lever is not None  # require_lever: the topology has one
        check_id = lever.health_check_id
        if check_id is None:
            raise TopologyError(
                "the topology's outOfService names no healthCheckId: Route 53's own view of the "
                "lever cannot be read (use the stack's current topology output)"
            )
        route53 = self.clients.route53()

        def seen() -> bool:
            try:
                counts = read_checker_counts(route53, check_id)
            except OpsctlError:
                return False
            # Route 53 counts a check healthy when more than 18% of its checkers do.
            now = counts.total > 0 and counts.healthy / counts.total > 0.18
            return now == healthy

        _poll(
            f"Route 53 sees the lever's health check {check_id} "
            f"{'healthy' if healthy else 'unhealthy'}",
            seen,
            self.approval,
            deadline,
            self.clock,
            self.on_poll,
            between,
        )

    def _route53_released(self, deadline: float, timeout: float) -> None:
        """With the control plane up, before any step gives the primary weight: Route 53 itself
        must see the lever's health check healthy. The alarm is CloudWatch's view, and DNS
        proves nothing while the weights keep everything on the secondary."""
        try:
            self._route53_sees(True, deadline)
        except ChangeTimeoutError as error:
            raise ChangeTimeoutError(
                f"the lever was released but {error.message} after {timeout:g}s: no weight was "
                "given to the primary; run `opsctl status`, then `opsctl fallback` again"
            ) from None

    def _reassert(self) -> None:
        """Publish the engaged lever again once a minute has passed since the last publish, so
        each minute Route 53 evaluates has a datapoint. A publish that fails is tried again at
        the next look: the first one is already audited and may well have been seen."""
        if self.clock.now() - self.published_at < REASSERT_INTERVAL:
            return
        try:
            change_id = self.lever.engage()
        except OpsctlError as failure:
            if self.on_poll is not None:
                self.on_poll(f"asserting the lever again failed ({failure.message})")
            return
        self.published_at = self.clock.now()
        self.reasserted += 1
        self.applied.append(f"the lever asserted again ({change_id})")

    def _confirm(
        self, deadline: float, timeout: float
    ) -> tuple[float, float | None, DnsAnswers | None]:
        """Poll, bounded by the deadline, until the alarm and then DNS follow the lever: seconds
        from the approval to each, and DNS's last answers."""
        plan, lever, topology = self.plan, self.lever, self.topology
        engage = plan.lever_action == "engage"
        wanted_alarm = "ALARM" if engage else "OK"
        dns_target, every_answer = plan.dns_expected
        answers: list[DnsAnswers] = []
        unreachable: list[NameServersUnreachable] = []

        def dns_follows() -> bool:
            try:
                answers.append(read_dns(topology))
            except NameServersUnreachable as error:
                unreachable.append(error)
                return True  # nothing to wait for: no name server answers from here
            except OpsctlError:
                return False
            latest = answers[-1]
            named = latest.counts.get(dns_target, 0)
            return latest.answered > 0 and (named == latest.answered if every_answer else named > 0)

        # An engage is asserted until DNS confirms it; a release is not (a 0 never needs it).
        reassert = self._reassert if engage else None
        try:
            alarm_seconds = _poll(
                f"{lever.description} reads {wanted_alarm}",
                lambda: lever.read_state().alarm == wanted_alarm,
                self.approval,
                deadline,
                self.clock,
                self.on_poll,
                reassert,
            )
            dns_seconds = None
            if topology.name_servers:
                dns_seconds = _poll(
                    f"{'every' if every_answer else 'a'} DNS answer for {topology.record_name} "
                    f"names the {dns_target}",
                    dns_follows,
                    self.approval,
                    deadline,
                    self.clock,
                    self.on_poll,
                    reassert,
                )
            if unreachable:
                dns_seconds = None
                why = unreachable[0].message
                self.dns_unconfirmed = "DNS unconfirmed: name servers unreachable from here"
                self.dns_unconfirmed += f" ({why})"
                if plan.status.weights is not None and plan.then is None:
                    # The control plane answers: Route 53's own view of the lever's check.
                    self._route53_sees(not engage, deadline, reassert)
                    self.dns_unconfirmed += "; Route 53 sees the lever's health check " + (
                        "unhealthy" if engage else "healthy"
                    )
        except ChangeTimeoutError as error:
            seen = f"; DNS last answered {answers[-1].summary()}" if answers else ""
            raise ChangeTimeoutError(
                f"the lever moved but is {error.message} after {timeout:g}s{seen}; run "
                "`opsctl status`"
            ) from None
        return alarm_seconds, dns_seconds, answers[-1] if answers else None
