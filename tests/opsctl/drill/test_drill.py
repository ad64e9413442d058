"""The drill's players and its command line, without a sandbox (the drills run in tests/e2e)."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opsctl.aws import AwsClients
from opsctl.change.audit import AuditLog
from opsctl.cli.app import app
from opsctl.drill.drillrun import run_drill, signals_answered
from opsctl.drill.engine import DrillFailed, DrillTarget, FoundState, Restored
from opsctl.drill.players import Players
from opsctl.drill.switch_drill import SwitchDrill
from opsctl.drill.timeline import Timeline
from opsctl.drill.tokens import TokenSource, token_from_value
from opsctl.errors import AwsUnreachable
from opsctl.model import Weights
from opsctl.read.probe import ApiResponse, Endpoint, Resolver
from opsctl.sandbox import lifecycle, rehearsal
from opsctl.sandbox.lifecycle import StopReport
from opsctl.sandbox.processes import SandboxOptions
from opsctl.topology import parse_topology
from tests.opsctl.conftest import make_sandbox_state
from tests.opsctl.drill.test_report import TOPOLOGY


class CountingResolver:
    def __init__(self) -> None:
        self.calls = 0

    def resolve(self, hostname: str) -> Endpoint:
        self.calls += 1
        return Endpoint("http://127.0.0.1:9", hostname)


def test_each_player_has_its_own_resolver_and_every_request_is_on_the_timeline() -> None:
    timeline = Timeline()
    resolvers: list[CountingResolver] = []
    answered = threading.Semaphore(0)

    def new_resolver() -> CountingResolver:
        resolvers.append(CountingResolver())
        return resolvers[-1]

    def send(resolver: Resolver) -> ApiResponse:
        resolver.resolve("auth.example.com")
        answered.release()
        if resolver is resolvers[0]:
            return ApiResponse(200, {"region": "us-east-1"}, None, 1.0)
        return ApiResponse(None, None, "connection refused", 1.0)

    players = Players(timeline, new_resolver, send, count=2, pause_seconds=0.001)
    players.start()
    for _ in range(20):
        assert answered.acquire(timeout=10)
    players.stop()
    samples = timeline.samples
    assert len(resolvers) == 2 and all(r.calls > 0 for r in resolvers)
    assert len(samples) == sum(r.calls for r in resolvers)
    assert {(s.region, s.ok) for s in samples} == {("us-east-1", True), (None, False)}
    count = len(samples)
    time.sleep(0.05)
    assert len(timeline.samples) == count  # stopped means stopped


def test_an_unknown_scenario_is_refused_before_anything_starts(tmp_path: object) -> None:
    result = CliRunner().invoke(
        app, ["sandbox", "drill", "--scenario", "meteor", "--dir", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "meteor" in result.stderr
    assert "Traceback" not in result.output


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


def test_a_window_is_counted_once_the_requests_sent_in_it_have_answered() -> None:
    # A shift's requests are counted when it ends; one sent before the end but answered after
    # must be in the count, not lost.
    timeline = Timeline()
    sent, release = threading.Event(), threading.Event()

    def slow_send(resolver: Resolver) -> ApiResponse:
        sent.set()
        release.wait(10)
        return ApiResponse(200, {"region": "us-west-2"}, None, 1.0)

    players = Players(timeline, CountingResolver, slow_send, count=1)
    players.start()
    assert sent.wait(10)
    ended = timeline.now()
    threading.Timer(0.2, release.set).start()
    players.wait_recorded(ended)
    assert [s.region for s in timeline.between(0, ended)] == ["us-west-2"]
    players.stop()


def test_a_watch_marks_when_each_condition_first_holds_and_bounds_the_wait() -> None:
    from opsctl.drill.watch import Watch

    timeline = Timeline()
    flipped = threading.Event()

    def flaky() -> bool:
        raise TimeoutError("a read that timed out has not held yet")

    conditions = {"alarm ALARM": flipped.is_set, "never": flaky}
    with Watch(timeline.mark, conditions, poll_seconds=0.01) as watch:
        threading.Timer(0.1, flipped.set).start()
        seen = watch.wait("alarm ALARM", timeout=10)
        with pytest.raises(DrillFailed, match="timed out after 0s waiting for: never"):
            watch.wait("never", timeout=0.05)
    assert [e.label for e in timeline.events] == ["alarm ALARM"]
    assert seen == timeline.events[0].at > 0


def test_a_second_signal_during_the_restore_is_answered_not_obeyed() -> None:
    # The restore must not stop half-way: Ctrl-C and SIGTERM while it runs each get a line
    # saying it is still restoring, and the handlers in force before are back afterwards.
    said: list[str] = []
    before = signal.getsignal(signal.SIGINT)
    with signals_answered(said.append, "restoring the stack as found"):
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)  # the handlers run between bytecodes of this thread
        finished = True
    assert finished
    assert said == [
        "SIGINT received: still restoring the stack as found; it is bounded, wait for it",
        "SIGTERM received: still restoring the stack as found; it is bounded, wait for it",
    ]
    assert signal.getsignal(signal.SIGINT) is before


def test_aws_not_answering_mid_drill_still_restores_and_reports(tmp_path: Path) -> None:
    # On a loaded stack a read can miss its deadline mid-drill: the drill fails, restores what
    # it found, and says so, rather than leaving the switch flipped without a report.
    restored: list[str] = []

    class ReadTimesOut(SwitchDrill):
        def read_found(self) -> FoundState:
            return FoundState({"primary": "healthy", "secondary": "healthy"}, Weights(100, 0))

        def run(self) -> None:  # type: ignore[override]
            raise AwsUnreachable("no answer within 3.5s while reading records")

        def restore(self, found: FoundState, why: str) -> Restored:
            restored.append(why)
            return Restored(["primary failure switch: failing -> healthy"], True, "as found")

    target = DrillTarget(
        clients=AwsClients(),
        topology=parse_topology(TOPOLOGY),
        hostname="auth.example.com",
        new_resolver=CountingResolver,
        tokens=TokenSource(token_from_value("eyJhbGciOiJub25lIn0.eyJzdWIiOiJkcmlsbCJ9.sig")),
        audit_log=AuditLog(tmp_path / "audit.jsonl"),
    )
    run = run_drill(ReadTimesOut(target))
    assert (run.outcome, run.reason) == ("failed", "no answer within 3.5s while reading records")
    assert restored == ["drill failed"]
    assert run.restored is not None and run.restored.confirmed
