"""The plan and the result of a failover or fallback by the data-plane lever: what it will do, in
order and in words, how long AWS takes to show it, and what it did, with its measured times."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opsctl.change.apply import ShiftResult
from opsctl.change.plan import ShiftPlan
from opsctl.model import ChangeAction, LeverAction, Via
from opsctl.read.dns_answers import DnsAnswers
from opsctl.read.lever_state import LeverState
from opsctl.read.readiness_report import ReadinessReport
from opsctl.read.status_report import StatusReport

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


@dataclass(frozen=True)
class LeverPlan:
    """A failover or fallback that engages or releases the lever (maybe with weight steps)."""

    action: ChangeAction  # FAILOVER or FALLBACK
    target_role: str  # the Region that ends up with all traffic
    lever_action: LeverAction
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
        elif self.lever_action == LeverAction.ENGAGE:
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
        if (
            self.lever_action == LeverAction.ENGAGE
            or self.then is not None
            or self.reconcile is not None
        ):
            return "secondary", True  # a reconciled fallback: the weights hold it there
        weights = self.status.weights
        if weights is not None and weights.serving in ("primary", "secondary"):
            return weights.serving, True
        return "primary", False  # split or unreadable weights: the primary is back in answers

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "target": self.target_role,
            "via": Via.DATAPLANE,
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
    action: ChangeAction
    lever_action: LeverAction
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
            f"the lever {self.lever_action.position} ({self.change_id})"
            if self.published
            else f"nothing published (the lever was already {self.lever_action.position})"
        )
        shifts = [shift.summary for shift in (self.reconcile, self.then) if shift and shift.steps]
        return "; ".join([*shifts[:1], moved, *shifts[1:]] if self.reconcile else [moved, *shifts])

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "via": Via.DATAPLANE,
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
