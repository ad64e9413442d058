"""Conditions watched in the background during a drill, each marked on the timeline when it first
holds, so a drill can wait for several signals at once and still tell when each came."""

from __future__ import annotations

import time
from collections.abc import Callable

from opsctl.drill.model import DrillFailed
from opsctl.periodic import PeriodicWorker


class Watch:
    """Polls conditions in the background and marks on the timeline when each first holds; a
    condition that raises (a read that timed out) has not held yet."""

    def __init__(
        self,
        mark: Callable[[str], float],
        conditions: dict[str, Callable[[], bool]],
        poll_seconds: float,
    ) -> None:
        self._mark = mark
        self._conditions = dict(conditions)
        self._poll = poll_seconds
        self.seen: dict[str, float] = {}
        self._worker = PeriodicWorker("drill-watch", self._look, poll_seconds)

    def _look(self) -> bool:
        """Marks what holds now; False (done) once every condition has held."""
        for label, condition in self._conditions.items():
            if label in self.seen:
                continue
            try:
                held = condition()
            except Exception:
                held = False
            if held:
                self.seen[label] = self._mark(label)
        return len(self.seen) < len(self._conditions)

    def __enter__(self) -> Watch:
        self._worker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._worker.stop()

    def wait(self, label: str, timeout: float) -> float:
        """When `label` first held (timeline seconds), waiting at most `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while label not in self.seen:
            if time.monotonic() > deadline:
                raise DrillFailed(f"timed out after {timeout:.0f}s waiting for: {label}")
            time.sleep(self._poll)
        return self.seen[label]
