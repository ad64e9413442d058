"""`opsctl switch`: flipping a Region's failure switch needs approval and is audited."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.config import Config
from botocore.stub import Stubber
from typer.testing import CliRunner, Result

from opsctl.aws import AwsClients
from opsctl.change import switch as switch_core
from opsctl.sandbox.faults.proxy import Fault, FaultProxy
from tests.opsctl.conftest import APP, World, assert_one_line_error, invoke

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
    (line,) = world.audit_outcomes()
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


def test_a_concurrent_writer_is_detected_by_the_parameter_version(
    runner: CliRunner, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SSM has no conditional write: another operator's flip lands between our read and our
    write. PutParameter's version (read + 2, not + 1) gives it away: exit 5, and the audit says
    what our write really replaced."""
    real_read = switch_core.read_failure_switch_version
    reads = 0

    def read_then_someone_writes(ssm: Any, parameter: str) -> Any:
        nonlocal reads
        reads += 1
        found = real_read(ssm, parameter)
        if reads == 1:  # apply's re-read: the other operator writes right after it
            world.set_switch("primary", "failing")
        return found

    monkeypatch.setattr(switch_core, "read_failure_switch_version", read_then_someone_writes)
    result = switch(runner, world, "failing", "--role", "primary", "--approve", "--reason", "race")
    assert_one_line_error(
        result,
        5,
        f"another writer changed {PARAMETER} in us-east-1 between our read (version 1) and our "
        "write (version 3): failing was written over failing, not over healthy",
    )
    (line,) = world.audit_outcomes()
    assert (line["applied"], line["changeId"]) == (True, f"ssm:us-east-1:{PARAMETER}@3")
    assert (line["before"], line["after"]) == ({"primary": "failing"}, {"primary": "failing"})
    assert line["detail"].startswith("another writer changed")
    intent = world.audit_lines()[0]
    assert intent["read"] == [
        {"parameter": PARAMETER, "region": "us-east-1", "value": "healthy", "version": 1}
    ]


def test_a_failed_write_is_audited_as_not_applied(
    runner: CliRunner, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: Any, service: str, region: str, *, sdk_retries: bool = True) -> Any:
        client = real_client(self, service, region, sdk_retries=sdk_retries)
        if service == "ssm" and not sdk_retries:  # the writer
            stubber = Stubber(client)
            stubber.add_client_error("put_parameter", "AccessDeniedException", "no ssm:Put")
            stubber.activate()
        return client

    real_client = AwsClients.client
    monkeypatch.setattr(AwsClients, "client", refuse)
    result = switch(runner, world, "failing", "--role", "primary", "--approve", "--reason", "x")
    assert_one_line_error(result, 1, f"AWS refused PutParameter while writing {PARAMETER}")
    (line,) = world.audit_outcomes()
    assert (line["applied"], line["changeId"]) == (False, None)
    assert world.switch("primary") == "healthy"


def test_a_region_lost_during_the_write_is_audited_as_unknown(
    runner: CliRunner,
    world: World,
    fault_proxy: FaultProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The secondary's SSM stops answering right after opsctl read the parameter: whether the
    write landed cannot be known, and the audit says exactly that (never `applied`)."""
    monkeypatch.setattr("opsctl.aws.CLIENT_CONFIG", Config(retries={"max_attempts": 1}))
    real_read = switch_core.read_failure_switch_version

    def read_then_lose_the_region(ssm: Any, parameter: str) -> Any:
        found = real_read(ssm, parameter)
        fault_proxy.set_fault("us-west-2", Fault.REFUSE)
        return found

    monkeypatch.setattr(switch_core, "read_failure_switch_version", read_then_lose_the_region)
    result = switch(
        runner, world, "failing", "--role", "secondary", "--approve", "--reason", "game day"
    )
    writing = f"AWS SDK error while writing {PARAMETER} in us-west-2: Connection was closed"
    assert_one_line_error(result, 1, writing)
    (line,) = world.audit_outcomes()
    assert (line["applied"], line["changeId"]) == (None, None)
    assert line["detail"].startswith(writing)
    assert world.switch("secondary") == "healthy"
