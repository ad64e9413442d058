"""The drill's players: each with its own resolver, every request on the timeline, a window
counted once the requests sent in it have answered."""

from __future__ import annotations

import threading
import time

from opsctl.drill.players import Players
from opsctl.drill.timeline import Timeline
from opsctl.read.probe import ApiResponse, Resolver
from tests.opsctl.drill.conftest import CountingResolver


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
