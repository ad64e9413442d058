"""`make demo`: both drills at once, each on a fresh sandbox of its own directory, their reports
printed one after the other.

Each drill spends most of its time waiting for CloudWatch minutes, which are wall-clock minutes
(the time scale does not shorten them: opsctl reads 1-minute datapoints as it does on AWS). Side by
side, the demo takes as long as the longer drill instead of the sum of both, and each drill still
runs, checks and measures exactly what it does alone (the other one's load included).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Group, RenderableType

from opsctl.cli import output
from opsctl.drill.report import default_report_dir
from opsctl.drill.scenario import Scenario

# One drill from start to teardown; alone each takes one to two and a half minutes.
DRILL_BOUND_SECONDS = 480.0
# A drill told to stop tears its sandbox down within this, or it is killed.
STOP_BOUND_SECONDS = 60.0
REPORT_FILES = ("report.md", "timeline.svg")


@dataclass(frozen=True)
class DrillRun:
    scenario: Scenario
    exit_code: int | None  # None: it did not finish within DRILL_BOUND_SECONDS and was stopped
    seconds: float
    report_dir: Path

    @property
    def written(self) -> list[Path]:
        """The report's files the drill wrote (report.md, timeline.svg)."""
        return [p for p in (self.report_dir / n for n in REPORT_FILES) if p.exists()]

    @property
    def passed(self) -> bool:
        return self.exit_code == 0

    @property
    def summary(self) -> dict[str, Any] | None:
        """The drill's summary (the last line of its events.jsonl); None when it wrote none."""
        try:
            lines = (self.report_dir / "events.jsonl").read_text().splitlines()
            last = json.loads(lines[-1]) if lines else None
        except (OSError, ValueError):
            return None
        return last if isinstance(last, dict) and last.get("type") == "summary" else None

    def verdict(self) -> str:
        if self.exit_code is None:
            return f"STOPPED after {self.seconds:.0f}s (over its {DRILL_BOUND_SECONDS:.0f}s bound)"
        return f"{'passed' if self.passed else 'FAILED'} in {self.seconds:.0f}s"


@dataclass
class _Running:
    scenario: Scenario
    process: subprocess.Popen[bytes]
    log: Path
    started: float
    report_dir: Path


def _child_environment() -> dict[str, str]:
    """The drills write to files: keep this terminal's width, and its colours unless NO_COLOR."""
    environment = {**os.environ, "COLUMNS": str(output.stdout.width)}
    if output.stdout.is_terminal and "NO_COLOR" not in os.environ:
        environment["FORCE_COLOR"] = "1"
    return environment


def drill_command(
    scenario: Scenario, sandbox: Path, time_scale: float, stack_file: Path, report_dir: Path
) -> list[str]:
    """One drill as the operator would run it, on the sandbox directory `sandbox`."""
    return [
        sys.executable, "-m", "opsctl", "sandbox", "drill", "--scenario", scenario.value,
        "--dir", str(sandbox), "--time-scale", str(time_scale), "--stack-file", str(stack_file),
        "--report-dir", str(report_dir),
    ]  # fmt: skip


def _start(scenario: Scenario, directory: Path, time_scale: float, stack_file: Path) -> _Running:
    sandbox = directory / scenario.value
    sandbox.mkdir(parents=True, exist_ok=True)
    log = sandbox / "drill.log"
    report_dir = default_report_dir(scenario.value)
    with log.open("wb") as sink:
        # A session of its own: a Ctrl-C here reaches the drills once, from _stop, not twice.
        process = subprocess.Popen(
            drill_command(scenario, sandbox, time_scale, stack_file, report_dir),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=_child_environment(),
            start_new_session=True,
        )
    return _Running(scenario, process, log, time.monotonic(), report_dir)


def _stop(running: _Running) -> None:
    """Ask a drill to tear down (SIGINT, as Ctrl-C would), then kill it at STOP_BOUND_SECONDS."""
    if running.process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        running.process.send_signal(signal.SIGINT)
    try:
        running.process.wait(timeout=STOP_BOUND_SECONDS)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(running.process.pid, signal.SIGKILL)
        running.process.wait(timeout=STOP_BOUND_SECONDS)


def _finish(running: _Running, deadline: float) -> DrillRun:
    """Wait for one drill (until `deadline`), then print its whole report."""
    try:
        exit_code: int | None = running.process.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        _stop(running)
        exit_code = None
    seconds = time.monotonic() - running.started
    sys.stdout.flush()
    with running.log.open("rb") as report:
        sys.stdout.buffer.write(report.read())
    sys.stdout.flush()
    if exit_code is None:
        output.error(
            f"the {running.scenario} drill did not finish within {DRILL_BOUND_SECONDS:.0f}s; "
            "it was stopped and its sandbox torn down"
        )
    return DrillRun(running.scenario, exit_code, seconds, running.report_dir)


def run_demo(directory: Path, time_scale: float, stack_file: Path) -> list[DrillRun]:
    """Run every scenario at once, print each report in order, always stop every drill."""
    output.info(
        f"starting the {' and '.join(s.value for s in Scenario)} drills side by side, each on its "
        f"own sandbox under {directory} (each bounded to {DRILL_BOUND_SECONDS:.0f}s); their "
        "reports follow one after the other"
    )
    started = time.monotonic()
    running = [_start(scenario, directory, time_scale, stack_file) for scenario in Scenario]
    try:
        runs: list[DrillRun] = []
        for index, drill in enumerate(running):
            if index:
                output.info(f"the {drill.scenario} drill (started with the others) reports next")
            runs.append(_finish(drill, drill.started + DRILL_BOUND_SECONDS))
        return runs
    finally:
        for drill in running:
            _stop(drill)
        output.info(f"demo done in {time.monotonic() - started:.0f}s")


# The measurements a reader of the demo looks for first, by the start of their name.
HEADLINE_MEASUREMENTS = ("approval → every player served", "approval → first player served")


def demo_summary(runs: list[DrillRun]) -> RenderableType:
    """Both drills in a few lines, the last thing the demo prints on stdout: each one's verdict,
    its requests and failures by phase (they add up to the total), its recovery time and where
    its report is."""
    lines = [output.text("demo summary", style="bold")]
    for run in runs:
        summary = run.summary or {}
        lines.append(output.text(f"  {run.scenario}: {run.verdict()}"))
        if summary:
            failing = [p for p in summary.get("phases", []) if p.get("failed")]
            where = ", ".join(f"{p['failed']} {p['phase']}" for p in failing)
            lines.append(
                output.text(
                    f"    players: {summary.get('requests')} requests, "
                    f"{summary.get('failed')} failed" + (f" ({where})" if where else "")
                )
            )
            for measurement in summary.get("measurements", []):
                what = str(measurement.get("what", ""))
                if what.startswith(HEADLINE_MEASUREMENTS) or what.startswith("requests in flight"):
                    lines.append(output.text(f"    {what}: {measurement.get('value')}"))
        files = ", ".join(str(path) for path in run.written) or "none written"
        lines.append(output.text(f"    report: {files}"))
    return Group(*lines)
