"""The sandbox leaves nothing behind: `down` with nothing running changes nothing, and a drill
interrupted while its sandbox starts tears every process and socket down."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from opsctl.sandbox.state import STATE_FILE, SandboxState
from opsctl.sandbox.supervisor.lifecycle import address_open, process_alive
from opsctl.sandbox.supervisor.processes import PROJECT_ROOT


def test_down_with_nothing_running_changes_nothing(tmp_path: Path, run_opsctl: Any) -> None:
    stopped = run_opsctl("sandbox", "down", "--dir", str(tmp_path))
    assert stopped.returncode == 0
    assert "nothing to stop" in stopped.stderr
    missing = run_opsctl("sandbox", "token", "--dir", str(tmp_path))
    assert missing.returncode == 1
    assert "no sandbox is running" in missing.stderr


def test_interrupted_drill_tears_everything_down(tmp_path: Path) -> None:
    drill = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "opsctl",
            "sandbox",
            "drill",
            "--dir",
            str(tmp_path),
            "--report-dir",
            str(tmp_path / "report"),
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "NO_COLOR": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / STATE_FILE).exists():
            assert drill.poll() is None, drill.communicate()[1]
            assert time.monotonic() < deadline, "the drill's sandbox did not start within 120s"
            time.sleep(0.1)
        state = SandboxState.load(tmp_path)
    finally:
        drill.send_signal(signal.SIGINT)  # also when the test fails: never leave it running
    _, stderr = drill.communicate(timeout=60)
    assert drill.returncode == 130, stderr
    assert "torn down" in stderr
    assert not (tmp_path / STATE_FILE).exists()
    pids = [state.supervisor_pid, *state.front_pids.values()]
    assert [pid for pid in pids if process_alive(pid)] == []
    assert [address for address in state.listening() if address_open(address)] == []
