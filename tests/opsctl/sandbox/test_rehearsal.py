"""`opsctl sandbox drill` tears down the sandbox it started, and only that one, whatever happens
to the drill or its output."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from opsctl.drill.model import DrillFailed
from opsctl.sandbox import rehearsal
from opsctl.sandbox.supervisor import lifecycle
from opsctl.sandbox.supervisor.lifecycle import StopReport
from opsctl.sandbox.supervisor.processes import SandboxOptions
from tests.opsctl.samples import make_sandbox_state


def test_the_drill_tears_down_what_it_started_even_when_its_output_is_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A drill whose reader went away (`| head`, a killed CI runner): every print now raises.
    # The teardown must still happen, and stop only the supervisor this drill started.
    started = make_sandbox_state(tmp_path, 4242)
    stopped: list[int | None] = []
    pipe_closed = threading.Event()

    monkeypatch.setattr(lifecycle, "start_background", lambda options: started)
    monkeypatch.setattr(
        lifecycle,
        "stop_background",
        lambda directory, started_pid=None: stopped.append(started_pid) or StopReport(True, []),
    )

    def failing_drill(*args: object) -> None:
        pipe_closed.set()  # the reader goes away during the drill
        raise DrillFailed("a check failed")

    def info(text: str) -> None:
        if pipe_closed.is_set():
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(rehearsal, "sandbox_drill", lambda *args: None)
    monkeypatch.setattr(rehearsal, "run_drill", failing_drill)
    monkeypatch.setattr(rehearsal.output, "info", info)
    with pytest.raises(DrillFailed):
        rehearsal.run_sandbox_drill(SandboxOptions(directory=tmp_path))
    assert stopped == [4242]
