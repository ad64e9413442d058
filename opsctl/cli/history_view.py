"""The history view: the audit log's records, one line each in 80 columns, or every field in its
own column (--wide)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from opsctl.change.audit_record import INTENT, AuditRecord
from opsctl.change.revocation import iso
from opsctl.cli.output import dash, text
from opsctl.model import ChangeAction

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
        return f"until {_short_time(iso(until))}" if isinstance(until, int) else dash(until)
    if len(before) == len(after) == 1 and before.keys() == after.keys():
        (key,) = before
        return f"{dash(before[key])} → {dash(after[key])}"
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
            dash(record.change_id),
            ", ".join(record.overridden) or ("yes" if record.forced else ""),
            record.reason,
        )
    return table
