"""Running a drill: the scenario's class, its run against a sandbox with the timeline drawn, and
`opsctl sandbox drill` (a fresh sandbox, the drill, the summary, the teardown)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from rich.table import Table
from rich.text import Text

from opsctl import output
from opsctl.drill.engine import Drill, DrillReport, sandbox_environment
from opsctl.drill.outage_drill import RegionOutageDrill
from opsctl.drill.scenario import Scenario
from opsctl.drill.switch_drill import SwitchDrill
from opsctl.sandbox.processes import SandboxOptions
from opsctl.sandbox.state import SandboxState


def drill_class(scenario: Scenario) -> type[Drill]:
    return RegionOutageDrill if scenario is Scenario.REGION_OUTAGE else SwitchDrill


def run_drill(
    state: SandboxState,
    scenario: Scenario = Scenario.SWITCH,
    say: Callable[[str], None] = output.info,
) -> DrillReport:
    """Every step of `scenario` in order against a running sandbox, players playing throughout;
    raises DrillFailed on the first bad check. The timeline is drawn either way."""
    with sandbox_environment(state):
        drill = drill_class(scenario)(state, say=say)
        try:
            with drill:
                return drill.run()
        finally:
            output.stdout.print(drill.timeline_table())
            output.info(drill.players_summary())


def summary_table(report: DrillReport) -> Table:
    table = Table(title=f"{report.scenario} drill summary")
    table.add_column("shift")
    table.add_column("detection", justify="right")
    table.add_column("approval → INSYNC", justify="right")
    table.add_column("requests during shift", justify="right")
    table.add_column("failed", justify="right")
    for shift in report.shifts:
        table.add_row(
            shift.shift,
            f"{shift.detection_seconds:.1f}s",
            f"{shift.approval_to_insync_seconds:.2f}s",
            str(shift.requests),
            str(shift.failed),
        )
    return table


def measurements_table(report: DrillReport) -> Table:
    table = Table(title=f"{report.scenario} drill measurements")
    table.add_column("measured")
    table.add_column("value", justify="right")
    table.add_column("check")
    verdicts = {True: Text("ok", style="green"), False: Text("FAILED", style="bold red")}
    for measurement in report.measurements:
        verdict = verdicts[measurement.ok] if measurement.ok is not None else Text("")
        table.add_row(measurement.what, measurement.value, verdict)
    return table


def run_drill_command(options: SandboxOptions, scenario: Scenario = Scenario.SWITCH) -> DrillReport:
    """Start a fresh sandbox, run the drill, print the timeline and the summary, and always tear
    down what it started (also on Ctrl-C, SIGTERM or SIGHUP: `opsctl.cli.main` turns them into
    KeyboardInterrupt). A sandbox that was already running is refused and left alone."""
    from opsctl.sandbox.lifecycle import start_background, stop_background

    output.info(f"{scenario} drill: starting a fresh sandbox (time scale {options.time_scale}) ...")
    started = time.monotonic()
    state = start_background(options)  # on failure it has stopped what it started
    try:
        output.info(f"sandbox up in {time.monotonic() - started:.1f}s: {state.hostname}")
        report = run_drill(state, scenario)
        if report.shifts:
            output.stdout.print(summary_table(report))
        if report.measurements:
            output.stdout.print(measurements_table(report))
        output.info(f"{report.note} Intervals scaled by {options.time_scale}; see docs/sandbox.md")
        return report
    finally:
        # Nothing may stand between here and the teardown: not even a closed stdout or stderr
        # (a pipe whose reader went away), which makes any print raise.
        with contextlib.suppress(OSError):
            output.info("tearing the sandbox down ...")
        stopped = stop_background(options.directory, started_pid=state.supervisor_pid)
        with contextlib.suppress(OSError):
            if stopped.leftover_addresses or stopped.leftover_pids:
                output.warn(
                    f"left after teardown: listening {stopped.leftover_addresses}, "
                    f"pids {stopped.leftover_pids}"
                )
            else:
                output.info("sandbox stopped; no process or port left")
