"""The one background loop (sandbox services, drill players): ticks, stop, a tick that ends it,
bounded stop."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from opsctl import periodic
from opsctl.periodic import PeriodicWorker

pytestmark = pytest.mark.unit  # pure logic: no emulator, no processes


def wait_until(condition: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.005)


def test_ticks_until_stopped_and_never_after() -> None:
    ticks: list[float] = []
    worker = PeriodicWorker("test-ticks", lambda: ticks.append(time.monotonic()), 0.01)
    worker.start()
    wait_until(lambda: len(ticks) >= 3)
    assert any(thread.name == "test-ticks" for thread in threading.enumerate())
    worker.stop()
    stopped_at = len(ticks)
    time.sleep(0.05)
    assert len(ticks) == stopped_at


def test_a_tick_returning_false_ends_the_loop() -> None:
    ticks = []

    def tick() -> bool:
        ticks.append(1)
        return len(ticks) < 2

    worker = PeriodicWorker("test-done", tick, 0.001)
    worker.start()
    wait_until(lambda: not any(t.name == "test-done" for t in threading.enumerate()))
    assert len(ticks) == 2
    worker.stop()  # nothing left to stop: returns at once


class RecordedWaits:
    """Stands in for the worker's stop event: records each wait and stops after `rounds`."""

    def __init__(self, rounds: int) -> None:
        self.waits: list[float] = []
        self._rounds = rounds

    def is_set(self) -> bool:
        return len(self.waits) >= self._rounds

    def set(self) -> None:
        self._rounds = 0

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        return self.is_set()


@pytest.mark.parametrize(("fixed_rate", "waits"), [(True, [0.1, 0.0]), (False, [0.4, 0.4])])
def test_the_interval_runs_from_the_tick_start_on_a_fixed_rate(
    monkeypatch: pytest.MonkeyPatch, fixed_rate: bool, waits: list[float]
) -> None:
    """Ticks of 0.3 s then 0.5 s every 0.4 s: on a schedule the waits make up the rest of the
    interval (never below zero); otherwise each wait is the whole interval."""
    clock = [100.0]
    durations = iter([0.3, 0.5])

    def tick() -> None:
        clock[0] += next(durations)

    monkeypatch.setattr(periodic, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    worker = PeriodicWorker("test-rate", tick, 0.4, fixed_rate=fixed_rate)
    recorded = RecordedWaits(rounds=2)
    worker._stopping = recorded
    worker._loop()  # in this thread: two ticks, two waits
    assert recorded.waits == pytest.approx(waits)


def test_stop_waits_for_a_stuck_tick_only_its_bound(capsys: pytest.CaptureFixture[str]) -> None:
    release = threading.Event()
    worker = PeriodicWorker("test-stuck", lambda: release.wait(10), 0.01, join_seconds=0.1)
    worker.start()
    time.sleep(0.02)
    started = time.monotonic()
    worker.stop()
    assert time.monotonic() - started < 2.0
    assert "test-stuck: still in a tick" in capsys.readouterr().err
    release.set()


def test_stop_before_start_and_stop_from_its_own_tick() -> None:
    PeriodicWorker("test-never", lambda: None, 1.0).stop()
    holder: list[PeriodicWorker] = []
    ticks = []

    def tick() -> None:
        ticks.append(1)
        holder[0].stop()  # a tick may end its own loop: no join on itself

    holder.append(PeriodicWorker("test-self", tick, 0.001))
    holder[0].start()
    wait_until(lambda: not any(t.name == "test-self" for t in threading.enumerate()))
    assert ticks == [1]


def test_stop_all_asks_every_worker_before_waiting_for_any() -> None:
    """Checkers and players stop together: the second is asked while the first is still in its
    tick, so their last requests run side by side instead of one after another."""
    gate = threading.Event()
    in_tick = threading.Barrier(3)

    def tick() -> None:
        in_tick.wait(timeout=5)
        gate.wait(timeout=5)

    workers = [PeriodicWorker(f"test-all-{n}", tick, 1.0) for n in range(2)]
    for worker in workers:
        worker.start()
    in_tick.wait(timeout=5)  # both are in a tick
    stopping = threading.Thread(target=periodic.stop_all, args=(workers,))
    stopping.start()
    wait_until(lambda: all(worker._stopping.is_set() for worker in workers))
    assert stopping.is_alive()  # still waiting for the ticks in flight
    gate.set()
    stopping.join(timeout=5)
    assert not stopping.is_alive()
    assert not any(thread.name.startswith("test-all-") for thread in threading.enumerate())
