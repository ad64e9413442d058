"""`sandbox up` / `down` / `drill` tell a running sandbox by its supervisor's lock, never by a pid
or a state file alone, and touch only what they started.

A supervisor that died without cleaning up (SIGKILL, OOM, a reboot) leaves its state file behind,
and its pids get reused: a stale state file naming a live, unrelated process must not get it
signalled. A live supervisor whose state file is missing or corrupted must still be found and
stopped with its fronts. Here a small stand-in supervisor takes the real lock and starts a
"front" listening on a port; the full start/stop cycle is covered in tests/e2e.
"""

from __future__ import annotations

import dataclasses
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opsctl.cli.app import app
from opsctl.sandbox.faults.proxy import Fault, FaultProxy
from opsctl.sandbox.idp import SigningKey
from opsctl.sandbox.state import (
    LOCK_FILE,
    STATE_FILE,
    SandboxState,
    hold_supervisor_lock,
    lock_holder,
    supervisor_running,
)
from opsctl.sandbox.supervisor.lifecycle import (
    port_open,
    process_alive,
    running_state,
    stop_background,
)
from opsctl.sandbox.supervisor.processes import PROJECT_ROOT
from tests.opsctl.conftest import World, assert_one_line_error, make_sandbox_state

# Holds the real supervisor lock, starts a "front" (a child listening on a port, in its process
# group as the real fronts are), prints "<front pid> <front port>". Cooperative: on SIGTERM it
# stops its front and exits, as the real supervisor does; stubborn: it ignores SIGTERM.
FAKE_SUPERVISOR = """
import signal, subprocess, sys, time
from pathlib import Path
from opsctl.sandbox.state import hold_supervisor_lock
assert hold_supervisor_lock(Path(sys.argv[1])) is not None
front = subprocess.Popen([sys.executable, "-c", sys.argv[3]], stdout=subprocess.PIPE, text=True)
port = front.stdout.readline().strip()
def stop(*_):
    front.terminate(); front.wait(); sys.exit(0)
signal.signal(signal.SIGTERM, stop if sys.argv[2] == "cooperative" else signal.SIG_IGN)
print(front.pid, port, flush=True)
time.sleep(120)
"""
FAKE_FRONT = (
    "import socket, time; s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); "
    "print(s.getsockname()[1], flush=True); time.sleep(120)"
)


@dataclass
class FakeSandbox:
    supervisor: subprocess.Popen[str]
    front_pid: int
    front_port: int

    def state(self, directory: Path) -> SandboxState:
        made = make_sandbox_state(directory, self.supervisor.pid)
        return SandboxState(
            **{
                **made.__dict__,
                "front_pids": {"us-east-1": self.front_pid},
                "ports": {"front:us-east-1": self.front_port},
            }
        )

    def gone(self) -> bool:
        return (
            self.supervisor.poll() is not None
            and not process_alive(self.front_pid)
            and not port_open(self.front_port)
        )


def start_fake_sandbox(directory: Path, mode: str) -> FakeSandbox:
    supervisor = subprocess.Popen(
        [sys.executable, "-c", FAKE_SUPERVISOR, str(directory), mode, FAKE_FRONT],
        stdout=subprocess.PIPE,
        text=True,
        cwd=PROJECT_ROOT,
        start_new_session=True,  # as `up` starts the real one: it leads its own process group
    )
    assert supervisor.stdout is not None
    front_pid, front_port = supervisor.stdout.readline().split()
    return FakeSandbox(supervisor, int(front_pid), int(front_port))


@pytest.fixture
def fake_sandbox(tmp_path: Path) -> Iterator[FakeSandbox]:
    sandbox = start_fake_sandbox(tmp_path, "cooperative")
    yield sandbox
    for pid in (sandbox.supervisor.pid, sandbox.front_pid):
        if process_alive(pid):
            subprocess.run(["kill", "-9", str(pid)], check=False)
    sandbox.supervisor.wait()


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
            "import sys, time; from opsctl.sandbox.front.server import exit_when_orphaned; "
            "exit_when_orphaned(int(sys.argv[1]), poll_seconds=0.05); time.sleep(60)",
            str(gone.pid),
        ],
        cwd=PROJECT_ROOT,
        timeout=30,
        check=False,
    )
    assert front.returncode == 0


def test_the_lock_names_its_holder(tmp_path: Path, fake_sandbox: FakeSandbox) -> None:
    holder = lock_holder(tmp_path)
    assert holder is not None
    assert (holder.pid, holder.process_group) == (fake_sandbox.supervisor.pid,) * 2
    assert holder.leads_its_group


@pytest.mark.parametrize(
    "damage",
    ["missing", "truncated json", "a json list", "wrong fields", "a directory"],
)
def test_down_stops_a_live_sandbox_whatever_happened_to_its_state_file(
    tmp_path: Path, fake_sandbox: FakeSandbox, damage: str
) -> None:
    state_file = tmp_path / STATE_FILE
    fake_sandbox.state(tmp_path).save(tmp_path)
    if damage == "missing":
        state_file.unlink()
    elif damage == "truncated json":
        state_file.write_text(state_file.read_text()[:40])
    elif damage == "a json list":
        state_file.write_text("[1, 2]")
    elif damage == "wrong fields":
        state_file.write_text('{"version": 1, "pid": 3}')
    else:
        state_file.unlink()
        state_file.mkdir()

    up = CliRunner().invoke(app, ["sandbox", "up", "--dir", str(tmp_path)])
    assert_one_line_error(up, 1, f"a sandbox is already running in {tmp_path}")

    result = CliRunner().invoke(app, ["sandbox", "down", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.stderr
    assert "sandbox stopped; no process or port left" in result.stderr
    fake_sandbox.supervisor.wait(timeout=5)
    assert fake_sandbox.gone()
    assert not supervisor_running(tmp_path)


def test_down_kills_the_whole_group_when_the_supervisor_ignores_sigterm(tmp_path: Path) -> None:
    sandbox = start_fake_sandbox(tmp_path, "stubborn")
    try:
        report = stop_background(tmp_path, timeout=1.0)
        sandbox.supervisor.wait(timeout=5)
        assert report.stopped and report.leftover_pids == []
        assert sandbox.gone()
    finally:
        for pid in (sandbox.supervisor.pid, sandbox.front_pid):
            if process_alive(pid):
                subprocess.run(["kill", "-9", str(pid)], check=False)
        sandbox.supervisor.wait()


def test_drill_while_a_sandbox_is_up_refuses_and_leaves_it_running(
    tmp_path: Path, fake_sandbox: FakeSandbox
) -> None:
    fake_sandbox.state(tmp_path).save(tmp_path)
    result = CliRunner().invoke(app, ["sandbox", "drill", "--dir", str(tmp_path)])
    assert_one_line_error(result, 1, f"a sandbox is already running in {tmp_path}")
    assert "Traceback" not in result.output
    assert fake_sandbox.supervisor.poll() is None and process_alive(fake_sandbox.front_pid)
    assert port_open(fake_sandbox.front_port)
    assert (tmp_path / STATE_FILE).exists() and supervisor_running(tmp_path)


def test_a_teardown_stops_only_the_supervisor_it_started(
    tmp_path: Path, fake_sandbox: FakeSandbox
) -> None:
    report = stop_background(tmp_path, started_pid=fake_sandbox.supervisor.pid + 1_000_000)
    assert not report.stopped
    assert fake_sandbox.supervisor.poll() is None and port_open(fake_sandbox.front_port)


@pytest.mark.parametrize("command", ["up", "drill"])
def test_an_unusable_sandbox_directory_is_a_one_line_error(tmp_path: Path, command: str) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    result = CliRunner().invoke(
        app, ["sandbox", command, "--dir", str(not_a_directory / "sandbox")]
    )
    assert_one_line_error(result, 1, f"cannot use {not_a_directory / 'sandbox'}")
    assert "Not a directory" in result.stderr


def test_an_unreadable_lock_file_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / LOCK_FILE).mkdir()  # not a file any more
    result = CliRunner().invoke(app, ["sandbox", "down", "--dir", str(tmp_path)])
    assert_one_line_error(result, 1, f"cannot open {tmp_path / LOCK_FILE}")


def test_probe_gives_up_on_a_silent_dns_server_within_seconds(
    tmp_path: Path, world: World, fault_proxy: FaultProxy
) -> None:
    # us-east-1 black-holed (Route 53's control plane with it): the probe does not need it, it
    # resolves through the sandbox's DNS; here that server is silent too (a socket nobody reads).
    fault_proxy.set_fault("us-east-1", Fault.HANG)
    made = make_sandbox_state(tmp_path, 1)
    SigningKey.generate().save(Path(made.key_file))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        state = dataclasses.replace(
            made,
            endpoint_url=fault_proxy.url,
            topology_file=str(world.topology_path),
            dns=f"127.0.0.1:{silent.getsockname()[1]}",
        )
        state.save(tmp_path)
        started = time.monotonic()
        result = CliRunner().invoke(app, ["probe", "--sandbox", "-n", "2", "--dir", str(tmp_path)])
        elapsed = time.monotonic() - started
    assert result.exit_code == 1
    assert "did not answer auth.example.com within 2 x 1.0s" in result.stderr
    assert elapsed < 15, elapsed  # 2 requests x 2 queries x 1 s
