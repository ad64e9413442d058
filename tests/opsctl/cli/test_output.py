"""Data is never markup or terminal control: whatever comes from an operator, a file or AWS is
printed as the text it is, with control characters made visible, in every table and line."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
from rich.console import Console
from typer.testing import CliRunner

from opsctl.change.apply import ShiftResult, StepResult
from opsctl.change.audit_record import Actor, AuditRecord
from opsctl.cli import history_view, output, plan_view, status_view
from opsctl.cli.app import app
from opsctl.model import Weights
from opsctl.read.readiness_report import PASS, WARN, Check
from tests.opsctl.running import assert_one_line_error, invoke
from tests.opsctl.world import World

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
    for shown in ("failover [/]", "arn:[bold]x", "see [/] [bold]INC-1[/bold]"):
        assert shown in table.stdout
    wide = runner.invoke(app, ["history", "--wide"])
    assert wide.exit_code == 0, wide.stderr
    assert "\x1b" not in wide.stdout
    assert "C-\\x1b[31m" in wide.stdout


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
    rendered = _render_at_80(plan_view.checks_table(checks, "preflight: secondary"))
    assert "…" not in rendered
    for check in checks:
        assert check.name in rendered
    assert rendered.count("WARN") == 3 and "PASS" in rendered


def test_an_applied_change_id_is_never_cut_at_80_columns() -> None:
    change_id = "C2741EE442F1FD9AABAA1"  # as long as Route 53's
    step = StepResult(Weights(100, 0), Weights(0, 100), change_id, 1.73, 1.81)
    result = ShiftResult("failover", (step,), final=Weights(0, 100))
    rendered = _render_at_80(plan_view.result_renderable(result))
    assert change_id in rendered and "…" not in rendered


ACTOR = Actor("arn:aws:sts::210987654321:assumed-role/oncall-operator/ada", "ada")
LONG_REASON = "INC-2041 us-east-1 authorizer 5xx; approved by the incident commander"


def _applied(action: str, before: dict, after: dict, **fields: object) -> list[AuditRecord]:
    intent = AuditRecord.intent(
        action=action, app="multi-region-authorizer-primary", actor=ACTOR, reason=LONG_REASON,
        before=before, after=after, read=[], **fields,
    )  # fmt: skip
    return [
        intent,
        intent.outcome(applied=True, change_id="C2741EE442F1FD9AABAA1", insync_seconds=1.7),
    ]


def test_history_shows_each_entry_in_two_lines_at_80_columns() -> None:
    records = [
        *_applied("failover", {"primary": 100, "secondary": 0}, {"primary": 0, "secondary": 100}),
        *_applied("failover", {"lever": "released"}, {"lever": "engaged"}, step="lever"),
        *_applied("switch", {"primary": "healthy"}, {"primary": "failing"}),
        *_applied("revoke", {"3f2a9c0e": None}, {"3f2a9c0e": 1796731200}, forced=False),
        *_applied(
            "fallback", {"primary": 0, "secondary": 100}, {"primary": 10, "secondary": 90},
            step="1/3", forced=True, overridden=["health-check"],
        ),
    ]  # fmt: skip
    outcomes = [record for record in records if record.phase == "outcome"]
    lines = _render_at_80(history_view.history_renderable(outcomes)).splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in "\n".join(lines)
    starts = [i for i, line in enumerate(lines) if re.match(r"\d\d-\d\d \d\d:\d\d ", line)]
    assert len(starts) == len(outcomes)
    heads = [lines[i] for i in starts]
    details = [
        " ".join(" ".join(lines[i + 1 : end]).split())
        for i, end in zip(starts, [*starts[1:], len(lines)], strict=True)
    ]
    assert heads[0].split()[2:] == ["failover", "ada", "100/0", "→", "0/100", "applied,", "INSYNC"]
    assert "failover lever" in heads[1] and "released → engaged" in heads[1]
    assert "switch primary" in heads[2] and "healthy → failing" in heads[2]
    assert "until 12-08" in heads[3]
    assert "fallback 1/3" in heads[4] and "0/100 → 10/90" in heads[4]
    assert all(detail.endswith(LONG_REASON) for detail in details)
    assert details[3].startswith("token 3f2a9c0e; ")
    assert details[4].startswith("forced (health-check); ")
    # A reason that fits: the entry is two lines.
    brief = dataclasses.replace(outcomes[0], reason="INC-2041 us-east-1 authorizer 5xx")
    assert len(_render_at_80(history_view.history_renderable([brief])).splitlines()) == 1 + 2


def test_history_wide_has_every_field() -> None:
    records = _applied(
        "failover", {"primary": 100, "secondary": 0}, {"primary": 0, "secondary": 100}
    )
    console = Console(width=400, no_color=True, record=True)
    console.print(history_view.history_renderable(records[1:], wide=True))
    rendered = console.export_text()
    for shown in (
        ACTOR.arn,
        "C2741EE442F1FD9AABAA1",
        '{"primary":100,"secondary":0}',
        records[1].time,
    ):
        assert shown in rendered


def test_history_marks_changes_made_with_the_sandbox_emulators_identity() -> None:
    """`opsctl sandbox env` points the audit log into the sandbox; a log that still holds a
    sandbox change (an older setup, a copied file) says which entries were not made on AWS."""
    on_aws = _applied(
        "failover", {"primary": 100, "secondary": 0}, {"primary": 0, "secondary": 100}
    )
    sandbox_actor = Actor(arn="arn:aws:sts::123456789012:user/moto", local_user="ada")
    on_sandbox = [dataclasses.replace(record, actor=sandbox_actor) for record in on_aws]
    records = [on_aws[1], on_sandbox[1]]
    lines = _render_at_80(history_view.history_renderable(records)).splitlines()
    marked = [line for line in lines if "on a sandbox (the emulator's identity)" in line]
    assert len(marked) == 1 and lines.index(marked[0]) > 2  # the second entry's detail line
    wide = Console(width=400, no_color=True, record=True)
    wide.print(history_view.history_renderable(records, wide=True))
    assert wide.export_text().count("(ada) on a sandbox") == 1


def test_a_drill_shows_the_status_and_its_plans_in_a_few_lines() -> None:
    from opsctl.change.plan import ShiftPlan
    from opsctl.read.readiness_report import ReadinessReport
    from opsctl.read.status_report import StatusReport
    from tests.opsctl.samples import region_status

    sick = region_status("primary", "us-east-1", healthy=False, alarm="ALARM")
    report = StatusReport(
        record_name="auth.example.com.",
        weights=Weights(100, 0),
        regions=(sick, region_status("secondary", "us-west-2")),
        errors=(),
    )
    lines = _render_at_80(status_view.status_brief(report)).splitlines()
    assert lines[0].startswith("status: primary (us-east-1) serves all traffic, but")
    assert lines[-1] == '  -> opsctl failover --approve --reason "..."'
    checks = (
        Check("health-check", PASS, "healthy"),
        Check("accelerated-recovery", WARN, "DISABLED", "weights cannot move"),
    )
    plan = ShiftPlan(
        "failover", "secondary", Weights(100, 0), (Weights(0, 100),),
        ReadinessReport("secondary", "us-west-2", checks), report,
    )  # fmt: skip
    brief = " ".join(_render_at_80(plan_view.plan_brief(plan)).split())
    assert brief == (
        "failover plan: primary 100 / secondary 0 → primary 0 / secondary 100; "
        "preflight: 1 pass, 1 warn (accelerated-recovery: DISABLED)"
    )
