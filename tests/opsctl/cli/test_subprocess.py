"""opsctl as an operator runs it: `python -m opsctl` in a real process, AWS_ENDPOINT_URL set."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from opsctl.model import Weights
from tests.opsctl.conftest import World


def run(
    world: World, *args: str, topology: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "AWS_ENDPOINT_URL": world.endpoint_url, **env}
    topology = topology or world.topology_path
    return subprocess.run(
        [sys.executable, "-m", "opsctl", *args, "--topology", str(topology)],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
        check=False,
    )


def test_status_json_in_a_subprocess(world: World) -> None:
    result = run(world, "status", "--json")
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert (status["serving"], status["consistent"]) == ("primary", True)


def test_failover_plan_then_approve_in_subprocesses(world: World, tmp_path: Path) -> None:
    plan = run(world, "failover")
    assert plan.returncode == 3
    assert world.weights() == Weights(100, 0)
    audit = tmp_path / "sub-audit.jsonl"
    done = run(world, "failover", "--approve", "--reason", "drill", OPSCTL_AUDIT_LOG=str(audit))
    assert done.returncode == 0, done.stderr
    assert world.weights() == Weights(0, 100)
    intent, outcome = [json.loads(line) for line in audit.read_text().splitlines()]
    assert (intent["phase"], outcome["phase"], outcome["reason"]) == ("intent", "outcome", "drill")


def test_errors_are_one_line_without_traceback_and_no_color_is_respected(
    world: World, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("[]")
    result = run(world, "status", topology=broken, NO_COLOR="1")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "opsctl: error: topology: expected a JSON object with `version`, `regions`, ..."
    ]
    assert "Traceback" not in result.stderr
    assert "\x1b[" not in result.stderr
