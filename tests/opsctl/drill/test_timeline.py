"""The drill's timeline: bucketing of requests and events, and what the operator sees drawn."""

from __future__ import annotations

import pytest
from rich.console import Console

from opsctl.drill.timeline import (
    Timeline,
    failed,
    failure_reasons,
    intervals,
    pick_interval,
    render_timeline,
)

pytestmark = pytest.mark.unit  # pure logic: no emulator, no processes

EAST, WEST = "us-east-1", "us-west-2"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def outage_story() -> Timeline:
    """East serves, goes out (failures), DNS moves players to West after their TTL."""
    clock = FakeClock()
    timeline = Timeline(clock)
    for i in range(10):  # 0-4.5 s: east serves, 2 requests a second
        timeline.record(i * 0.5, EAST, True)
    clock.now = 105.0
    timeline.mark("us-east-1 out")
    for i in range(6):  # 5-7.5 s: every request fails
        timeline.record(5 + i * 0.5, None, False, "timed out" if i % 3 else "refused")
    clock.now = 108.2
    timeline.mark("DNS answers us-west-2")
    for i in range(4):  # 8-9.5 s: west serves
        timeline.record(8 + i * 0.5, WEST, True)
    return timeline


def render(timeline: Timeline, columns: int = 160, **kwargs: object) -> str:
    console = Console(width=columns, no_color=True, record=True)
    console.print(render_timeline(timeline, [EAST, WEST], **kwargs))
    return console.export_text()


def test_requests_are_counted_per_interval_by_serving_region_and_failure() -> None:
    rows = intervals(outage_story(), 2.0)
    assert [(row.start, row.served, row.failed) for row in rows] == [
        (0.0, {EAST: 4}, 0),
        (2.0, {EAST: 4}, 0),
        (4.0, {EAST: 2}, 2),
        (6.0, {}, 4),
        (8.0, {WEST: 4}, 0),
    ]
    assert [[e.label for e in row.events] for row in rows] == [
        [],
        [],
        ["us-east-1 out"],
        [],
        ["DNS answers us-west-2"],
    ]


def test_quiet_intervals_are_kept_and_a_late_event_extends_the_timeline() -> None:
    clock = FakeClock()
    timeline = Timeline(clock)
    timeline.record(0.2, EAST, True)
    clock.now += 7.0
    timeline.mark("restored")
    rows = intervals(timeline, 2.0)
    assert [row.total for row in rows] == [1, 0, 0, 0]
    assert [e.label for e in rows[3].events] == ["restored"]


def test_requests_sent_in_a_window_and_the_first_success_after_a_moment() -> None:
    timeline = outage_story()
    assert failed(timeline.between(5.0, 8.0)) == 6
    assert failure_reasons(timeline.samples) == {"timed out": 4, "refused": 2}
    assert failed(timeline.between(8.0)) == 0
    first = timeline.first_success(after=5.0)
    assert first is not None and (first.at, first.region) == (8.0, WEST)
    assert timeline.first_success(after=5.0, region=EAST) is None


def test_the_interval_is_a_round_number_that_keeps_the_table_short() -> None:
    assert pick_interval(10) == 0.5
    assert pick_interval(45) == 2.0
    assert pick_interval(150) == 5.0
    assert pick_interval(100_000) == 300.0
    with pytest.raises(ValueError):
        intervals(Timeline(), 0)


def test_the_drawn_timeline_shows_bars_counts_failures_and_events() -> None:
    text = render(outage_story(), width=2.0)
    lines = text.splitlines()
    assert "every 2 s" in text
    row = next(line for line in lines if line.strip().startswith("4s"))
    # 2 answered by east, 2 failed, one glyph each; the event with its time.
    assert "██xx" in row and "us-east-1 out (5.0s)" in row
    west = next(line for line in lines if line.strip().startswith("8s"))
    assert "▒▒▒▒" in west and "DNS answers us-west-2 (8.2s)" in west
    assert "█ us-east-1" in text and "▒ us-west-2" in text and "x failed" in text


def test_a_busy_interval_is_scaled_to_the_bar_width_without_losing_small_counts() -> None:
    timeline = Timeline(FakeClock())
    for i in range(399):
        timeline.record(i / 1000, EAST, True)
    timeline.record(0.5, None, False)
    text = render(timeline, width=1.0, bar_width=40)
    row = next(line for line in text.splitlines() if line.strip().startswith("0s"))
    assert row.count("█") == 40 and row.count("x") == 1  # 10 requests a block; 1 failure shows
    assert "one block = 10 requests" in text


def test_event_labels_are_text_not_markup() -> None:
    timeline = Timeline(FakeClock())
    timeline.mark("reason [bold]x[/] and [/]")
    assert "reason [bold]x[/] and [/]" in render(timeline)


@pytest.mark.parametrize("columns", [80, 100, 160])
def test_at_any_terminal_width_nothing_is_cut_off(columns: int) -> None:
    # The drill's own events are long; at 80 columns (a pipe) they wrap, never end in "…".
    timeline = outage_story()
    timeline.mark("approval -> lever alarm ALARM -> DNS answers us-west-2")
    text = render(timeline, columns=columns, width=2.0)
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= columns
    for header in ("requests", EAST, WEST, "failed", "events"):
        assert header in text
    words = " ".join(text.split())  # wrapped labels read whole once the lines are joined
    for word in ("approval", "lever", "ALARM", "DNS", "answers", "us-west-2"):
        assert word in words


def test_the_bar_takes_the_width_the_terminal_leaves() -> None:
    timeline = Timeline(FakeClock())
    for i in range(80):
        timeline.record(i / 100, EAST, True)
    narrow = render(timeline, columns=80, width=1.0)
    wide = render(timeline, columns=160, width=1.0)

    def blocks(text: str) -> int:
        return next(line for line in text.splitlines() if line.strip().startswith("0s")).count("█")

    assert blocks(narrow) < blocks(wide) == 40
