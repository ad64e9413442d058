"""The status view: the table of both Regions with its headline and advice, the lines on what
could not be read, the brief a drill shows at each step, and the probe's table."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from opsctl.cli.output import dash, text
from opsctl.errors import short_reason
from opsctl.model import LeverPosition, ago
from opsctl.read.probe import ProbeReport
from opsctl.read.region_status import RegionStatus
from opsctl.read.status_report import StatusReport
from stack_topology import FailureSwitch

_ALARM_STYLE = {"OK": "green", "ALARM": "bold red", "INSUFFICIENT_DATA": "yellow"}


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
    return text(dash(value), style=style)


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
    line = f"lever: {lever.state} since {dash(lever.since)} (alarm {dash(lever.alarm)})"
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


def status_brief(report: StatusReport) -> RenderableType:
    """The status in a line or two (the headline, then the advice when there is one): what a
    drill shows at each step, where the whole table would repeat itself."""
    lines = [text(f"status: {report.headline}")]
    if report.advice:
        lines.append(text(f"  -> {report.advice}"))
    return Group(*lines)


def probe_renderable(report: ProbeReport) -> RenderableType:
    table = Table(title=f"probe {report.hostname}{report.path}: {len(report.responses)} requests")
    table.add_column("answered by")
    table.add_column("requests", justify="right")
    table.add_column("share", justify="right")
    for region, count in sorted(report.by_region().items()):
        table.add_row(region, str(count), f"{count / len(report.responses):.0%}")
    return table
