"""The plan and outcome views: the preflight's checks, a change's plan and what was applied (by
the weights or the data-plane lever), in full or in brief, and the switch's, the revocation's
and the revoked tokens' views."""

from __future__ import annotations

import time
from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from opsctl.change.apply import ShiftResult
from opsctl.change.lever_plan import LeverPlan, LeverResult
from opsctl.change.plan import ShiftPlan
from opsctl.change.revocation import RevocationList, RevokePlan, RevokeResult, iso
from opsctl.change.switch import SwitchPlan, SwitchResult
from opsctl.cli.output import dash, text
from opsctl.model import LeverAction, Weights
from opsctl.read.readiness_report import FAIL, PASS, WARN, Check, ReadinessReport

_RESULT_STYLE = {PASS: "green", WARN: "yellow", FAIL: "bold red"}


def preflight_brief(preflight: ReadinessReport | None) -> str:
    """`preflight: 11 PASS, 1 WARN (accelerated-recovery: DISABLED)`: the counts, and each check
    that did not pass."""
    if preflight is None:
        return "preflight: none"
    counts = {
        result: sum(check.result == result for check in preflight.checks)
        for result in (PASS, WARN, FAIL)
    }
    shown = ", ".join(f"{n} {result}" for result, n in counts.items() if n)
    others = "; ".join(f"{c.name}: {c.value}" for c in preflight.checks if c.result != PASS)
    return f"preflight: {shown}" + (f" ({others})" if others else "")


def plan_brief(plan: ShiftPlan) -> Text:
    steps = " → ".join(str(step) for step in plan.steps)
    return text(f"{plan.action} plan: {plan.current} → {steps}; {preflight_brief(plan.preflight)}")


def result_brief(result: ShiftResult) -> Text:
    lines = [
        f"step {index + 1}: {step.after} (change {step.change_id}, approval → INSYNC "
        f"{step.approval_to_insync_seconds:.1f}s)"
        for index, step in enumerate(result.steps)
    ]
    return text(f"{result.action} applied: " + "; ".join(lines))


def lever_plan_brief(plan: LeverPlan) -> Text:
    return text(f"{plan.action} plan by the data-plane lever: {'; '.join(plan.steps)}; "
                f"{preflight_brief(plan.preflight)}")  # fmt: skip


def checks_table(checks: Sequence[Check], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    # Names and results stay whole at 80 columns (a pipe's width); value and detail wrap.
    table.add_column("check", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("value")
    table.add_column("detail")
    for check in checks:
        table.add_row(
            check.name,
            text(check.result.upper(), style=_RESULT_STYLE[check.result]),
            check.value,
            check.detail,
        )
    return table


def readiness_renderable(report: ReadinessReport) -> RenderableType:
    verdict = (
        text(f"{report.role} ({report.region}) can take all traffic", style="bold green")
        if report.ready
        else text(f"{report.role} ({report.region}) is NOT ready", style="bold red")
    )
    return Group(verdict, checks_table(report.checks, f"readiness of {report.role}"))


def _weights_row(label: str, weights: Weights) -> list[str]:
    return [
        label,
        str(weights.primary),
        str(weights.secondary),
        f"{weights.share('primary'):.0%} / {weights.share('secondary'):.0%}",
    ]


def plan_renderable(plan: ShiftPlan) -> RenderableType:
    table = Table(
        title=f"{plan.action} plan: all traffic to {plan.target_role}", title_justify="left"
    )
    for column in ("step", "primary weight", "secondary weight", "share (primary / secondary)"):
        table.add_column(column)
    table.add_row(*_weights_row("current", plan.current))
    for index, step in enumerate(plan.steps, start=1):
        table.add_row(*_weights_row(f"{index}", step))
    parts: list[RenderableType] = [table]
    if plan.dwell:
        parts.append(text(f"dwell between steps: {plan.dwell:g}s by default ({plan.dwell_basis})"))
    parts.extend(text(f"note: {note}", style="yellow") for note in plan.notes)
    if plan.preflight is not None:
        parts.append(checks_table(plan.preflight.checks, f"preflight: {plan.target_role}"))
    return Group(*parts)


def result_renderable(result: ShiftResult) -> RenderableType:
    table = Table(
        title=f"{result.action} applied (weights primary/secondary)", title_justify="left"
    )
    table.add_column("step")
    table.add_column("weights", no_wrap=True)
    # A change id is what the operator quotes to AWS: never cut, whatever the width.
    table.add_column("change id", no_wrap=True)
    table.add_column("INSYNC after")
    table.add_column("approval to INSYNC")
    for index, step in enumerate(result.steps, start=1):
        table.add_row(
            str(index),
            f"{step.before.pair} → {step.after.pair}",
            step.change_id,
            f"{step.insync_seconds:.1f}s",
            f"{step.approval_to_insync_seconds:.1f}s",
        )
    return table


def lever_plan_renderable(plan: LeverPlan) -> RenderableType:
    title = f"{plan.action} plan by the data-plane lever: all traffic to {plan.target_role}"
    table = Table(title=title, title_justify="left")
    table.add_column("step")
    table.add_column("what")
    for index, step in enumerate(plan.steps, start=1):
        table.add_row(str(index), text(step))
    lever = plan.lever
    parts: list[RenderableType] = [
        text(f"why the lever: {plan.reason}", style="bold"),
        text(
            f"lever now: {lever.state} (alarm {dash(lever.alarm)}, since {dash(lever.since)})"
            + (f"; {lever.detail}" if lever.detail else "")
        ),
        table,
        text(f"expected: {plan.expected}"),
    ]
    if plan.then is not None and plan.then.dwell:
        dwell = f"{plan.then.dwell:g}s by default ({plan.then.dwell_basis})"
        parts.append(text(f"dwell between the weight steps: {dwell}"))
    if plan.preflight is not None:
        parts.append(checks_table(plan.preflight.checks, f"preflight: {plan.target_role}"))
    return Group(*parts)


def lever_result_renderable(result: LeverResult, brief: bool = False) -> RenderableType:
    """The lever's change and its confirmation; `brief`: its weight shifts in a line each."""
    alarm = "ALARM" if result.lever_action == LeverAction.ENGAGE else "OK"
    if result.dns_unconfirmed is not None:
        dns = result.dns_unconfirmed
    elif result.dns is not None and result.approval_to_dns_seconds is not None:
        dns = f"{result.dns.summary()} after {result.approval_to_dns_seconds:.1f}s"
    else:
        dns = "not checked (no nameServers in the topology)"
    moved = (
        f"lever {result.lever_action.position} ({result.change_id})"
        if result.published
        else f"lever already {result.lever_action.position} by another change (nothing published)"
    )
    lines = [
        moved,
        f"alarm {alarm} after {result.approval_to_alarm_seconds:.1f}s",
        dns if result.dns_unconfirmed is not None else f"DNS: {dns}",
    ]
    if result.reasserted:
        lines.insert(1, f"asserted again {result.reasserted}x (once a minute until DNS followed)")
    if result.dns is not None:
        lines.append(f"each answered address, asked over HTTPS: {result.dns.asked()}")
    parts: list[RenderableType] = [text(line) for line in lines]
    shifts = [shift for shift in (result.reconcile, result.then) if shift]
    parts.extend((result_brief if brief else result_renderable)(shift) for shift in shifts)
    return Group(*parts)


def switch_label(plan: SwitchPlan) -> str:
    return f"the {plan.role} ({plan.region}) failure switch {plan.parameter}"


def switch_plan_renderable(plan: SwitchPlan) -> RenderableType:
    return text(f"{switch_label(plan)}: {plan.current} -> {plan.target}")


def switch_result_renderable(result: SwitchResult) -> RenderableType:
    return text(
        f"{switch_label(result.plan)} is now {result.plan.target} "
        f"(parameter version {result.version})"
    )


def revoke_label(plan: RevokePlan) -> str:
    return f"token {plan.jti}"


def revoke_already(plan: RevokePlan) -> str:
    until = plan.current.until if plan.current else "-"
    return f"{revoke_label(plan)} is already revoked until {until}"


def revoke_plan_renderable(plan: RevokePlan) -> RenderableType:
    current = f"revoked until {plan.current.until}" if plan.current else "not revoked"
    return text(
        f"{revoke_label(plan)}: {current} -> revoked until {iso(plan.expires_at)}, "
        f"written to {plan.table} in {plan.region} ({plan.role})"
    )


def revoke_result_renderable(result: RevokeResult) -> RenderableType:
    return text(
        f"{revoke_label(result.plan)} is revoked until {iso(result.plan.expires_at)} "
        f"({result.change_id}); every authorizer denies it within 60 s plus replication and "
        "its cache TTL"
    )


def revocations_renderable(listed: RevocationList, now: float | None = None) -> RenderableType:
    moment = time.time() if now is None else now
    table = Table(title=f"revoked tokens in {listed.table} ({listed.region})", title_justify="left")
    for column in ("jti", "until", "revoked by", "reason"):
        table.add_column(column, overflow="fold")
    for revocation in listed.revocations:
        until = revocation.until + (" (expired)" if revocation.expired(moment) else "")
        table.add_row(revocation.jti, until, dash(revocation.revoked_by), dash(revocation.reason))
    return table
