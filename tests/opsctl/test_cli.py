"""The command line's surface: every command documents examples, shell completion is offered,
and `python -m opsctl` names itself `opsctl` (help and completion scripts match the script)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from opsctl.cli import app


def _command_paths(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every leaf command, as the words an operator types (groups have `commands`)."""
    if hasattr(command, "commands"):
        return [
            found
            for name, sub in sorted(command.commands.items())
            for found in _command_paths(sub, (*path, name))
        ]
    return [path]


COMMANDS = _command_paths(typer.main.get_command(app))


def test_the_operator_commands_are_all_there() -> None:
    names = {path[0] for path in COMMANDS}
    assert {
        "status",
        "failover",
        "fallback",
        "readiness",
        "switch",
        "history",
        "topology",
    } <= names


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_help_has_examples(runner: CliRunner, path: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    examples = result.stdout.split("Examples:", 1)
    assert len(examples) == 2, f"`opsctl {' '.join(path)} --help` has no examples"
    assert f"opsctl {path[0]}" in examples[1]


def test_completion_is_offered_under_the_opsctl_name() -> None:
    help_text = subprocess.run(
        [sys.executable, "-m", "opsctl", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={"COLUMNS": "120", "NO_COLOR": "1", "PATH": "/usr/bin:/bin"},
    ).stdout
    assert "Usage: opsctl [OPTIONS] COMMAND" in help_text
    assert "--install-completion" in help_text
    assert "--show-completion" in help_text
    script = subprocess.run(
        [sys.executable, "-m", "opsctl", "--show-completion", "bash"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "_opsctl_completion()" in script
    assert "complete -o default -F _opsctl_completion opsctl" in script
