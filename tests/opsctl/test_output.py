"""Data is never markup or terminal control: whatever comes from an operator, a file or AWS is
printed as the text it is, with control characters made visible, in every table and line."""

from __future__ import annotations

import json

import pytest
from rich.console import Console
from typer.testing import CliRunner

from opsctl import output
from opsctl.audit import Actor, AuditRecord
from opsctl.cli import app
from opsctl.model import Weights
from opsctl.readiness import PASS, WARN, Check
from opsctl.shiftapply import ShiftResult, StepResult
from tests.opsctl.conftest import World, assert_one_line_error, invoke

HOSTILE = "see [/] [bold]INC-1[/bold] :fire: \x1b[2J\x1b]0;pwned\x07 \u202eevil\r"
SHOWN = "see [/] [bold]INC-1[/bold] :fire: \\x1b[2J\\x1b]0;pwned\\x07 \\u202eevil\\r"


def test_visible_shows_control_and_format_characters_as_escapes() -> None:
    assert output.visible(HOSTILE) == SHOWN
    assert output.visible("plain [text] ünïcode") == "plain [text] ünïcode"
    assert output.visible("two\nlines\ttab") == "two\\nlines\\ttab"


def test_the_consoles_render_strings_as_plain_visible_text(
    capsys: pytest.CaptureFixture[str],
) -> None:
    output.stdout.print(HOSTILE)
    output.error(HOSTILE)
    captured = capsys.readouterr()
    assert captured.out.strip() == SHOWN
    assert captured.err.strip() == f"opsctl: error: {SHOWN}"
    assert "\x1b" not in captured.out + captured.err


@pytest.mark.parametrize("reason", ["see [/]", "[INC-1] primary down", "[red]x[/red] :fire:"])
def test_reasons_with_brackets_are_audited_and_shown_whole(
    runner: CliRunner, world: World, reason: str
) -> None:
    result = invoke(runner, world, "failover", "--approve", "--reason", reason)
    assert result.exit_code == 0, result.stderr
    table = runner.invoke(app, ["history"])
    assert table.exit_code == 0, table.stderr
    assert reason in table.stdout
    (entry,) = json.loads(runner.invoke(app, ["history", "--json"]).stdout)
    assert entry["reason"] == reason


@pytest.mark.parametrize("reason", ["INC-1\x1b[2J", "two\nlines", "tab\there", "rtl \u202e"])
def test_reasons_with_control_characters_are_refused_up_front(
    runner: CliRunner, world: World, reason: str
) -> None:
    result = invoke(runner, world, "failover", "--approve", "--reason", reason)
    assert_one_line_error(result, 2, "--reason must be one line of printable text")
    assert "\x1b" not in result.stderr
    assert world.audit_lines() == []


def test_a_hostile_audit_log_is_shown_as_text(runner: CliRunner, world: World) -> None:
    line = {"time": "2026-01-01T00:00:00Z", "action": "failover [/]", "reason": HOSTILE,
            "changeId": "C-\x1b[31m", "actorArn": "arn:[bold]x"}  # fmt: skip
    world.audit_path.write_text(json.dumps(line) + "\n")
    table = runner.invoke(app, ["history"])
    assert table.exit_code == 0, table.stderr
    assert "\x1b" not in table.stdout
    for shown in ("failover [/]", "C-\\x1b[31m", "arn:[bold]x", "see [/] [bold]INC-1[/bold]"):
        assert shown in table.stdout


def test_a_markup_failure_switch_value_is_shown_not_parsed(runner: CliRunner, world: World) -> None:
    """A switch value that looks like markup (or holds escapes) neither crashes `status` and
    `readiness` nor blocks a forced failover."""
    world.set_switch("secondary", "[/]\x1b[2J")
    status = invoke(runner, world, "status")
    assert status.exit_code == 0, status.stderr
    assert "[/]\\x1b[2J" in status.stdout and "\x1b" not in status.stdout
    readiness = invoke(runner, world, "readiness")
    assert readiness.exit_code == 4, readiness.stderr  # `failure-switch` fails: not `healthy`
    assert "[/]\\x1b[2J" in readiness.stdout and "\x1b" not in readiness.stdout
    forced = invoke(runner, world, "failover", "--approve", "--force", "--reason", "INC-5")
    assert forced.exit_code == 0, forced.stderr
    assert "failure-switch" in forced.stderr


def _render_at_80(renderable: object) -> str:
    console = Console(width=80, no_color=True, record=True)
    console.print(renderable)
    return console.export_text()


def test_preflight_checks_keep_every_name_and_result_whole_at_80_columns() -> None:
    # The longest names opsctl gives, each with a detail long enough to push the table's width.
    checks = [
        Check(name, WARN, "unknown", "could not read: no answer within 3.5s while reading it")
        for name in ("lambda-concurrency-quota", "authorizer-concurrency", "replication-latency")
    ] + [Check("health-check", PASS, "1 (3/3 checkers healthy)")]
    rendered = _render_at_80(output.checks_table(checks, "preflight: secondary"))
    assert "…" not in rendered
    for check in checks:
        assert check.name in rendered
    assert rendered.count("WARN") == 3 and "PASS" in rendered


def test_an_applied_change_id_is_never_cut_at_80_columns() -> None:
    change_id = "C2741EE442F1FD9AABAA1"  # as long as Route 53's
    step = StepResult(Weights(100, 0), Weights(0, 100), change_id, 1.73, 1.81)
    result = ShiftResult("failover", (step,), final=Weights(0, 100))
    rendered = _render_at_80(output.result_renderable(result))
    assert change_id in rendered and "…" not in rendered


def test_history_hides_nothing_at_80_columns() -> None:
    # Nine columns cannot all fit 80 whole: long words fold onto the next line, none is cut off.
    actor = Actor("arn:aws:sts::123456789012:assumed-role/oncall-operator/ada", "ada")
    reason = "INC-2041 us-east-1 authorizer 5xx; approved by the incident commander"
    intent = AuditRecord.intent(
        action="failover", app="multi-region-authorizer-primary", actor=actor, reason=reason,
        before={"primary": 100, "secondary": 0}, after={"primary": 0, "secondary": 100}, read=[],
    )  # fmt: skip
    outcome = intent.outcome(applied=True, change_id="C2741EE442F1FD9AABAA1", insync_seconds=1.7)
    rendered = _render_at_80(output.history_renderable([intent, outcome]))
    assert "…" not in rendered
    assert max(len(line) for line in rendered.splitlines()) <= 80
    # The reason column, read down its rows, holds the whole reason (folded, not cut).
    reason_column = "".join(line.split("│")[-2] for line in rendered.splitlines() if "│" in line)
    assert "".join(reason.split()) in "".join(reason_column.split())
