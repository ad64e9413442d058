"""Start the sandbox supervisor in the background, and stop it leaving no process or port behind."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from opsctl.errors import OpsctlError
from opsctl.sandbox.state import (
    STATE_FILE,
    SandboxState,
    SandboxStateError,
    SupervisorIdentity,
    dir_flag,
    lock_holder,
)
from opsctl.sandbox.supervisor.processes import (
    PROJECT_ROOT,
    SandboxOptions,
    sandbox_process_environment,
)

START_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 15.0
# After SIGKILL the processes are dead at once, but a killed front stays a zombie in the group until
# its new parent (init) reaps it.
REAP_TIMEOUT_SECONDS = 5.0


class SandboxStartError(OpsctlError):
    """The sandbox could not start: a one-line message, and what this start's supervisor logged
    last (if it got that far)."""

    def __init__(self, message: str, log_tail: list[str] | None = None) -> None:
        super().__init__(message)
        self.log_tail = log_tail or []


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((host, port)) == 0


def address_open(address: str) -> bool:
    """Whether something accepts connections on "host:port"."""
    host, _, port = address.rpartition(":")
    return port_open(int(port), host)


def running_state(directory: Path) -> SandboxState | None:
    """The state of a live sandbox in `directory`; a stale state file is removed. A live
    supervisor whose state file is missing or corrupted raises SandboxStateError."""
    if lock_holder(directory) is None:
        _discard_state(directory)
        return None
    return SandboxState.load(directory)


def _discard_state(directory: Path) -> None:
    """Remove the state file of a sandbox that is gone. Something else in its place (a directory,
    a file we may not delete) is left alone: `up` then says the directory is unusable."""
    with contextlib.suppress(OSError):
        (directory / STATE_FILE).unlink(missing_ok=True)


def _log_tail(log_file: Path, since: int, lines: int = 15) -> list[str]:
    """The last lines this start wrote to the (appended) log, from byte offset `since`."""
    try:
        with log_file.open("rb") as log:
            log.seek(since)
            return log.read().decode(errors="replace").splitlines()[-lines:]
    except OSError:
        return []


def start_background(
    options: SandboxOptions, timeout: float = START_TIMEOUT_SECONDS
) -> SandboxState:
    """Spawn the supervisor detached from this terminal and wait until it is ready."""
    directory = options.directory.resolve()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        holder = lock_holder(directory)
        if holder is not None:
            raise SandboxStartError(
                f"a sandbox is already running in {directory} (supervisor pid {holder.pid}); "
                f"run `opsctl sandbox down{dir_flag(directory)}` first"
            )
        (directory / STATE_FILE).unlink(missing_ok=True)  # left by one that died
        log_file = directory / "sandbox.log"
        log = log_file.open("ab")
        log_start = log.seek(0, os.SEEK_END)
    except OSError as error:
        raise SandboxStartError(
            f"cannot use {directory} as the sandbox directory: {error.strerror or error}"
        ) from None
    except SandboxStateError as error:
        raise SandboxStartError(str(error)) from None
    with log:
        process = subprocess.Popen(
            [sys.executable, "-m", "opsctl.sandbox.supervisor.runtime", *options.to_args()],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            cwd=PROJECT_ROOT,
            env=sandbox_process_environment(dict(os.environ)),
            # Its own session and process group: Ctrl-C in this terminal reaches it only through
            # `down`, and `down` can signal the supervisor with its fronts as one group.
            start_new_session=True,
        )
    try:
        return _wait_until_ready(process, directory, log_file, log_start, timeout)
    except BaseException:
        # Interrupted or failed while starting: stop what this call started, and only that.
        _stop_group(SupervisorIdentity(process.pid, process.pid), STOP_TIMEOUT_SECONDS)
        raise


def _wait_until_ready(
    process: subprocess.Popen[bytes],
    directory: Path,
    log_file: Path,
    log_start: int,
    timeout: float,
) -> SandboxState:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SandboxStartError(
                f"the sandbox failed to start (exit {process.returncode}); its log: {log_file}",
                _log_tail(log_file, log_start),
            )
        if (directory / STATE_FILE).exists():
            try:
                state = SandboxState.load(directory)
            except SandboxStateError:
                state = None  # being written
            if state is not None and state.supervisor_pid == process.pid:
                return state
        time.sleep(0.1)
    raise SandboxStartError(
        f"the sandbox did not start within {timeout:.0f}s; its log: {log_file}",
        _log_tail(log_file, log_start),
    )


@dataclass(frozen=True)
class StopReport:
    stopped: bool  # False when nothing was running
    leftover_addresses: list[str]  # "host:port" still accepting connections
    # A state file was left by a supervisor that died without cleaning up; it was removed and no
    # process was signalled (its pids may belong to unrelated processes by now).
    stale_state_removed: bool = False
    # Processes of the supervisor's group still alive after SIGKILL (should never happen).
    leftover_pids: list[int] = field(default_factory=list)


def _group_alive(process_group: int) -> bool:
    try:
        os.killpg(process_group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reap(pid: int) -> None:
    """Collect the exit status of our own child so it does not linger as a zombie (a zombie still
    counts as a member of its process group)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _stop_group(holder: SupervisorIdentity, timeout: float) -> list[int]:
    """SIGTERM the supervisor (it stops its fronts and releases the lock), wait for its whole
    process group to go, SIGKILL whatever is left. Returns pids still alive (none, normally).

    The group is signalled only when the supervisor leads it: started by `up`, it does; started
    any other way, its group may be a shell's, and its fronts exit by themselves once it is gone."""
    group = holder.process_group if holder.leads_its_group else None

    def alive() -> bool:
        _reap(holder.pid)
        return process_alive(holder.pid) or (group is not None and _group_alive(group))

    with contextlib.suppress(ProcessLookupError):
        os.kill(holder.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    if alive():
        with contextlib.suppress(ProcessLookupError):
            if group is not None:
                os.killpg(group, signal.SIGKILL)
            else:
                os.kill(holder.pid, signal.SIGKILL)
        deadline = time.monotonic() + REAP_TIMEOUT_SECONDS
        while alive() and time.monotonic() < deadline:
            time.sleep(0.05)
    return [holder.pid] if alive() else []


def stop_background(
    directory: Path, timeout: float = STOP_TIMEOUT_SECONDS, *, started_pid: int | None = None
) -> StopReport:
    """Stop the supervisor holding this directory's lock with its fronts, then make sure no
    process or port is left. The lock, not the state file, says what runs: a missing or corrupted
    state file does not hide a live supervisor, and a stale one never gets its pids signalled.
    With `started_pid`, only that supervisor is stopped (a caller tearing down what it started)."""
    directory = directory.resolve()
    holder = lock_holder(directory)
    state_file = directory / STATE_FILE
    if holder is not None and started_pid is not None and holder.pid != started_pid:
        return StopReport(stopped=False, leftover_addresses=[])
    if holder is None:
        stale = state_file.exists()
        _discard_state(directory)
        return StopReport(stopped=False, leftover_addresses=[], stale_state_removed=stale)
    try:
        addresses = SandboxState.load(directory).listening()
    except SandboxStateError:
        addresses = []  # its processes are gone with their group, and their sockets with them
    leftover_pids = _stop_group(holder, timeout)
    _discard_state(directory)
    deadline = time.monotonic() + timeout
    leftover = [address for address in addresses if address_open(address)]
    while leftover and time.monotonic() < deadline:
        time.sleep(0.1)
        leftover = [address for address in leftover if address_open(address)]
    return StopReport(stopped=True, leftover_addresses=leftover, leftover_pids=leftover_pids)
