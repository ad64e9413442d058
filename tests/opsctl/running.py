"""Running opsctl from a test: in-process on the world's topology, or as a real process; and the
error contract every failing command keeps."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from typer.testing import CliRunner, Result

from opsctl.cli.app import app
from opsctl.model import Weights
from opsctl.sandbox.emulator import Emulator
from tests.opsctl.world import World


def invoke(runner: CliRunner, world: World, *args: str) -> Result:
    """opsctl in-process, acting on the world's topology file."""
    return runner.invoke(app, [*args, "--topology", str(world.topology_path)])


@contextmanager
def failover_waiting_for_insync(
    world: World, emulator: Emulator, audit: Path, reason: str = "drill"
) -> Iterator[subprocess.Popen[str]]:
    """`python -m opsctl failover --approve` as a real process, yielded once its change was
    applied and it is polling for INSYNC (the emulator keeps the change PENDING meanwhile)."""
    emulator.route53.propagation_seconds = 60
    environment = {
        **os.environ,
        "AWS_ENDPOINT_URL": world.endpoint_url,
        "OPSCTL_AUDIT_LOG": str(audit),
        "NO_COLOR": "1",
    }
    command = [sys.executable, "-m", "opsctl", "failover", "--approve", "--reason", reason]
    try:
        process = subprocess.Popen(
            [*command, "--topology", str(world.topology_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
        )
        deadline = time.monotonic() + 30
        while world.weights() != Weights(0, 100):  # applied: now it is waiting for INSYNC
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the failover never applied"
            time.sleep(0.05)
        time.sleep(0.5)  # past the submit's response: polling GetChange (every 2 s), PENDING
        yield process
    finally:
        emulator.route53.propagation_seconds = 0.0


def assert_one_line_error(result: Result, exit_code: int, message: str) -> None:
    """The error contract: the exit code, one `opsctl: error: <message>...` line, last on stderr
    (after any warnings the command printed first), and no exception escaping the command."""
    assert result.exit_code == exit_code, result.stderr
    lines = result.stderr.splitlines()
    assert [line for line in lines if line.startswith("opsctl: error:")] == lines[-1:], lines
    assert lines[-1].startswith(f"opsctl: error: {message}"), lines[-1]
    assert result.exc_info is None or result.exc_info[0] is SystemExit


def dns_answers(runner: CliRunner, world: World) -> dict[str, int]:
    """How many of `opsctl status`'s DNS answers sent players to each Region."""
    result = invoke(runner, world, "status", "--json")
    assert result.exit_code == 0, result.stderr
    return dict(json.loads(result.stdout)["dns"]["answers"])
