"""All terminal output: rich tables for people, JSON for scripts.

Data goes to stdout, messages to stderr.

Everything printed may hold data from an operator, a file or AWS (a reason, a record name, an SSM
value), so it is never markup and never terminal control: the consoles parse no markup or emoji
codes, and every string they render has its control and format characters shown as escapes
(`visible`). Text objects built here from data go through `text()`, which does the same.

Colour is rich's to decide: none when stdout is not a terminal, and none with NO_COLOR set (the
consoles then send no styling escapes at all, bold included). JSON goes through `print_json` as
plain text: never highlighted, never wrapped.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from opsctl.change.apply import ShiftResult
from opsctl.change.audit import INTENT, AuditRecord
from opsctl.change.lever_plan import LeverPlan, LeverResult
from opsctl.change.plan import ShiftPlan
from opsctl.change.revocation import RevocationList, RevokePlan, RevokeResult, iso
from opsctl.change.switch import SwitchPlan, SwitchResult
from opsctl.model import ChangeAction, LeverAction, LeverPosition, Weights, ago
from opsctl.read.probe import ProbeReport
from opsctl.read.readiness_report import FAIL, PASS, WARN, Check, ReadinessReport
from opsctl.read.region_status import RegionStatus
from opsctl.read.status_report import StatusReport
from stack_topology import FailureSwitch


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
        if os.environ.get("NO_COLOR"):
            # No styling at all: rich alone would drop the colours but still send bold.
            options.setdefault("color_system", None)
        super().__init__(markup=False, emoji=False, highlight=False, **options)

    def render_str(self, text: str, **options: Any) -> Text:
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
    if (
        region.healthy is False
        and region.checkers_total
        and region.checkers_healthy == region.checkers_total
    ):
        # The metric's newest minute still holds a failed sample; the checkers have recovered.
        return text(f"UNHEALTHY this minute; {region.checkers} checkers healthy now", style=style)
    checkers = f" ({region.checkers})" if region.checkers else ""
    return text(f"{label}{checkers}", style=style)


def _alarm_cell(state: str | None, since: str | None, now: datetime) -> Text:
    if state is None:
        return text("-")
    return text(f"{state} {ago(since, now)}", style=_ALARM_STYLE.get(state, "yellow"))


def _watch_cell(region: RegionStatus, unreadable: set[str], now: datetime) -> Text:
    """How the other Region's watcher sees this one: `us-west-2: ALARM 3m`."""
    watch = region.watch
    if watch is None:
        return text("-")
    if f"watch:{region.role}" in unreadable:
        return text(f"{watch.region}: unknown", style="yellow")
    if watch.alarm is None:
        return text(f"{watch.region}: -")
    state = f"{watch.alarm} {ago(watch.since, now)}"
    return text(f"{watch.region}: {state}", style=_ALARM_STYLE.get(watch.alarm, "yellow"))


def _switch_cell(value: str | None) -> Text:
    styles: dict[str, str] = {FailureSwitch.HEALTHY: "green", FailureSwitch.FAILING: "bold red"}
    style = styles.get(value or "", "yellow")
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
    styles = {LeverPosition.ENGAGED: "bold yellow", LeverPosition.RELEASED: "green"}
    style = styles.get(lever.state, "yellow")
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


def status_renderable(report: StatusReport, now: datetime | None = None) -> RenderableType:
    """The headline, then one column per Region and one row per signal, so that it fits 80
    columns (a pipe's width) with every Region name and state whole: times are relative to `now`
    ("ALARM 3m"; --json keeps them absolute)."""
    now = now or datetime.now(UTC)
    if not report.consistent:
        style = "bold red"
    else:
        style = "bold yellow" if report.unverified or report.partial else "bold green"
    headline = text(report.headline, style=style)
    unreadable = set(report.unreadable)
    table = Table(title=f"{report.record_name}", title_justify="left", expand=False)
    table.add_column("")
    for region in report.regions:
        serving = region in report.serving_regions
        # A long value (a probe's error) wraps within its column, never cut short with "…".
        table.add_column(text(region.role, style="bold" if serving else ""), overflow="fold")
    regions = report.regions

    def row(label: str, cell: Callable[[RegionStatus], RenderableType]) -> None:
        table.add_row(label, *(cell(region) for region in regions))

    row("Region", lambda r: text(r.region))
    row("weight", lambda r: _unknown_if(r.weight is None, str(r.weight)))
    row("weight share", lambda r: _unknown_if(r.share is None, f"{r.share or 0:.0%}"))
    row("health", _health_cell)
    row(
        "alarm",
        lambda r: _unknown_if("alarms" in unreadable, _alarm_cell(r.alarm, r.alarm_since, now)),
    )
    if any(r.impaired_alarm is not None for r in regions):
        row(
            "impaired",
            lambda r: _unknown_if(
                f"impaired:{r.role}" in unreadable,
                _alarm_cell(r.impaired_alarm, r.impaired_alarm_since, now),
            ),
        )
    row(
        "switch",
        lambda r: _unknown_if(f"switch:{r.role}" in unreadable, _switch_cell(r.failure_switch)),
    )
    if any(r.watch is not None for r in regions):
        # The other Region's watcher: what pages when this Region (or us-east-1) is dark.
        row("seen from", lambda r: _watch_cell(r, unreadable, now))
    if any(r.probe is not None for r in regions):
        row("probe", _probe_cell)
    parts: list[RenderableType] = [headline, table]
    parts.extend(line for line in (_lever_line(report), _dns_line(report)) if line is not None)
    if report.advice:
        parts.append(text(f"-> {report.advice}", style="bold red"))
    parts.extend(text(f"! {line}", style="yellow") for line in unreadable_lines(report))
    return Group(*parts)


def unreadable_lines(report: StatusReport) -> list[str]:
    """One line per source that could not be read: where, what, and what happened
    (`us-east-1 weights: no answer within 3.5s`), never the SDK's raw message."""
    lines = []
    for key, message in zip(report.unreadable, report.errors, strict=False):
        place, what = report.source(key)
        lines.append(f"{place} {what}: {short_reason(message)}")
    return lines


_DENIED_CODES = ("AccessDenied", "UnauthorizedOperation", "AuthorizationError", "Forbidden")


def short_reason(message: str) -> str:
    """What happened, in a few words, from an error message: `no answer within 3.5s`,
    `refused`, `denied (AccessDeniedException)`, `connection closed without an answer`; else the
    message without the request's URL."""
    within = re.search(r"no answer within ([\d.]+) ?s", message)
    if within:
        return f"no answer within {within.group(1)}s"
    refused = re.search(r"AWS refused (\w+) while .*?: ([\w.]+): ", message)
    if refused:
        operation, code = refused.groups()
        if code.startswith(_DENIED_CODES):
            return f"denied ({code} on {operation})"
        return f"refused by AWS ({code} on {operation})"
    for needle, said in (
        ("gave no answer", "no answer"),
        ("did not answer in time", "no answer in time (read timeout)"),
        ("Read timeout", "no answer in time (read timeout)"),
        ("Connection was closed", "connection closed without an answer"),
        ("Connection reset", "connection reset"),
        ("Connection refused", "refused"),
        ("Could not connect", "refused"),
        ("cannot reach AWS", "unreachable"),
    ):
        if needle in message:
            return said
    without_url = re.sub(r':? ?(on|from)? ?endpoint URL: "[^"]*"\.?', "", message)
    return without_url.replace("None", "-").strip()


def status_brief(report: StatusReport) -> RenderableType:
    """The status in a line or two (the headline, then the advice when there is one): what a
    drill shows at each step, where the whole table would repeat itself."""
    lines = [text(f"status: {report.headline}")]
    if report.advice:
        lines.append(text(f"  -> {report.advice}"))
    return Group(*lines)


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


def probe_renderable(report: ProbeReport) -> RenderableType:
    table = Table(title=f"probe {report.hostname}{report.path}: {len(report.responses)} requests")
    table.add_column("answered by")
    table.add_column("requests", justify="right")
    table.add_column("share", justify="right")
    for region, count in sorted(report.by_region().items()):
        table.add_row(region, str(count), f"{count / len(report.responses):.0%}")
    return table


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
    table = Table(title=f"{result.action} applied", title_justify="left")
    for column in ("step", "from", "to", "change id", "INSYNC after", "approval to INSYNC"):
        # A change id is what the operator quotes to AWS: never cut, whatever the width.
        table.add_column(column, no_wrap=column == "change id")
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
        text(
            f"lever now: {lever.state} (alarm {_dash(lever.alarm)}, since {_dash(lever.since)})"
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
        table.add_row(revocation.jti, until, _dash(revocation.revoked_by), _dash(revocation.reason))
    return table


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


def history_renderable(records: Sequence[AuditRecord], wide: bool = False) -> RenderableType:
    """One entry in two lines at 80 columns (when, what, who, from -> to, outcome; then the
    reason); `wide`: every field in its own column."""
    return _history_table(records) if wide else _history_lines(records)


def _short_time(iso_time: str) -> str:
    """`2026-12-07T03:04:12Z` -> `12-07 03:04`; anything else as it is."""
    try:
        moment = datetime.fromisoformat(iso_time.replace("Z", "+00:00"))
    except ValueError:
        return iso_time
    return moment.astimezone(UTC).strftime("%m-%d %H:%M")


def _short_actor(record: AuditRecord) -> str:
    """The last part of the caller's ARN (the user, or the assumed role's session), else the
    local user."""
    return record.actor.arn.rsplit("/", 1)[-1] or record.actor.local_user or "-"


def _change(record: AuditRecord) -> str:
    """`100/0 → 0/100` for weights, `released → engaged` for the lever, `healthy → failing` for a
    switch, `until 12-08 12:00` for a revocation."""
    before, after = record.before, record.after
    if not before and not after:
        return "-"
    if set(before) == set(after) == {"primary", "secondary"}:
        return (
            f"{before['primary']}/{before['secondary']} → {after['primary']}/{after['secondary']}"
        )
    if record.action == ChangeAction.REVOKE and len(after) == 1:
        (until,) = after.values()
        return f"until {_short_time(iso(until))}" if isinstance(until, int) else _dash(until)
    if len(before) == len(after) == 1 and before.keys() == after.keys():
        (key,) = before
        return f"{_dash(before[key])} → {_dash(after[key])}"
    return (
        f"{json.dumps(before, separators=(',', ':'))} → {json.dumps(after, separators=(',', ':'))}"
    )


def _history_action(record: AuditRecord) -> str:
    """The action, its step, and for a switch its Region's role."""
    if record.action == ChangeAction.SWITCH and len(record.after) == 1:
        return f"{record.action} {next(iter(record.after))}"
    return f"{record.action} {record.step}" if record.step else record.action


# when, action, who, change; the outcome takes the rest of 80 columns (at least 21).
_HISTORY_COLUMNS = "{:<11} {:<14} {:<11} {:<18} "


def _history_lines(records: Sequence[AuditRecord]) -> RenderableType:
    lines: list[RenderableType] = [
        text(_HISTORY_COLUMNS.format("when", "action", "who", "change") + "outcome", "bold")
    ]
    for record in records:
        head = text(
            _HISTORY_COLUMNS.format(
                _short_time(record.time),
                _history_action(record),
                _short_actor(record),
                _change(record),
            )
        )
        head.append(_outcome_cell(record))
        notes = []
        if record.action == ChangeAction.REVOKE and len(record.after) == 1:
            notes.append(f"token {next(iter(record.after))}")
        if record.forced:
            notes.append(
                "forced" + (f" ({', '.join(record.overridden)})" if record.overridden else "")
            )
        if record.from_emulator:
            notes.append("on a sandbox (the emulator's identity)")
        detail = "; ".join([*notes, record.reason]) if notes else record.reason
        lines += [head, Padding(text(detail), (0, 0, 0, 2))]
    return Group(*lines)


def _history_table(records: Sequence[AuditRecord]) -> RenderableType:
    table = Table(title="approved changes (oldest first)", title_justify="left")
    for column in (
        "time", "action", "who", "from", "to", "outcome", "change id", "forced", "reason"
    ):  # fmt: skip
        # Nine columns do not fit 80 whole: long words fold onto the next line, never cut off.
        table.add_column(column, overflow="fold")
    for record in records:
        action = f"{record.action} {record.step}" if record.step else record.action
        table.add_row(
            record.time,
            action,
            f"{record.actor.arn} ({record.actor.local_user})"
            + (" on a sandbox" if record.from_emulator else ""),
            json.dumps(record.before, separators=(",", ":")),
            json.dumps(record.after, separators=(",", ":")),
            _outcome_cell(record),
            _dash(record.change_id),
            ", ".join(record.overridden) or ("yes" if record.forced else ""),
            record.reason,
        )
    return table
