"""All terminal output: rich tables for people, JSON for scripts.

Data goes to stdout, messages to stderr.

Everything printed may hold data from an operator, a file or AWS (a reason, a record name, an SSM
value), so it is never markup and never terminal control: the consoles parse no markup or emoji
codes, and every string they render has its control and format characters shown as escapes
(`visible`). Text objects built here from data go through `text()`, which does the same.

rich honours NO_COLOR (and drops colour when stdout is not a terminal), so nothing here decides
colour by itself. JSON goes through `print_json` as plain text: never highlighted, never wrapped.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from opsctl.audit import INTENT, AuditRecord
from opsctl.dataplane import LeverPlan, LeverResult
from opsctl.readiness import FAIL, PASS, WARN, Check, ReadinessReport
from opsctl.route53 import Weights
from opsctl.shift import ShiftPlan, ShiftResult
from opsctl.status import RegionStatus, StatusReport
from opsctl.switch import SwitchPlan, SwitchResult


def visible(value: object) -> str:
    """str(value) with each control, format or separator character (ESC, CR, newline, U+202E...)
    written as its escape (\\x1b, \\r, \\n, \\u202e): it cannot move the cursor, recolour or
    clear the terminal, reorder the text or break a one-line message."""
    raw = str(value)
    if raw.isprintable():
        return raw
    return "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
        for char in raw
    )


def text(value: object, style: str = "") -> Text:
    """A Text of data: never markup, control characters visible."""
    return Text(visible(value), style=style)


class _DataConsole(Console):
    """A console that renders every string as plain, visible text (see the module docstring)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(markup=False, emoji=False, highlight=False, **options)

    def render_str(self, text: str, **options: Any) -> Text:  # type: ignore[override]
        return super().render_str(visible(text), **options)

    def on_broken_pipe(self) -> None:
        # rich would exit 1 silently; the CLI reports a closed stdout the same way everywhere.
        raise BrokenPipeError


# Consoles resolve sys.stdout / sys.stderr at write time, so test runners can capture them.
stdout = _DataConsole(soft_wrap=False)
# Messages are never wrapped: an error stays one line, however narrow the terminal (or pipe).
stderr = _DataConsole(stderr=True, soft_wrap=True)

_RESULT_STYLE = {PASS: "green", WARN: "yellow", FAIL: "bold red"}
_ALARM_STYLE = {"OK": "green", "ALARM": "bold red", "INSUFFICIENT_DATA": "yellow"}


def print_json(data: Any, compact: bool = False) -> None:
    text = json.dumps(data, separators=(",", ":")) if compact else json.dumps(data, indent=2)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def emit(as_json: bool, document: Any, renderable: RenderableType) -> None:
    """Data on stdout: the JSON document with --json, else the renderable (table, text)."""
    if as_json:
        print_json(document)
    else:
        stdout.print(renderable)


def info(message: str) -> None:
    stderr.print(text(message))


def warn(message: str) -> None:
    stderr.print(text(message, style="yellow"))


def error(message: str) -> None:
    stderr.print(text(f"opsctl: error: {message}", style="bold red"))


def _dash(value: object) -> str:
    return "-" if value is None else str(value)


_HEALTH_CELL = {
    "healthy": ("healthy", "green"),
    "unhealthy": ("UNHEALTHY", "bold red"),
    "unknown": ("unknown", "yellow"),
}


def _health_cell(region: RegionStatus) -> Text:
    label, style = _HEALTH_CELL[region.health]
    checkers = f" ({region.checkers})" if region.checkers else ""
    return text(f"{label}{checkers}", style=style)


def _alarm_cell(state: str | None, since: str | None) -> Text:
    if state is None:
        return text("-")
    return text(f"{state} since {_dash(since)}", style=_ALARM_STYLE.get(state, ""))


def _switch_cell(value: str | None) -> Text:
    style = {"healthy": "green", "failing": "bold red"}.get(value or "", "yellow")
    return text(_dash(value), style=style)


def _unknown_if(unreadable: bool, cell: RenderableType) -> RenderableType:
    """A source that could not be read shows `unknown`, never a dash that looks like "none"."""
    return Text("unknown", style="yellow") if unreadable else cell


def _probe_cell(region: RegionStatus) -> Text:
    if region.probe is None:
        return text("-")
    return text(str(region.probe), style="green" if region.probe.ok else "bold red")


def _lever_line(report: StatusReport) -> Text | None:
    if report.lever is None:
        return (
            text("lever: unknown (unreadable)", style="yellow")
            if "lever" in report.unreadable
            else None
        )
    lever = report.lever
    style = {"engaged": "bold yellow", "released": "green"}.get(lever.state, "yellow")
    line = f"lever: {lever.state} since {_dash(lever.since)} (alarm {_dash(lever.alarm)})"
    return text(f"{line}; {lever.detail}" if lever.detail else line, style=style)


def _dns_line(report: StatusReport) -> Text | None:
    if report.dns is None:
        return (
            text("DNS: unknown (no name server answered)", style="yellow")
            if "dns" in report.unreadable
            else None
        )
    return text(f"DNS ({', '.join(report.dns.queried)}): {report.dns.summary()}")


def status_renderable(report: StatusReport) -> RenderableType:
    if not report.consistent:
        style = "bold red"
    else:
        style = "bold yellow" if report.unverified or report.partial else "bold green"
    headline = text(report.headline, style=style)
    unreadable = set(report.unreadable)
    table = Table(title=f"{report.record_name}", title_justify="left", expand=False)
    for column in ("role", "Region", "weight", "share", "health (checkers)", "alarm"):
        table.add_column(column)
    show_impaired = any(r.impaired_alarm is not None for r in report.regions)
    if show_impaired:
        table.add_column("Region impaired")
    table.add_column("failure switch")
    show_probe = any(r.probe is not None for r in report.regions)
    if show_probe:
        table.add_column("direct probe")
    for region in report.regions:
        serving = region in report.serving_regions
        role = region.role
        cells: list[RenderableType] = [
            text(role, style="bold" if serving else ""),
            region.region,
            _unknown_if(region.weight is None, str(region.weight)),
            _unknown_if(region.share is None, f"{region.share or 0:.0%}"),
            _health_cell(region),
            _unknown_if("alarms" in unreadable, _alarm_cell(region.alarm, region.alarm_since)),
        ]
        if show_impaired:
            cells.append(
                _unknown_if(
                    f"impaired:{role}" in unreadable,
                    _alarm_cell(region.impaired_alarm, region.impaired_alarm_since),
                )
            )
        cells.append(
            _unknown_if(f"switch:{role}" in unreadable, _switch_cell(region.failure_switch))
        )
        if show_probe:
            cells.append(_probe_cell(region))
        table.add_row(*cells)
    parts: list[RenderableType] = [headline, table]
    parts.extend(line for line in (_lever_line(report), _dns_line(report)) if line is not None)
    if report.advice:
        parts.append(text(f"-> {report.advice}", style="bold red"))
    parts.extend(text(f"! {line}", style="yellow") for line in report.errors)
    return Group(*parts)


def checks_table(checks: Sequence[Check], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("check", "result", "value", "detail"):
        table.add_column(column)
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
    if plan.preflight is not None:
        parts.append(checks_table(plan.preflight.checks, f"preflight: {plan.target_role}"))
    return Group(*parts)


def result_renderable(result: ShiftResult) -> RenderableType:
    table = Table(title=f"{result.action} applied", title_justify="left")
    for column in ("step", "from", "to", "change id", "INSYNC after", "approval to INSYNC"):
        table.add_column(column)
    for index, step in enumerate(result.steps, start=1):
        table.add_row(
            str(index),
            str(step.before),
            str(step.after),
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
        text(f"lever now: {lever.state} (alarm {_dash(lever.alarm)}, since {_dash(lever.since)})"),
        table,
    ]
    if plan.preflight is not None:
        parts.append(checks_table(plan.preflight.checks, f"preflight: {plan.target_role}"))
    return Group(*parts)


def lever_result_renderable(result: LeverResult) -> RenderableType:
    alarm = "ALARM" if result.lever_action == "engage" else "OK"
    dns = (
        f"{result.dns.summary()} after {result.approval_to_dns_seconds:.1f}s"
        if result.dns is not None and result.approval_to_dns_seconds is not None
        else "not checked (no nameServers in the topology)"
    )
    lines = [
        f"lever {result.lever_action}d ({result.change_id})",
        f"alarm {alarm} after {result.approval_to_alarm_seconds:.1f}s",
        f"DNS: {dns}",
    ]
    parts: list[RenderableType] = [text(line) for line in lines]
    parts.extend(result_renderable(shift) for shift in (result.reconcile, result.then) if shift)
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


_OUTCOME_CELL = {
    True: ("applied", "green"),
    False: ("not applied", ""),
    None: ("may have been applied", "bold red"),
}


def _outcome_cell(record: AuditRecord) -> Text:
    if record.phase == INTENT:  # opsctl stopped (crash, kill -9) before the outcome was written
        return text("no outcome recorded", style="bold red")
    label, style = _OUTCOME_CELL[record.applied]
    return text(f"{label}, INSYNC" if record.insync else label, style=style)


def history_renderable(records: Sequence[AuditRecord]) -> RenderableType:
    table = Table(title="approved changes (oldest first)", title_justify="left")
    for column in (
        "time", "action", "who", "from", "to", "outcome", "change id", "forced", "reason"
    ):  # fmt: skip
        table.add_column(column)
    for record in records:
        action = f"{record.action} {record.step}" if record.step else record.action
        table.add_row(
            record.time,
            action,
            f"{record.actor.arn} ({record.actor.local_user})",
            json.dumps(record.before, separators=(",", ":")),
            json.dumps(record.after, separators=(",", ":")),
            _outcome_cell(record),
            _dash(record.change_id),
            ", ".join(record.overridden) or ("yes" if record.forced else ""),
            record.reason,
        )
    return table
