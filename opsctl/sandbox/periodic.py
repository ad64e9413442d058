"""One background loop for every part of the sandbox that does something every so often."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable

# How long `stop` waits for the tick in flight; every tick is itself bounded well below this
# (a health check's request 2 s, a player's 5 s, a CloudWatch or DynamoDB call its client's).
DEFAULT_JOIN_SECONDS = 10.0


class PeriodicWorker:
    """Calls `tick` on a named daemon thread every `interval_seconds` until `stop`.

    The interval runs from the end of one tick to the start of the next, or with `fixed_rate`
    from the start of one to the start of the next (a schedule a slow tick does not push back).
    A tick that returns False ends the loop by itself (its work is done). A tick that raises ends
    the loop too, reported by the thread: a tick catches what it can live with.
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
        self._tick = tick
        self._interval = interval_seconds
        self._fixed_rate = fixed_rate
        self._join_seconds = join_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=name)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the loop to end and wait for the tick in flight, at most `join_seconds` (a thread
        still running after that is left behind: it is a daemon and does nothing more)."""
        self._stop.set()
        if not self._thread.is_alive() or self._thread is threading.current_thread():
            return
        self._thread.join(timeout=self._join_seconds)
        if self._thread.is_alive():
            print(
                f"{self.name}: still in a tick {self._join_seconds:.0f}s after stop; left behind",
                file=sys.stderr,
                flush=True,
            )

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            if self._tick() is False:
                return
            elapsed = time.monotonic() - started if self._fixed_rate else 0.0
            self._stop.wait(max(0.0, self._interval - elapsed))
