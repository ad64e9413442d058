"""`opsctl switch`: flipping a Region's failure switch needs approval and is audited."""

from __future__ import annotations

import json

from typer.testing import CliRunner, Result

from tests.opsctl.conftest import APP, World, invoke

PARAMETER = f"/{APP}/health/failure-switch"


def switch(runner: CliRunner, world: World, *args: str) -> Result:
    return invoke(runner, world, "switch", *args)


def test_without_approval_shows_the_plan_and_changes_nothing(
    runner: CliRunner, world: World
) -> None:
    result = switch(runner, world, "failing", "--role", "primary")
    assert result.exit_code == 3
    assert f"the primary (us-east-1) failure switch {PARAMETER}: healthy -> failing" in (
        result.stdout
    )
    assert world.switch("primary") == "healthy"
    assert world.audit_lines() == []


def test_approved_switch_flips_the_right_region_and_audits(runner: CliRunner, world: World) -> None:
    result = switch(
        runner, world, "failing", "--role", "primary", "--approve", "--reason", "game day", "--json"
    )
    assert result.exit_code == 0, result.stderr
    assert world.switch("primary") == "failing"
    assert world.switch("secondary") == "healthy"
    outcome = json.loads(result.stdout)["result"]
    assert (outcome["current"], outcome["target"], outcome["version"]) == ("healthy", "failing", 2)
    (line,) = world.audit_lines()
    assert line["action"] == "switch"
    assert (line["before"], line["after"]) == ({"primary": "healthy"}, {"primary": "failing"})
    assert line["changeId"] == f"ssm:us-east-1:{PARAMETER}@2"
    assert line["reason"] == "game day"
    status = invoke(runner, world, "status", "--json")
    assert json.loads(status.stdout)["regions"][0]["failureSwitch"] == "failing"


def test_already_set_is_a_no_op(runner: CliRunner, world: World) -> None:
    result = switch(runner, world, "healthy", "--role", "secondary", "--approve", "--reason", "x")
    assert result.exit_code == 0
    assert "is already healthy; nothing to do" in result.stderr
    assert world.audit_lines() == []


def test_bad_input_is_a_usage_error(runner: CliRunner, world: World) -> None:
    no_reason = switch(runner, world, "failing", "--role", "primary", "--approve")
    assert no_reason.exit_code == 2
    assert "--reason is required with --approve" in no_reason.stderr
    bad_value = switch(runner, world, "broken", "--role", "primary")
    assert bad_value.exit_code == 2
    no_role = switch(runner, world, "failing")
    assert no_role.exit_code == 2
    assert world.switch("primary") == "healthy"
