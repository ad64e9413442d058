"""Ctrl-C, SIGTERM and SIGHUP with AWS not answering: `python -m opsctl` in a real process, in front
of a fault proxy that black-holes us-east-1 (Route 53's control plane and the health metrics).

opsctl must exit 130 with its one `interrupted` line at once, leaving the hung reads behind (the
SDK would wait 3 x 10 s for them), and a repeated signal must never print a traceback.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from opsctl.change import outcome as shiftoutcome
from opsctl.model import Weights
from opsctl.sandbox.faults.proxy import Fault, FaultProxy
from tests.opsctl.conftest import World

# Far below the SDK's read timeout (10 s, 3 attempts): an exit within this bound left the hung
# reads behind instead of waiting for them. The slack covers a loaded test machine.
EXIT_BOUND = 5.0
# How long the test waits for opsctl to reach a state (started, applied, hung in a read).
SETUP_BOUND = 60.0


@pytest.fixture
def held(fault_proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Set once the proxy is holding a request unanswered: opsctl is stuck in an AWS read."""
    event = threading.Event()
    hold = fault_proxy.hold

    def note_and_hold(region: str) -> None:
        event.set()
        hold(region)

    monkeypatch.setattr(fault_proxy, "hold", note_and_hold)
    return event


def start_opsctl(world: World, tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    # AWS_ENDPOINT_URL is the fault proxy (the fault_proxy fixture set it in os.environ).
    environment = {**os.environ, "OPSCTL_AUDIT_LOG": str(tmp_path / "audit.jsonl"), "NO_COLOR": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "opsctl", *args, "--topology", str(world.topology_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )


def wait_for(condition: threading.Event, process: subprocess.Popen[str]) -> None:
    assert condition.wait(SETUP_BOUND), "opsctl never reached the hung read"
    assert process.poll() is None, process.communicate()


def interrupt(
    process: subprocess.Popen[str], signum: signal.Signals, *, repeat: bool = False
) -> tuple[float, str]:
    """Send the signal (with `repeat`, again every 10 ms until opsctl exits); return the seconds
    from the first signal to the exit, and stderr."""
    sent = time.monotonic()
    process.send_signal(signum)
    while repeat and process.poll() is None and time.monotonic() - sent < SETUP_BOUND:
        process.send_signal(signum)
        time.sleep(0.01)
    _, stderr = process.communicate(timeout=SETUP_BOUND)
    return time.monotonic() - sent, stderr


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_one_signal_exits_at_once_while_aws_hangs(
    world: World,
    fault_proxy: FaultProxy,
    held: threading.Event,
    tmp_path: Path,
    signum: signal.Signals,
) -> None:
    fault_proxy.set_fault("us-east-1", Fault.HANG)
    process = start_opsctl(world, tmp_path, "status")
    wait_for(held, process)
    elapsed, stderr = interrupt(process, signum)
    assert process.returncode == 130, stderr
    assert stderr.splitlines() == ["opsctl: error: interrupted"]
    assert elapsed < EXIT_BOUND


def test_repeated_ctrl_c_never_prints_a_traceback(
    world: World, fault_proxy: FaultProxy, held: threading.Event, tmp_path: Path
) -> None:
    fault_proxy.set_fault("us-east-1", Fault.HANG)
    process = start_opsctl(world, tmp_path, "readiness")
    wait_for(held, process)
    elapsed, stderr = interrupt(process, signal.SIGINT, repeat=True)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert stderr.splitlines() == ["opsctl: error: interrupted"]
    assert elapsed < EXIT_BOUND


def test_ctrl_c_in_the_health_gate_while_aws_hangs_reports_the_applied_step(
    world: World, fault_proxy: FaultProxy, held: threading.Event, tmp_path: Path
) -> None:
    world.set_weights(0, 100)
    process = start_opsctl(
        world, tmp_path, "fallback", "--steps", "50,100", "--interval", "1", "--force", "--approve",
        "--reason", "recovered",
    )  # fmt: skip
    audit = tmp_path / "audit.jsonl"
    deadline = time.monotonic() + SETUP_BOUND
    while (change_id := _insync_change_id(audit)) is None:  # step 1 applied, INSYNC, audited
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "step 1 never reached INSYNC"
        time.sleep(0.05)
    fault_proxy.set_fault("us-east-1", Fault.HANG)  # us-east-1 goes dark during the interval
    wait_for(held, process)  # the health gate before step 2 is stuck reading
    elapsed, stderr = interrupt(process, signal.SIGINT, repeat=True)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert stderr.splitlines()[-1] == (
        "opsctl: error: interrupted: applied: step 1/2 primary 0 / secondary 100 -> primary 50 "
        f"/ secondary 50 (change {change_id}); not applied: step 2/2; the weights could "
        f"not be read back (no answer within {shiftoutcome.READ_BACK_TIMEOUT:g}s while reading the "
        "weighted records); run `opsctl status`"
    )
    assert elapsed < EXIT_BOUND + shiftoutcome.READ_BACK_TIMEOUT
    assert world.weights() == Weights(50, 50)


def _insync_change_id(audit: Path) -> str | None:
    """The change id of the audited change that reached INSYNC, once there is one."""
    if not audit.exists():
        return None
    for line in audit.read_text().splitlines():
        record = json.loads(line)
        if record.get("changeId") and record.get("insyncSeconds") is not None:
            return str(record["changeId"])
    return None
