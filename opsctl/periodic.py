"""One background loop for every part of opsctl that does something every so often: the
sandbox's emulated AWS services and the drill's players and watches."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterable

# How long `stop` waits for the tick in flight; every tick is itself bounded well below this
# (a health check's request 2 s, a player's 5 s, a CloudWatch or DynamoDB call its client's).
DEFAULT_JOIN_SECONDS = 10.0


class PeriodicWorker:
    """Calls `tick` on a named daemon thread every `interval_seconds` until `stop`.

    The interval runs from the end of one tick to the start of the next, or with `fixed_rate`
    from the start of one to the start of the next (a schedule a slow tick does not push back).
    A tick that returns False ends the loop by itself (its work is done). A tick that raises ends
    the loop too, reported by the thread: a tick catches what it can live with.

    A part with one loop is a PeriodicWorker (it passes its own tick); a part with several holds
    them and stops them with `stop_all`.
    """

    def __init__(
        self,
        name: str,
        tick: Callable[[], bool | None],
        interval_seconds: float,
        *,
        fixed_rate: bool = False,
        join_seconds: float = DEFAULT_JOIN_SECONDS,
    ) -> None:
        self.name = name
        self._tick_once = tick
        self._interval_seconds = interval_seconds
        self._fixed_rate = fixed_rate
        self._join_seconds = join_seconds
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name=name)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the loop to end and wait for the tick in flight (see `wait_stopped`)."""
        self.request_stop()
        self.wait_stopped()

    def request_stop(self) -> None:
        """Ask the loop to end after the tick in flight; returns at once."""
        self._stopping.set()

    def wait_stopped(self) -> None:
        """Wait for the tick in flight, at most `join_seconds` (a thread still running after that
        is left behind: it is a daemon and starts no other tick)."""
        if not self._thread.is_alive() or self._thread is threading.current_thread():
            return
        self._thread.join(timeout=self._join_seconds)
        if self._thread.is_alive():
            print(
                f"{self.name}: still in a tick {self._join_seconds:.0f}s after stop; left behind",
                file=sys.stderr,
                flush=True,
            )

    def _loop(self) -> None:
        while not self._stopping.is_set():
            started = time.monotonic()
            if self._tick_once() is False:
                return
            elapsed = time.monotonic() - started if self._fixed_rate else 0.0
            self._stopping.wait(max(0.0, self._interval_seconds - elapsed))


def stop_all(workers: Iterable[PeriodicWorker]) -> None:
    """Stop several workers together: each is asked first, so their ticks in flight end side by
    side instead of one after another."""
    workers = list(workers)
    for worker in workers:
        worker.request_stop()
    for worker in workers:
        worker.wait_stopped()
