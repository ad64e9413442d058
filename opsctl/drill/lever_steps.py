"""The data-plane lever's failover and fallback as drill steps: planned, approved and applied
through opsctl's core (the same flow as `opsctl failover --via auto`), each checked and
measured."""

from __future__ import annotations

import time
from collections.abc import Callable

from opsctl.change.lever_apply import apply_lever
from opsctl.change.lever_plan import LeverPlan
from opsctl.change.routing import plan_failover_via, plan_fallback_via
from opsctl.cli import output, plan_view
from opsctl.drill.engine import Drill
from opsctl.drill.model import FALLBACK_STEPS, DrillFailed
from opsctl.drill.timeline import failed
from opsctl.drill.watch import Watch
from opsctl.model import LeverAction


def lever_alarm_state(drill: Drill) -> str | None:
    """The lever alarm's state (None: no such alarm)."""
    lever = drill.topology.out_of_service
    assert lever is not None  # a lever scenario refuses a stack without one
    cloudwatch = drill.clients.client("cloudwatch", lever.region)
    alarms = cloudwatch.describe_alarms(AlarmNames=[lever.alarm_name])["MetricAlarms"]
    return alarms[0]["StateValue"] if alarms else None


def failover_with_lever(drill: Drill, dns_region: Callable[[], str | None]) -> float:
    """Failover engaging the lever: planned, approved and applied through opsctl's core, then
    measured from approval to the lever alarm, to DNS answering the secondary (`dns_region`
    asks the DNS the players use) and to every player served there. When DNS switched."""
    drill.step("fail over (auto): the weights cannot move, the lever can")
    secondary = drill.topology.secondary.region
    started = time.monotonic()
    plan = plan_failover_via(drill.clients, drill.topology)
    planned = time.monotonic() - started
    drill.mark("failover planned")
    if not isinstance(plan, LeverPlan) or plan.lever_action != LeverAction.ENGAGE or plan.noop:
        raise DrillFailed(f"the failover plan does not engage the lever: {plan}")
    output.stdout.print(plan_view.lever_plan_brief(plan))
    drill.passed(f"the plan engages the lever, planned in {planned:.1f}s: {plan.reason}")
    # Status and preflight read every source with the primary's reads hanging.
    drill.measure("failover plan (status + preflight) without the primary", f"{planned:.1f}s")
    drill.say(f"  approving the failover (reason {drill.target.reason!r}, non-interactive)")
    conditions = {
        "lever alarm ALARM": lambda: lever_alarm_state(drill) == "ALARM",
        f"DNS answers {secondary}": lambda: dns_region() == secondary,
    }
    approved_at = drill.mark("failover approved")
    with Watch(drill.mark, conditions, drill.poll_seconds) as watch:
        result = apply_lever(
            drill.clients, drill.topology, plan, drill.target.approval(),
            drill.audit_log, timeout=drill.signal_timeout,
        )  # fmt: skip
        lever_at = watch.wait("lever alarm ALARM", drill.signal_timeout)
        dns_at = watch.wait(f"DNS answers {secondary}", drill.signal_timeout)
    output.stdout.print(plan_view.lever_result_renderable(result, brief=True))
    drill.wait_until(
        f"a player served by {secondary}",
        lambda: drill.timeline.first_success(approved_at, secondary) is not None,
        drill.signal_timeout,
    )
    success = drill.timeline.first_success(approved_at, secondary)
    assert success is not None
    drill.passed(
        f"lever alarm ALARM after {lever_at - approved_at:.1f}s, DNS answers "
        f"{secondary} after {dns_at - approved_at:.1f}s, first player served there "
        f"after {success.at - approved_at:.1f}s"
    )
    drill.measure("approval → lever alarm ALARM", f"{lever_at - approved_at:.1f}s")
    drill.measure(f"approval → DNS answers {secondary}", f"{dns_at - approved_at:.1f}s")
    drill.measure(
        f"approval → first player served by {secondary}",
        f"{success.at - approved_at:.1f}s",
    )
    served = drill.every_player_served_by(secondary, approved_at)
    drill.measure(
        "approval → every player served by the secondary (recovery time)", f"{served:.1f}s"
    )
    drill.check(
        result.lever_action == LeverAction.ENGAGE,
        f"lever engaged, in the audit log ({result.change_id})",
        f"the failover did {result.lever_action}, not engage",
    )
    # opsctl's own confirmation: each answered address asked which Region it is, over HTTPS.
    confirmed = result.dns
    drill.check(
        confirmed is not None and confirmed.all_name("secondary"),
        "opsctl confirmed the failover by DNS answers it classified by asking each address: "
        f"{confirmed.summary() if confirmed else ''}; {confirmed.asked() if confirmed else ''}",
        "opsctl's DNS confirmation did not name the secondary for every answer: "
        f"{confirmed.summary() if confirmed else 'no DNS answers'}",
    )
    return dns_at


def fallback_with_lever(drill: Drill, interval: float) -> None:
    """Fallback through the lever: the weights follow it, it is released, then the steps, each
    `interval` apart; no player request may fail while it runs."""
    steps = ", ".join(f"{p}%" for p in FALLBACK_STEPS)
    drill.step(f"fall back: weights follow the lever, the lever is released, then {steps}")
    plan = plan_fallback_via(drill.clients, drill.topology, FALLBACK_STEPS)
    if not isinstance(plan, LeverPlan):
        raise DrillFailed(f"the fallback plan does not go through the engaged lever: {plan}")
    output.stdout.print(plan_view.lever_plan_brief(plan))
    started = drill.mark("fallback approved")
    result = apply_lever(
        drill.clients, drill.topology, plan, drill.target.approval(), drill.audit_log,
        timeout=drill.signal_timeout, interval=interval,
    )  # fmt: skip
    ended = drill.mark("fallback done")
    output.stdout.print(plan_view.lever_result_renderable(result, brief=True))
    drill.players.wait_recorded(ended)
    during = drill.timeline.between(started, ended)
    drill.measure(
        "requests failed during the fallback",
        f"{failed(during)} of {len(during)}",
        failed(during) == 0,
    )
    drill.check(
        result.then is not None and result.then.completed and failed(during) == 0,
        f"fallback completed; {len(during)} requests during it, none failed",
        f"fallback: {failed(during)} of {len(during)} requests failed; {result}",
    )
