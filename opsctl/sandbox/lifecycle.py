"""Start the sandbox supervisor in the background, and stop it leaving no process or port behind."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from opsctl.sandbox.runtime import PROJECT_ROOT, SandboxOptions, sandbox_process_environment
from opsctl.sandbox.state import (
    STATE_FILE,
    SandboxState,
    SandboxStateError,
    supervisor_running,
)

START_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 15.0


class SandboxStartError(RuntimeError):
    """The supervisor exited or did not become ready; the message holds its log's tail."""


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def running_state(directory: Path) -> SandboxState | None:
    """The state of a live sandbox in `directory`; a stale state file is removed."""
    try:
        state = SandboxState.load(directory)
    except SandboxStateError:
        return None
    if supervisor_running(directory):
        return state
    (directory / STATE_FILE).unlink(missing_ok=True)
    return None


def _log_tail(log_file: Path, lines: int = 15) -> str:
    if not log_file.exists():
        return ""
    return "\n".join(log_file.read_text(errors="replace").splitlines()[-lines:])


def start_background(
    options: SandboxOptions, timeout: float = START_TIMEOUT_SECONDS
) -> SandboxState:
    """Spawn the supervisor detached from this terminal and wait until it is ready."""
    directory = options.directory.resolve()
    existing = running_state(directory)
    if existing is not None:
        raise SandboxStartError(
            f"a sandbox is already running in {directory} (pid {existing.supervisor_pid}); "
            "run `opsctl sandbox down` first"
        )
    directory.mkdir(parents=True, exist_ok=True)
    log_file = directory / "sandbox.log"
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "opsctl.sandbox.runtime", *options.to_args()],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            cwd=PROJECT_ROOT,
            env=sandbox_process_environment(dict(os.environ)),
            start_new_session=True,  # Ctrl-C in this terminal reaches it only through `down`
        )
    try:
        return _wait_until_ready(process, directory, log_file, timeout)
    except BaseException:
        # Interrupted or failed while starting: the supervisor stops everything it started.
        _stop_pids([process.pid], STOP_TIMEOUT_SECONDS)
        raise


def _wait_until_ready(
    process: subprocess.Popen[bytes], directory: Path, log_file: Path, timeout: float
) -> SandboxState:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SandboxStartError(f"the sandbox failed to start:\n{_log_tail(log_file)}")
        if (directory / STATE_FILE).exists():
            try:
                state = SandboxState.load(directory)
            except SandboxStateError:
                state = None  # being written
            if state is not None and state.supervisor_pid == process.pid:
                return state
        time.sleep(0.1)
    raise SandboxStartError(
        f"the sandbox did not start within {timeout:.0f}s:\n{_log_tail(log_file)}"
    )


@dataclass(frozen=True)
class StopReport:
    stopped: bool  # False when nothing was running
    leftover_ports: list[int]
    # A state file was left by a supervisor that died without cleaning up; it was removed and no
    # process was signalled (its pids may belong to unrelated processes by now).
    stale_state_removed: bool = False


def _stop_pids(pids: list[int], timeout: float) -> None:
    for pid in pids:
        if process_alive(pid):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(process_alive(pid) for pid in pids) and time.monotonic() < deadline:
        _reap(pids)
        time.sleep(0.05)
    for pid in pids:
        if process_alive(pid):
            os.kill(pid, signal.SIGKILL)
    _reap(pids)


def _reap(pids: list[int]) -> None:
    """Collect exit statuses of our own children so they do not linger as zombies."""
    for pid in pids:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def stop_background(directory: Path, timeout: float = STOP_TIMEOUT_SECONDS) -> StopReport:
    """SIGTERM the supervisor (which stops its fronts), then make sure nothing is left."""
    directory = directory.resolve()
    try:
        state = SandboxState.load(directory)
    except SandboxStateError:
        return StopReport(stopped=False, leftover_ports=[])
    if not supervisor_running(directory):
        # Its fronts exit by themselves once their supervisor is gone (front.exit_when_orphaned).
        (directory / STATE_FILE).unlink(missing_ok=True)
        return StopReport(stopped=False, leftover_ports=[], stale_state_removed=True)
    _stop_pids([state.supervisor_pid], timeout)
    _stop_pids(list(state.front_pids.values()), timeout)
    (directory / STATE_FILE).unlink(missing_ok=True)
    deadline = time.monotonic() + timeout
    leftover = [port for port in state.ports.values() if port_open(port)]
    while leftover and time.monotonic() < deadline:
        time.sleep(0.1)
        leftover = [port for port in leftover if port_open(port)]
    return StopReport(stopped=True, leftover_ports=leftover)
