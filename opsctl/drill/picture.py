"""The drill's timeline as a picture (timeline.svg): requests per second per Region over time,
failures, and the drill's events as labelled markers. Drawn with matplotlib, the optional extra
`opsctl[report]`; `picture_available` says whether it is installed."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from opsctl.drill.timeline import Timeline, intervals, pick_interval

INSTALL_HINT = (
    "matplotlib is not installed: `make install` in the repository installs it "
    "(or `pip install -e '.[report]'` there)"
)
# Colours per Region in the order given (primary first), failures red: as in the terminal.
REGION_COLOURS = ("#1f77b4", "#2ca02c", "#9467bd", "#17becf")
FAILED_COLOUR = "#d62728"
MAX_BARS = 300  # the picture's resolution: at most this many intervals
MAX_LISTED_EVENTS = 45


def picture_available() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def draw_timeline(timeline: Timeline, regions: Sequence[str], path: Path, title: str) -> None:
    """Write the timeline to `path` (SVG, text kept as text so names stay searchable)."""
    import matplotlib

    matplotlib.use("Agg")  # no display: a file only
    import matplotlib.pyplot as plt

    matplotlib.rcParams["svg.fonttype"] = "none"
    width = pick_interval(timeline.now(), max_rows=MAX_BARS)
    rows = intervals(timeline, width)
    starts = [row.start for row in rows]
    figure, (axes, legend) = plt.subplots(
        1, 2, figsize=(14, 5), layout="constrained", gridspec_kw={"width_ratios": [3, 1]}
    )
    try:
        bottom = [0.0] * len(rows)
        for index, region in enumerate(regions):
            rates = [row.served.get(region, 0) / width for row in rows]
            axes.bar(
                starts, rates, width=width, bottom=bottom, align="edge", label=f"{region} served",
                color=REGION_COLOURS[index % len(REGION_COLOURS)], linewidth=0,
            )  # fmt: skip
            bottom = [b + r for b, r in zip(bottom, rates, strict=True)]
        failures = [row.failed / width for row in rows]
        axes.bar(
            starts, failures, width=width, bottom=bottom, align="edge", label="failed",
            color=FAILED_COLOUR, linewidth=0,
        )  # fmt: skip
        top = max([b + f for b, f in zip(bottom, failures, strict=True)] + [1.0]) * 1.15
        # Each event a dashed line numbered at the top (staggered: close events stay readable);
        # the numbers' labels are listed beside the chart.
        events = timeline.events
        for number, event in enumerate(events, start=1):
            axes.axvline(event.at, color="#555555", linewidth=0.7, linestyle="--")
            axes.text(
                event.at, top * (0.98 - 0.04 * (number % 3)), str(number), fontsize=7,
                ha="center", va="top",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "#999999"},
            )  # fmt: skip
        listed = [f"{n}. {e.at:6.1f}s  {e.label}" for n, e in enumerate(events, start=1)]
        if len(listed) > MAX_LISTED_EVENTS:
            listed = [*listed[: MAX_LISTED_EVENTS - 1], f"... {len(events)} events in all"]
        legend.axis("off")
        legend.text(0, 1, "events\n" + "\n".join(listed), fontsize=7, va="top", family="monospace")
        axes.set_xlim(0, max(rows[-1].end, 1.0))
        axes.set_ylim(0, top)
        axes.set_xlabel("seconds since the drill started")
        axes.set_ylabel(f"requests per second (every {width:g} s)")
        axes.set_title(title)
        axes.legend(loc="upper left", bbox_to_anchor=(0, -0.12), ncol=len(regions) + 1, fontsize=8)
        figure.savefig(path, format=path.suffix.lstrip(".") or "svg")
    finally:
        plt.close(figure)
