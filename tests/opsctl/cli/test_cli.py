"""The command line's surface: every command documents examples, shell completion is offered,
and `python -m opsctl` names itself `opsctl` (help and completion scripts match the script)."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from opsctl.cli.app import app
from opsctl.model import Weights
from tests.opsctl.conftest import World, assert_one_line_error, invoke


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
        "revoke",
        "revocations",
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


@pytest.mark.parametrize("group", [(), ("sandbox",)], ids=["opsctl", "opsctl sandbox"])
def test_a_command_list_shows_each_summary_as_one_paragraph(
    runner: CliRunner, group: tuple[str, ...]
) -> None:
    """Wide enough for every summary: a row that breaks where the docstring's source line ended
    leaves a continuation line with an empty name column."""
    result = runner.invoke(app, [*group, "--help"], env={"COLUMNS": "400", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    panel = result.stdout.split("Commands", 1)[1].split("╰", 1)[0]
    rows = [line.strip("│ ") for line in panel.splitlines()[1:]]
    assert rows and all(row.split(" ", 1)[0].isalpha() for row in rows), rows


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
    shown = subprocess.run(
        [sys.executable, "-m", "opsctl", "--show-completion", "bash"],
        capture_output=True,
        text=True,
    )
    assert shown.returncode == 0, shown.stderr
    script = shown.stdout
    assert "_opsctl_completion()" in script
    assert "complete -o default -F _opsctl_completion opsctl" in script


# Hostile input: refused when parsed, one line, before anything happens -------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["status", "--watch", "inf"],
        ["status", "--watch", "nan"],
        ["status", "--watch", "0"],
        ["failover", "--timeout", "inf"],
        ["failover", "--timeout", "1e400"],
        ["fallback", "--interval", "inf"],
        ["fallback", "--interval", "1e10"],
        ["fallback", "--interval", "-1"],
        ["fallback", "--timeout", "nan"],
        ["readiness", "--max-replication-latency-ms", "inf"],
        ["history", "--limit", "0"],
        ["probe", "-n", "0"],
        ["probe", "--count", "1000000"],
        ["sandbox", "up", "--time-scale", "nan"],
    ],
    ids=" ".join,
)
def test_every_numeric_flag_is_finite_and_bounded_when_parsed(
    runner: CliRunner, args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing may be called
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "must be a number from" in result.stderr


@pytest.mark.parametrize("deadline", ["1e10", "0", "nan"])
def test_the_read_deadline_is_bounded_with_a_usage_error(
    runner: CliRunner, world: World, monkeypatch: pytest.MonkeyPatch, deadline: str
) -> None:
    monkeypatch.setenv("OPSCTL_READ_DEADLINE", deadline)
    result = invoke(runner, world, "status")
    assert_one_line_error(
        result,
        2,
        f"OPSCTL_READ_DEADLINE must be a number of seconds from 0.1 to 600, got '{deadline}'",
    )


@pytest.mark.parametrize("steps", ["1_0,100", "\u0665\u0660,100", "\uff15\uff10,100", "10,1e2"])
def test_steps_are_ascii_digits_only(runner: CliRunner, steps: str) -> None:
    result = runner.invoke(app, ["fallback", "--steps", steps])
    assert_one_line_error(result, 2, "--steps must be comma-separated integers")


@pytest.mark.parametrize(
    "url", ["not a url", "http://", "ftp://host", "http://[::1", "http://h:99999", "http://h\x1b"]
)
def test_a_malformed_endpoint_url_is_one_line(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    result = runner.invoke(app, ["topology"])
    assert_one_line_error(result, 1, "AWS_ENDPOINT_URL is not an http(s) URL with a host: ")
    assert "\x1b" not in result.stderr


@pytest.mark.parametrize("path", ["whoami", "/who ami", "/x\r\nHost: evil"])
def test_a_probe_path_must_be_an_absolute_request_path(runner: CliRunner, path: str) -> None:
    result = runner.invoke(
        app, ["probe", "-n", "1", "--hostname", "auth.example.com", "--token", "t", "--path", path]
    )
    assert_one_line_error(result, 2, "--path must start with / and hold no spaces")


def test_a_closed_stdout_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    """`opsctl history | head -1`: the reader is gone before opsctl writes."""
    audit = tmp_path / "audit.jsonl"
    line = {"time": "2026-01-01T00:00:00Z", "action": "failover", "reason": "x", "changeId": "C"}
    audit.write_text(json.dumps(line) + "\n")
    for args in (["history"], ["history", "--json"]):
        process = subprocess.Popen(
            [sys.executable, "-m", "opsctl", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "OPSCTL_AUDIT_LOG": str(audit)},
        )
        assert process.stdout is not None
        process.stdout.close()
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 1
        assert stderr.decode().splitlines() == [
            "opsctl: error: stdout was closed before all output was written (e.g. `| head`)"
        ]


# What a newcomer reads first: --help at 80 columns, examples, the version ----------------------


@pytest.mark.parametrize("path", [(), *COMMANDS], ids=lambda path: " ".join(path) or "opsctl")
def test_help_at_80_columns_cuts_nothing(runner: CliRunner, path: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "80", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert "…" not in result.stdout, result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80


def _example_command_lines(path: tuple[str, ...]) -> list[str]:
    """The opsctl command lines of a command's examples: comments dropped, `a && b` split."""
    help_text = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "400"}).stdout
    lines = []
    for line in help_text.split("Examples:", 1)[1].splitlines():
        line = line.strip(" │").split("  #", 1)[0]
        lines += re.findall(r"\$\((opsctl [^)]*)\)", line)  # a command substitution
        for part in line.split("&&"):
            command = part.split(" > ", 1)[0].strip()  # a redirection is the shell's
            if command.startswith("opsctl "):
                lines.append(command)
    return lines


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_example_parses_as_it_is_printed(path: tuple[str, ...]) -> None:
    """Pasted into a shell, each example is a valid command line: its words split, its command
    exists and every flag and value it gives is accepted (parsed, not run)."""
    examples = _example_command_lines(path)
    assert examples
    root = typer.main.get_command(app)
    for example in examples:
        words = shlex.split(example)[1:]
        # No placeholder to fill in (PORT, JTI); shell variables ("$TOKEN") are fine.
        assert not any(re.fullmatch(r"[A-Z_]{2,}", word) for word in words), example
        command: Any = root
        name = "opsctl"
        while hasattr(command, "commands") and words and words[0] in command.commands:
            name, words = words[0], words[1:]
            command = command.commands[name]
        assert not hasattr(command, "commands"), example
        command.make_context(name, words, resilient_parsing=False)  # raises on a bad flag


def test_version_prints_the_installed_version(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert (
        result.stdout.strip() == f"opsctl {importlib.metadata.version('multi-region-authorizer')}"
    )


def test_the_help_names_the_glossary_and_the_glossary_has_its_words(
    runner: CliRunner, project_root: str
) -> None:
    help_text = runner.invoke(app, ["--help"], env={"COLUMNS": "200"}).stdout
    assert "docs/opsctl.md" in help_text and "Glossary" in help_text
    glossary = (Path(project_root) / "docs" / "opsctl.md").read_text().split("## Glossary", 1)[1]
    glossary = glossary.split("\n## ", 1)[0]
    for word in ("INSYNC", "lever", "failure switch", "steps", "dwell"):
        assert f"| {word}" in glossary, word


def _run_with_stdout_closed(args: list[str], how: str) -> subprocess.CompletedProcess[bytes]:
    """`python -m opsctl ARGS` with its stdout closed: by a reader that went away (`| true`), or
    before it started (`>&-`)."""
    command = [sys.executable, "-m", "opsctl", *args]
    if how == ">&-":
        return subprocess.run(
            command, stdout=None, stderr=subprocess.PIPE, preexec_fn=lambda: os.close(1), timeout=90
        )
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    process.stdout.close()
    _, stderr = process.communicate(timeout=90)
    return subprocess.CompletedProcess(command, process.returncode, b"", stderr)


def test_a_closed_stdout_after_an_applied_change_names_the_change(world: World) -> None:
    topology = ["--topology", str(world.topology_path)]
    for how, command in (("| true", "failover"), (">&-", "fallback")):
        done = _run_with_stdout_closed(
            [command, "--approve", "--reason", "x", "--json", *topology], how
        )
        record = world.audit_outcomes()[-1]
        before, after = Weights(**record["before"]), Weights(**record["after"])
        assert done.returncode == 1, how
        assert done.stderr.decode().splitlines()[-1] == (
            "opsctl: error: stdout was closed before all output was written (e.g. `| head`); "
            f"the change was applied: weights {before} -> {after} (change {record['changeId']})"
        )
    assert world.weights() == Weights(100, 0)


def test_a_stdout_closed_before_opsctl_started_is_one_line(world: World) -> None:
    topology = ["--topology", str(world.topology_path)]
    for args in (["status", "--json", *topology], ["history", "--json"], ["topology", *topology]):
        done = _run_with_stdout_closed(args, ">&-")
        assert done.returncode == 1, args
        assert done.stderr.decode().splitlines() == [
            "opsctl: error: stdout was closed before all output was written (e.g. `| head`)"
        ], args
