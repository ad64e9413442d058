"""The next command a sandbox command suggests, pasted as printed, reaches the same sandbox: it
carries the `--dir` the command was given, and an install hint names only what exists (the
repository's own targets, not a package on an index)."""

from __future__ import annotations

import builtins
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from opsctl.cli.app import app
from opsctl.sandbox.faults.outage import OutageMode
from opsctl.sandbox.state import SANDBOX_DIR_ENV, dir_flag
from tests.opsctl.running import assert_one_line_error
from tests.opsctl.samples import make_sandbox_state

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def default_sandbox_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default sandbox directory is ./.sandbox of a scratch working directory."""
    monkeypatch.delenv(SANDBOX_DIR_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path / ".sandbox"


def test_no_sandbox_hint_carries_the_dir_it_was_given(tmp_path: Path) -> None:
    elsewhere = tmp_path / "drill sandbox"
    result = CliRunner().invoke(app, ["sandbox", "env", "--dir", str(elsewhere)])
    assert_one_line_error(result, 1, "no sandbox is running")
    assert f"(run `opsctl sandbox up --dir '{elsewhere}'`)" in result.stderr


def test_no_sandbox_hint_has_no_dir_for_the_default_one(default_sandbox_here: Path) -> None:
    result = CliRunner().invoke(app, ["sandbox", "token"])
    assert_one_line_error(result, 1, "no sandbox is running")
    assert "(run `opsctl sandbox up`)" in result.stderr
    assert dir_flag(default_sandbox_here) == ""


def test_outage_hint_names_the_restore_for_the_same_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    make_sandbox_state(elsewhere, pid=1).save(elsewhere)
    # The supervisor that applies an outage is not running here: its answer is given.
    monkeypatch.setattr(
        "opsctl.sandbox.faults.outage.outage",
        lambda state, region, mode: {region: OutageMode.REFUSE},
    )
    result = CliRunner().invoke(app, ["sandbox", "outage", "us-east-1", "--dir", str(elsewhere)])
    assert result.exit_code == 0, result.stderr
    assert f"`opsctl sandbox restore us-east-1 --dir {elsewhere}` ends it" in result.stderr


def test_missing_emulator_names_the_repository_install_not_a_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_import = builtins.__import__

    def without_moto(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("moto"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_moto)
    result = CliRunner().invoke(app, ["sandbox", "up"])
    assert_one_line_error(result, 1, "the sandbox needs moto: run `make install`")
    assert "multi-region-authorizer[" not in result.stderr


def test_make_install_is_a_target(project_root: str) -> None:
    for target in ("install", "venv"):
        dry_run = subprocess.run(
            ["make", "-n", "-C", project_root, target], capture_output=True, text=True
        )
        assert dry_run.returncode == 0, dry_run.stderr


def test_the_missing_picture_hint_names_the_repository_install() -> None:
    from opsctl.drill.picture import INSTALL_HINT

    assert "make install" in INSTALL_HINT
    assert "multi-region-authorizer[" not in INSTALL_HINT


def test_sandbox_env_exports_the_dns_server_and_the_bundle_trusting_the_sandbox_ca(
    tmp_path: Path,
) -> None:
    bundle = str(tmp_path / "trust-bundle.pem")
    state = make_sandbox_state(tmp_path, pid=1)
    replace(state, dns="127.0.0.1:5353", trust_bundle=bundle).save(tmp_path)
    shown = CliRunner().invoke(app, ["sandbox", "env", "--dir", str(tmp_path)])
    assert shown.exit_code == 0
    assert "export OPSCTL_SANDBOX_DNS=127.0.0.1:5353" in shown.stdout.splitlines()
    assert f"export SSL_CERT_FILE={bundle}" in shown.stdout.splitlines()


def test_sandbox_env_points_the_audit_log_into_the_sandbox(tmp_path: Path) -> None:
    """Failovers tried on the sandbox never land in the operator's real audit log."""
    make_sandbox_state(tmp_path, pid=1).save(tmp_path)
    shown = CliRunner().invoke(app, ["sandbox", "env", "--dir", str(tmp_path)])
    assert shown.exit_code == 0
    assert f"export OPSCTL_AUDIT_LOG={tmp_path / 'audit.jsonl'}" in shown.stdout.splitlines()


def test_an_unknown_scenario_is_refused_before_anything_starts(tmp_path: object) -> None:
    result = CliRunner().invoke(
        app, ["sandbox", "drill", "--scenario", "meteor", "--dir", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "meteor" in result.stderr
    assert "Traceback" not in result.output
