"""All terminal output: rich tables for people, JSON for scripts. The tables are built by one
module per view (`opsctl.cli.status_view`, `opsctl.cli.plan_view`, `opsctl.cli.history_view`)
and printed through the consoles here.

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
import sys
from typing import Any

from rich.console import Console, RenderableType
from rich.text import Text


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


def dash(value: object) -> str:
    return "-" if value is None else str(value)
