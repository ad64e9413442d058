"""Players using the game through the shared hostname for a whole drill, each request on the
drill's timeline."""

from __future__ import annotations

import time
from collections.abc import Callable

from opsctl.drill.timeline import Timeline
from opsctl.periodic import PeriodicWorker, stop_all
from opsctl.read.probe import DEFAULT_TIMEOUT_SECONDS, ApiResponse, Resolver

# Players sending requests through the shared hostname for the whole drill. A player waits for
# each answer (at most PLAYER_TIMEOUT_SECONDS, the probe's: a black-holed Region costs it that
# much), then pauses before the next request.
PLAYERS = 3
PLAYER_PAUSE_SECONDS = 0.05
PLAYER_TIMEOUT_SECONDS = DEFAULT_TIMEOUT_SECONDS


class Players:
    """Players using the game through the shared hostname from the drill's start to its end, one
    thread each with its own resolver; every request goes on the timeline, stamped when sent."""

    def __init__(
        self,
        timeline: Timeline,
        new_resolver: Callable[[], Resolver],
        send: Callable[[Resolver], ApiResponse],
        count: int = PLAYERS,
        pause_seconds: float = PLAYER_PAUSE_SECONDS,
    ) -> None:
        self._timeline = timeline
        self._new_resolver = new_resolver
        self._send = send
        self._in_flight: dict[int, float] = {}  # player -> when its request was sent
        self._workers = [
            PeriodicWorker(
                f"drill-player-{n}",
                self._player(n),
                pause_seconds,
                join_seconds=PLAYER_TIMEOUT_SECONDS + 1.0,
            )
            for n in range(count)
        ]

    def _player(self, n: int) -> Callable[[], None]:
        """Player `n`'s next request, through its own resolver (made on its first request)."""
        resolvers: list[Resolver] = []

        def play() -> None:
            if not resolvers:
                resolvers.append(self._new_resolver())
            sent_at = self._timeline.now()
            self._in_flight[n] = sent_at
            response = self._send(resolvers[0])
            error = None if response.ok else (response.error or f"HTTP {response.status}")
            self._timeline.record(sent_at, response.region, response.ok, error, player=n)
            self._in_flight.pop(n, None)

        return play

    def wait_recorded(self, until: float) -> None:
        """Until every request sent before `until` (timeline seconds) is on the timeline: a
        request is recorded when its answer (or its timeout) comes. Bounded by that timeout."""
        deadline = time.monotonic() + PLAYER_TIMEOUT_SECONDS + 1.0
        while any(sent < until for sent in list(self._in_flight.values())):
            if time.monotonic() > deadline:
                return  # a player stuck past its own timeout is counted as it stands
            time.sleep(0.01)

    @property
    def count(self) -> int:
        return len(self._workers)

    def start(self) -> None:
        for worker in self._workers:
            worker.start()

    def stop(self) -> None:
        """Stop sending; each player finishes its request in flight (bounded by its timeout)."""
        stop_all(self._workers)
