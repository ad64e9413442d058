"""status without us-east-1: the fault proxy refuses or black-holes every request signed for it
(Route 53's control plane, us-east-1 CloudWatch and STS's global endpoint go with it), and status
still answers from the secondary's view, whatever the credentials need."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opsctl.sandbox.faults.proxy import Fault, FaultProxy
from tests.opsctl.dataplane import DataPlane
from tests.opsctl.running import assert_one_line_error, invoke
from tests.opsctl.world import World
from tests.support.stack import REGIONS

PRIMARY = REGIONS["primary"]
SECONDARY = REGIONS["secondary"]


def test_status_with_us_east_1_refused_shows_the_secondary_view(
    runner: CliRunner, world: World, dataplane: DataPlane, fault_proxy: FaultProxy
) -> None:
    fault_proxy.set_fault(PRIMARY, Fault.REFUSE)
    world.set_front("primary", 503)
    result = invoke(runner, world, "status", "--json")
    assert result.exit_code == 0, result.stderr
    status = json.loads(result.stdout)
    assert {"records", "health", "alarms", "checkers:primary", "switch:primary"} <= set(
        status["unreadable"]
    )
    assert "switch:secondary" not in status["unreadable"]
    assert status["lever"]["state"] == "released"
    assert status["dns"]["answers"] == {"primary": 8}
    primary, secondary = status["regions"]
    assert primary["weight"] is None and primary["probe"]["status"] == 503
    assert secondary["failureSwitch"] == "healthy" and secondary["probe"]["ok"] is True
    assert status["serving"] == "primary"
    assert status["headline"].startswith(
        "primary (us-east-1) serves all traffic, but primary (us-east-1) is unhealthy"
    )
    assert "partial data: unreadable in us-east-1: weights" in status["headline"]
    assert status["advice"] == 'opsctl failover --approve --reason "..."'
    table = invoke(runner, world, "status")
    assert table.exit_code == 0, table.stderr
    assert "unknown" in table.stdout and "lever: released" in table.stdout
    assert "Traceback" not in table.stdout + table.stderr


def test_status_with_us_east_1_black_holed_still_answers(
    runner: CliRunner, world: World, fault_proxy: FaultProxy, read_deadline: float
) -> None:
    fault_proxy.set_fault(PRIMARY, Fault.HANG)
    result = invoke(runner, world, "status", "--json")
    assert result.exit_code == 0, result.stderr
    status = json.loads(result.stdout)
    assert "records" in status["unreadable"]
    assert status["lever"]["state"] == "released"
    assert status["regions"][1]["failureSwitch"] == "healthy"


def test_a_role_assuming_profile_reads_the_secondary_view_with_us_east_1_black_holed(
    runner: CliRunner,
    world: World,
    dataplane: DataPlane,
    fault_proxy: FaultProxy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The most common operator setup: a role assumed from a source profile's keys. botocore
    # would make that AssumeRole through the Region of opsctl's first client (Route 53's).
    config = tmp_path / "aws-config"
    config.write_text(
        "[profile keys]\naws_access_key_id = AKIAOPERATOR\naws_secret_access_key = secret\n\n"
        "[profile operator]\nrole_arn = arn:aws:iam::123456789012:role/operator\n"
        "source_profile = keys\nregion = us-east-1\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("OPSCTL_READ_DEADLINE", "3.5")  # production's
    warm = invoke(runner, world, "status", "--json", "--profile", "operator")  # imports done
    assert warm.exit_code == 0, warm.stderr
    fault_proxy.set_fault(PRIMARY, Fault.HANG)
    started = time.monotonic()
    result = invoke(runner, world, "status", "--json", "--profile", "operator")
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.stderr
    status = json.loads(result.stdout)
    assert "records" in status["unreadable"] and "lever" not in status["unreadable"]
    assert status["lever"]["state"] == "released" and status["lever"]["alarm"] == "OK"
    assert status["regions"][1]["failureSwitch"] == "healthy"
    # The deadline plus setup: about 4 s on an idle machine (credentials 0.3-0.5 s, clients about
    # 0.5 s). The bound leaves room for a heavily loaded test machine and still fails a wait on
    # the SDK's own timeouts (3 x (3 + 10) s).
    assert elapsed < 15.0


def test_credentials_that_cannot_be_resolved_in_time_are_one_line(
    runner: CliRunner,
    world: World,
    fault_proxy: FaultProxy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = tmp_path / "aws-config"
    config.write_text(
        "[profile keys]\naws_access_key_id = AKIAOPERATOR\naws_secret_access_key = secret\n\n"
        "[profile operator]\nrole_arn = arn:aws:iam::123456789012:role/operator\n"
        "source_profile = keys\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("OPSCTL_READ_DEADLINE", "1")
    fault_proxy.set_fault(REGIONS["secondary"], Fault.HANG)
    result = invoke(runner, world, "status", "--profile", "operator")
    assert_one_line_error(
        result, 1, "the AWS credentials could not be resolved through us-west-2 within 1s"
    )
