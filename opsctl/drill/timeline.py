"""The drill as a timeline: players' requests per interval by serving Region, failures, events.

A `Timeline` records, against one clock, every player request (when it was sent, which Region
answered, whether it succeeded) and the drill's events ("us-east-1 out", "failover approved").
`render_timeline` draws it for the terminal: one row per interval, a bar made of one block per
request (each Region its own colour and glyph, failures red `x`, so it reads without colour too),
the counts, and the events that happened in that interval. The bar takes what the terminal's width
leaves after the other columns, so that at 80 columns (a pipe's width) nothing is cut off.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

# Interval widths the renderer picks from (seconds): round numbers an operator reads at a glance.
NICE_INTERVALS = (0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0)
MAX_ROWS = 40
BAR_WIDTH = 40  # the widest bar; narrower when the terminal is
MIN_BAR_WIDTH = 10
EVENTS_MIN_WIDTH = 22  # the events column wraps its labels to this, never cuts them
# Each serving Region's bar segment, in the order the Regions are given (primary first).
REGION_STYLES = (("█", "blue"), ("▒", "green"), ("▓", "magenta"), ("░", "cyan"))
FAILED_STYLE = ("x", "bold red")


@dataclass(frozen=True)
class RequestSample:
    at: float  # seconds since the timeline started, when the request was sent
    region: str | None  # the Region that answered (None: no answer naming one)
    ok: bool
    error: str | None = None  # why it failed: the HTTP status or the client's error
    player: int | None = None  # which player sent it


@dataclass(frozen=True)
class Event:
    at: float  # seconds since the timeline started
    label: str


@dataclass(frozen=True)
class Interval:
    start: float
    end: float
    served: dict[str, int]  # successful requests per serving Region
    failed: int
    events: tuple[Event, ...]

    @property
    def total(self) -> int:
        return sum(self.served.values()) + self.failed


class Timeline:
    """Thread-safe record of requests and events; times are seconds since it was created."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._origin = clock()
        self._lock = threading.Lock()
        self._samples: list[RequestSample] = []
        self._events: list[Event] = []

    def now(self) -> float:
        return self._clock() - self._origin

    def record(
        self,
        sent_at: float,
        region: str | None,
        ok: bool,
        error: str | None = None,
        player: int | None = None,
    ) -> RequestSample:
        sample = RequestSample(sent_at, region, ok, error, player)
        with self._lock:
            self._samples.append(sample)
        return sample

    def mark(self, label: str) -> float:
        """An event now; returns its time."""
        event = Event(self.now(), label)
        with self._lock:
            self._events.append(event)
        return event.at

    @property
    def samples(self) -> list[RequestSample]:
        with self._lock:
            return sorted(self._samples, key=lambda sample: sample.at)

    @property
    def events(self) -> list[Event]:
        with self._lock:
            return sorted(self._events, key=lambda event: event.at)

    def between(self, start: float, end: float = math.inf) -> list[RequestSample]:
        """Requests sent in [start, end)."""
        return [sample for sample in self.samples if start <= sample.at < end]

    def first_success(self, after: float, region: str | None = None) -> RequestSample | None:
        """The first successful request sent at or after `after` (answered by `region`)."""
        return next(
            (
                sample
                for sample in self.between(after)
                if sample.ok and (region is None or sample.region == region)
            ),
            None,
        )


def failed(samples: Sequence[RequestSample]) -> int:
    return sum(not sample.ok for sample in samples)


def failure_reasons(samples: Sequence[RequestSample]) -> dict[str, int]:
    """Failed requests per reason, most frequent first."""
    reasons = Counter(sample.error or "unknown" for sample in samples if not sample.ok)
    return dict(reasons.most_common())


def pick_interval(duration: float, max_rows: int = MAX_ROWS) -> float:
    """The smallest round interval that draws `duration` seconds in at most `max_rows` rows."""
    for width in NICE_INTERVALS:
        if duration / width <= max_rows:
            return width
    return NICE_INTERVALS[-1]


def intervals(timeline: Timeline, width: float, end: float | None = None) -> list[Interval]:
    """Consecutive intervals of `width` seconds from 0 to the last request or event (or `end`),
    empty ones included: a gap in the traffic is part of the story."""
    if width <= 0:
        raise ValueError("the interval width must be positive")
    samples, events = timeline.samples, timeline.events
    last = max([s.at for s in samples] + [e.at for e in events] + [end or 0.0])
    count = max(1, math.floor(last / width) + 1)
    served: list[Counter[str]] = [Counter() for _ in range(count)]
    failures = [0] * count
    marked: list[list[Event]] = [[] for _ in range(count)]
    for sample in samples:
        index = min(count - 1, max(0, math.floor(sample.at / width)))
        if sample.ok:
            served[index][sample.region or "-"] += 1
        else:
            failures[index] += 1
    for event in events:
        marked[min(count - 1, max(0, math.floor(event.at / width)))].append(event)
    return [
        Interval(i * width, (i + 1) * width, dict(served[i]), failures[i], tuple(marked[i]))
        for i in range(count)
    ]


def _styles(regions: Sequence[str]) -> dict[str, tuple[str, str]]:
    return {region: REGION_STYLES[i % len(REGION_STYLES)] for i, region in enumerate(regions)}


def _bar(interval: Interval, regions: Sequence[str], scale: int) -> Text:
    """One block per `scale` requests, each segment rounded up so no count disappears."""
    styles = _styles(regions)
    bar = Text()
    segments = [(interval.served.get(region, 0), styles[region]) for region in regions]
    others = sum(n for region, n in interval.served.items() if region not in styles)
    segments += [(others, ("?", "yellow")), (interval.failed, FAILED_STYLE)]
    for count, (glyph, style) in segments:
        if count:
            bar.append(glyph * max(1, math.ceil(count / scale)), style=style)
    return bar


def render_timeline(
    timeline: Timeline,
    regions: Sequence[str],
    *,
    title: str = "timeline",
    width: float | None = None,
    bar_width: int | None = None,
) -> TimelineView:
    """The timeline as a table: per interval, a bar of requests by serving Region and failures,
    the counts, and the events (their text is shown as is, never read as markup). The bar is
    `bar_width` blocks wide, else as wide as the terminal allows (at most BAR_WIDTH)."""
    return TimelineView(timeline, tuple(regions), title, width, bar_width)


@dataclass(frozen=True)
class TimelineView:
    """Drawn when printed, so that the bar fits the width it is printed at."""

    timeline: Timeline
    regions: tuple[str, ...]
    title: str
    width: float | None
    bar_width: int | None

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        # Bucketed once: the bar's width and the table are drawn from the same rows, even while
        # players are still adding requests.
        rows = intervals(self.timeline, self.width or pick_interval(self.timeline.now()))
        yield self.table(rows, self.bar_width or self.fitting_bar_width(rows, options.max_width))

    def fitting_bar_width(self, rows: Sequence[Interval], columns: int) -> int:
        """What `columns` leave for the bar after the other columns, their padding and rules."""
        times = max(len(f"{row.start:g}s") for row in rows)
        counts = [max(len(region), 4) for region in self.regions] + [len("failed")]
        fixed = times + sum(counts) + EVENTS_MIN_WIDTH
        columns_count = 3 + len(counts)
        chrome = 2 * columns_count + (columns_count - 1)  # padding of 1 each side, one rule between
        return max(MIN_BAR_WIDTH, min(BAR_WIDTH, columns - fixed - chrome))

    def table(self, rows: Sequence[Interval], bar_width: int) -> Table:
        step = rows[0].end - rows[0].start
        busiest = max((row.total for row in rows), default=0)
        scale = max(1, math.ceil(busiest / bar_width))  # requests per block, a whole number
        styles = _styles(self.regions)
        legend = Text("one block = ")
        legend.append(f"{scale} request{'s' if scale != 1 else ''}: ")
        for region in self.regions:
            glyph, style = styles[region]
            legend.append(glyph, style=style)
            legend.append(f" {region}  ")
        legend.append(FAILED_STYLE[0], style=FAILED_STYLE[1])
        legend.append(" failed")
        table = Table(title=f"{self.title} (every {step:g} s)", caption=legend, show_edge=False)
        table.add_column("t", justify="right", no_wrap=True)
        table.add_column("requests", no_wrap=True, min_width=bar_width)
        for region in self.regions:
            table.add_column(region, justify="right", no_wrap=True)
        table.add_column("failed", justify="right", no_wrap=True)
        table.add_column("events", min_width=EVENTS_MIN_WIDTH)
        for row in rows:
            table.add_row(
                f"{row.start:g}s",
                _bar(row, self.regions, scale),
                *(str(row.served.get(region, 0) or "") for region in self.regions),
                Text(str(row.failed), style=FAILED_STYLE[1]) if row.failed else "",
                Text("; ".join(f"{event.label} ({event.at:.1f}s)" for event in row.events)),
            )
        return table
