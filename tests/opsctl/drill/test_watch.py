"""Conditions watched in the background during a drill, each marked when it first holds."""

from __future__ import annotations

import threading

import pytest

from opsctl.drill.model import DrillFailed
from opsctl.drill.timeline import Timeline
from opsctl.drill.watch import Watch


def test_a_watch_marks_when_each_condition_first_holds_and_bounds_the_wait() -> None:
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
