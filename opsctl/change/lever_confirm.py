"""Confirming that a moved lever took effect, bounded by --timeout and polling: the alarm reads
its new state, then every DNS answer names the target Region; when no name server answers from
here and the control plane does, Route 53's own view of the lever's health check. Until DNS
confirms an engage, the lever is asserted again (published once more) every minute."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from opsctl.aws import AwsClients
from opsctl.change.lever import CloudWatchAlarmLever
from opsctl.change.lever_plan import LeverPlan
from opsctl.errors import ChangeTimeoutError, OpsctlError, TopologyError
from opsctl.model import Approval, Clock, LeverAction
from opsctl.read.dns_answers import DnsAnswers, NameServersUnreachable, read_dns
from opsctl.read.signals import read_checker_counts
from opsctl.read.signing import HealthSigner
from stack_topology import Topology

# Seconds between two looks at the lever's alarm and at DNS while confirming (read at call time).
CONFIRM_POLL_INTERVAL = 2.0
# Seconds between two publishes of an engaged lever while DNS does not confirm it: one per minute,
# the metric's period, so each minute Route 53 evaluates has a datapoint (read at call time).
REASSERT_INTERVAL = 60.0


@dataclass(frozen=True)
class LeverMove:
    """An approved lever plan and what carrying it out works with: the run that moves the lever
    and the confirmation that follows it share it."""

    clients: AwsClients
    topology: Topology
    plan: LeverPlan
    approval: Approval
    lever: CloudWatchAlarmLever
    clock: Clock
    on_poll: Callable[[str], None] | None

    def poll(
        self,
        what: str,
        check: Callable[[], bool],
        deadline: float,
        between: Callable[[], None] | None = None,
    ) -> float:
        """Poll `check` until true; seconds since the approval. ChangeTimeoutError past
        deadline. `between` runs after each look that was not yet true."""
        while True:
            if check():
                return self.clock.now() - self.approval.approved_at
            remaining = deadline - self.clock.now()
            if remaining <= 0:
                raise ChangeTimeoutError(f"not confirmed in time: {what}")
            if between is not None:
                between()
            if self.on_poll is not None:
                self.on_poll(what)
            self.clock.sleep(min(CONFIRM_POLL_INTERVAL, remaining))


class LeverConfirmation:
    """The waits after one publish of the lever; `reasserted` and `dns_unconfirmed` say what they
    took, and each re-assertion is added to `applied`."""

    def __init__(self, move: LeverMove, applied: list[str]) -> None:
        self.move = move
        self.applied = applied
        self.published_at = 0.0  # clock time of the lever's last publish
        self.reasserted = 0
        self.dns_unconfirmed: str | None = None  # why DNS could not confirm the lever

    def route53_sees(
        self, healthy: bool, deadline: float, between: Callable[[], None] | None = None
    ) -> None:
        """Poll, bounded by the deadline, until Route 53 itself (GetHealthCheckStatus, with the
        control plane up) sees the lever's health check `healthy` or not: Route 53 evaluates
        the metric's stream on its own and may trail the alarm. ChangeTimeoutError past it."""
        lever = self.move.topology.out_of_service
        assert lever is not None  # require_lever: the topology has one
        check_id = lever.health_check_id
        if check_id is None:
            raise TopologyError(
                "the topology's outOfService names no healthCheckId: Route 53's own view of the "
                "lever cannot be read (use the stack's current topology output)"
            )
        route53 = self.move.clients.route53()

        def seen() -> bool:
            try:
                counts = read_checker_counts(route53, check_id)
            except OpsctlError:
                return False
            # Route 53 counts a check healthy when more than 18% of its checkers do.
            now = counts.total > 0 and counts.healthy / counts.total > 0.18
            return now == healthy

        self.move.poll(
            f"Route 53 sees the lever's health check {check_id} "
            f"{'healthy' if healthy else 'unhealthy'}",
            seen,
            deadline,
            between,
        )

    def route53_released(self, deadline: float, timeout: float) -> None:
        """With the control plane up, before any step gives the primary weight: Route 53 itself
        must see the lever's health check healthy. The alarm is CloudWatch's view, and DNS
        proves nothing while the weights keep everything on the secondary."""
        try:
            self.route53_sees(True, deadline)
        except ChangeTimeoutError as error:
            raise ChangeTimeoutError(
                f"the lever was released but {error.message} after {timeout:g}s: no weight was "
                "given to the primary; run `opsctl status`, then `opsctl fallback` again"
            ) from None

    def _reassert(self) -> None:
        """Publish the engaged lever again once a minute has passed since the last publish, so
        each minute Route 53 evaluates has a datapoint. A publish that fails is tried again at
        the next look: the first one is already audited and may well have been seen."""
        if self.move.clock.now() - self.published_at < REASSERT_INTERVAL:
            return
        try:
            change_id = self.move.lever.engage()
        except OpsctlError as failure:
            if self.move.on_poll is not None:
                self.move.on_poll(f"asserting the lever again failed ({failure.message})")
            return
        self.published_at = self.move.clock.now()
        self.reasserted += 1
        self.applied.append(f"the lever asserted again ({change_id})")

    def confirm(
        self, deadline: float, timeout: float
    ) -> tuple[float, float | None, DnsAnswers | None]:
        """Poll, bounded by the deadline, until the alarm and then DNS follow the lever: seconds
        from the approval to each, and DNS's last answers."""
        plan, lever, topology = self.move.plan, self.move.lever, self.move.topology
        engage = plan.lever_action == LeverAction.ENGAGE
        wanted_alarm = "ALARM" if engage else "OK"
        dns_target, every_answer = plan.dns_expected
        answers: list[DnsAnswers] = []
        unreachable: list[NameServersUnreachable] = []
        signer = HealthSigner(self.move.clients.frozen_credentials)

        def dns_follows() -> bool:
            try:
                answers.append(read_dns(topology, signer))
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
            alarm_seconds = self.move.poll(
                f"{lever.description} reads {wanted_alarm}",
                lambda: lever.read_state().alarm == wanted_alarm,
                deadline,
                reassert,
            )
            dns_seconds = None
            if topology.name_servers:
                dns_seconds = self.move.poll(
                    f"{'every' if every_answer else 'a'} DNS answer for {topology.record_name} "
                    f"names the {dns_target}",
                    dns_follows,
                    deadline,
                    reassert,
                )
            if unreachable:
                dns_seconds = None
                why = unreachable[0].message
                self.dns_unconfirmed = "DNS unconfirmed: name servers unreachable from here"
                self.dns_unconfirmed += f" ({why})"
                if plan.status.weights is not None and plan.then is None:
                    # The control plane answers: Route 53's own view of the lever's check.
                    self.route53_sees(not engage, deadline, reassert)
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
