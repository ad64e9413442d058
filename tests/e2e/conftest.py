"""A running sandbox for the end-to-end tests, torn down (and checked clean) afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from opsctl.sandbox.state import SandboxState
from opsctl.sandbox.supervisor.lifecycle import (
    address_open,
    process_alive,
    start_background,
    stop_background,
)
from opsctl.sandbox.supervisor.processes import PROJECT_ROOT, SandboxOptions

# Fast enough for CI, slow enough that 2 vCPUs keep up: 10 s health checks run every 0.5 s.
E2E_TIME_SCALE = 0.05


def assert_nothing_left(state: SandboxState) -> None:
    pids = [state.supervisor_pid, *state.front_pids.values()]
    assert [pid for pid in pids if process_alive(pid)] == []
    assert [address for address in state.listening() if address_open(address)] == []


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxState]:
    directory = tmp_path_factory.mktemp("sandbox")
    state = start_background(SandboxOptions(directory=directory, time_scale=E2E_TIME_SCALE))
    try:
        yield state
    finally:
        report = stop_background(directory)
        assert report.stopped
        assert_nothing_left(state)


OpsctlRunner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def run_opsctl() -> OpsctlRunner:
    """`python -m opsctl ...` as an operator runs it; `env` adds to this process's environment."""

    def run(
        *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        environment = {
            **os.environ,
            "PYTHONPATH": str(PROJECT_ROOT),
            "NO_COLOR": "1",
            **(env or {}),
        }
        return subprocess.run(
            [sys.executable, "-m", "opsctl", *args],
            capture_output=True,
            text=True,
            env=environment,
            cwd=cwd or PROJECT_ROOT,
            timeout=240,
        )

    return run
