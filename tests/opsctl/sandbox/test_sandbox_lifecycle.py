"""`sandbox down` / `up` tell a running sandbox by its supervisor's lock, never by a pid alone.

A supervisor that died without cleaning up (SIGKILL, OOM, a reboot) leaves its state file behind,
and its pids get reused. These tests give a stale state file the pid of a live, unrelated process
and check that nothing signals it; the full start/stop cycle is covered in tests/e2e.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opsctl.cli import app
from opsctl.sandbox.lifecycle import process_alive, running_state, stop_background
from opsctl.sandbox.runtime import PROJECT_ROOT
from opsctl.sandbox.state import STATE_FILE, hold_supervisor_lock, supervisor_running
from tests.opsctl.conftest import make_sandbox_state


@pytest.fixture
def bystander() -> Iterator[subprocess.Popen[bytes]]:
    """An unrelated process, standing for whatever now holds a dead supervisor's pid."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process
    process.kill()
    process.wait()


def test_down_after_a_crash_signals_no_process_and_removes_the_stale_state(
    tmp_path: Path, bystander: subprocess.Popen[bytes]
) -> None:
    # A dead supervisor's state, its pid now reused by an unrelated process.
    make_sandbox_state(tmp_path, bystander.pid).save(tmp_path)
    result = CliRunner().invoke(app, ["sandbox", "down", "--dir", str(tmp_path)])
    assert result.exit_code == 0
    assert "had already stopped (stale state removed); nothing to stop" in result.stderr
    assert bystander.poll() is None and process_alive(bystander.pid)
    assert not (tmp_path / STATE_FILE).exists()


def test_a_stale_state_does_not_block_up(
    tmp_path: Path, bystander: subprocess.Popen[bytes]
) -> None:
    make_sandbox_state(tmp_path, bystander.pid).save(tmp_path)
    assert running_state(tmp_path) is None
    assert not (tmp_path / STATE_FILE).exists()


def test_the_lock_is_held_by_one_supervisor_and_freed_when_it_dies(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; "
            "from opsctl.sandbox.state import hold_supervisor_lock; "
            "assert hold_supervisor_lock(Path(sys.argv[1])) is not None; "
            "print('held', flush=True); time.sleep(60)",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=PROJECT_ROOT,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        make_sandbox_state(tmp_path, holder.pid).save(tmp_path)
        assert supervisor_running(tmp_path)
        assert supervisor_running(tmp_path)  # testing the lock did not take it
        assert hold_supervisor_lock(tmp_path) is None  # a second supervisor is refused
        state = running_state(tmp_path)
        assert state is not None and state.supervisor_pid == holder.pid
    finally:
        holder.kill()  # SIGKILL: no cleanup at all, as in a crash
        holder.wait()
    assert not supervisor_running(tmp_path)
    report = stop_background(tmp_path)
    assert (report.stopped, report.stale_state_removed) == (False, True)


def test_a_front_whose_supervisor_is_already_gone_exits_by_itself() -> None:
    # The supervisor's pid is passed in, not read with getppid() at start-up: a front whose
    # supervisor died before it got there would read its new parent's pid and never exit.
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    front = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, time; from opsctl.sandbox.front import exit_when_orphaned; "
            "exit_when_orphaned(int(sys.argv[1]), poll_seconds=0.05); time.sleep(60)",
            str(gone.pid),
        ],
        cwd=PROJECT_ROOT,
        timeout=30,
        check=False,
    )
    assert front.returncode == 0
