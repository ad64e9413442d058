"""Failover and fallback plans: the steps from the current weights, and their preflight.

The flow the CLI (and the sandbox drill) drives:

    plan = plan_failover(clients, topology)  # or plan_fallback(..., steps=[10, 50, 100])
    # show plan; without approval stop here (exit 3)
    result = apply_shift(clients, topology, plan, Approval(reason="..."), AuditLog())

A plan reads the status once, skips the steps the traffic has already reached, and assesses the
target's readiness; `check_preflight` is the approval's judgement of that preflight, which
`opsctl.change.apply.apply_shift` (and the lever's apply) make before anything changes.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from opsctl.aws import AwsClients
from opsctl.errors import InputError, PreflightRefused
from opsctl.model import Approval, ChangeAction, Weights
from opsctl.read.readiness import assess_readiness
from opsctl.read.readiness_report import ReadinessReport
from opsctl.read.signals import HEALTH_METRIC_PERIOD
from opsctl.read.status import read_status
from opsctl.read.status_report import StatusReport
from stack_topology import HealthCheckTiming, Topology

# A health check's timing when the topology does not carry it: Route 53's defaults.
DEFAULT_HEALTH_CHECK = HealthCheckTiming(request_interval=30, failure_threshold=3)


@dataclass(frozen=True)
class ShiftPlan:
    action: ChangeAction  # FAILOVER or FALLBACK
    target_role: str  # the Region that ends up with all traffic
    current: Weights
    steps: tuple[Weights, ...]  # successive target weights; empty when there is nothing to do
    preflight: ReadinessReport | None  # None when there is nothing to do
    status: StatusReport
    # What the operator must know beside the steps (e.g. that the lever's state is unknown).
    notes: tuple[str, ...] = ()
    # Between steps: the seconds the health gate needs before it can judge a step, and why.
    dwell: float = 0.0
    dwell_basis: str = ""

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
            "notes": list(self.notes),
            "dwellSeconds": self.dwell or None,
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
    *,
    action: ChangeAction,
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
    dwell, basis = gate_dwell(topology) if len(steps) > 1 else (0.0, "")
    return ShiftPlan(
        action=action,
        target_role=target_role,
        current=current,
        steps=steps,
        preflight=preflight,
        status=status,
        dwell=dwell,
        dwell_basis=basis,
    )


def gate_dwell(topology: Topology) -> tuple[float, str]:
    """How long after a step the health gate can first judge it, and why: the endpoint checks'
    failures to notice (Route 53's defaults when the topology does not say), then one period of
    the HealthCheckStatus metric the gate reads."""
    timing = topology.health_check or DEFAULT_HEALTH_CHECK
    seconds = timing.seconds_to_notice + HEALTH_METRIC_PERIOD
    basis = (
        f"health checks every {timing.request_interval}s x {timing.failure_threshold} failures"
        f"{'' if topology.health_check else ' (Route 53 defaults)'} + the "
        f"{HEALTH_METRIC_PERIOD}s HealthCheckStatus period"
    )
    return float(seconds), basis


def plan_failover(
    clients: AwsClients, topology: Topology, status: StatusReport | None = None
) -> ShiftPlan:
    """All traffic to the secondary (reusing `status` when already read)."""
    return _plan(
        clients,
        topology,
        action=ChangeAction.FAILOVER,
        target_role="secondary",
        targets=[Weights.all_on("secondary")],
        status=status,
    )


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
        action=ChangeAction.FALLBACK,
        target_role="primary",
        targets=[Weights.primary_share(p) for p in steps],
        status=status,
    )


# What clears a failing check, to wait for before trying again: the signal, in which Region, and
# where to see it ({where}: the target's role and Region, as `opsctl status` heads its column).
WAIT_FOR = {
    "health-check": (
        "`opsctl status` shows the health of {where} as healthy (its Route 53 health check, "
        "healthy for a whole minute)"
    ),
    "health-alarm": "`opsctl status` shows the alarm of {where} as OK",
    "impaired-alarm": "`opsctl status` shows the impaired alarm of {where} as OK",
    "failure-switch": (
        "`opsctl status` shows the switch of {where} as healthy "
        "(opsctl switch --role {role} healthy)"
    ),
    "table-replicas": "the table is ACTIVE in both Regions",
    "replication-latency": "replication has caught up",
}


def check_preflight(
    preflight: ReadinessReport, action: ChangeAction, target_role: str, approval: Approval
) -> tuple[str, ...]:
    """The failing checks --force overrides; PreflightRefused when they are not overridden,
    saying what to wait for (which signal, in which Region, where to see it) before running the
    command again."""
    overridden = tuple(check.name for check in preflight.failures)
    if overridden and not approval.force:
        failed = "; ".join(f"{c.name}: {c.value}" for c in preflight.failures)
        where = f"{target_role} ({preflight.region})"
        waits = [
            WAIT_FOR[name].format(where=where, role=target_role)
            for name in overridden
            if name in WAIT_FOR
        ]
        wait = (
            f"Wait until {' and '.join(waits)}, then run it again "
            f"(`opsctl readiness --role {target_role}` shows each check); "
            if waits
            else f"`opsctl readiness --role {target_role}` shows each check; "
        )
        raise PreflightRefused(
            f"preflight refused {action} to {target_role}: {failed}; nothing changed. "
            f"{wait}--force overrides"
        )
    return overridden
