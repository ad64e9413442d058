"""Numeric command-line flags: every one is checked when it is parsed, before anything happens.

`number_option` is the one way a command declares a number: the value must be finite (no `inf`,
`nan`, `1e400`) and within the range the help text states, else the command stops with a usage
error (exit 2) before it reads or changes anything.
"""

from __future__ import annotations

import math
from typing import Any

import typer


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def number_option(*names: str, low: float, high: float, help: str) -> Any:
    """A typer.Option for a number in [low, high]; the range is shown in --help."""

    def check(value: float | None) -> float | None:
        if value is None:
            return value
        if not (math.isfinite(value) and low <= value <= high):
            raise typer.BadParameter(
                f"must be a number from {_number(low)} to {_number(high)}, not {value:g}"
            )
        return value

    return typer.Option(*names, callback=check, help=f"{help} [{_number(low)}-{_number(high)}]")
