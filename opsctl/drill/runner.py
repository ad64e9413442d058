"""Running a drill, the same for `opsctl drill` and `opsctl sandbox drill`: the scenario's steps
while the players play; a failed check or an abort (--max-failed, --max-duration, Ctrl-C,
SIGTERM or SIGHUP) restoring what was found; the timeline and summary printed, the report
written.

The restore runs while the players still play (its effect is on the timeline). A second Ctrl-C
or SIGTERM during it does not stop it half-way: it is bounded, and each signal is answered with
a line saying it is still restoring; what it restored (or could not) is said and reported.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from rich.table import Table
from rich.text import Text

from opsctl.cli import output
from opsctl.drill.engine import Drill
from opsctl.drill.model import DrillAborted, DrillFailed, DrillReport
from opsctl.drill.report import DrillRun, ReportFiles, write_report
from opsctl.errors import OpsctlError


@contextlib.contextmanager
def signals_answered(say: Callable[[str], None], what: str) -> Iterator[None]:
    """While the block runs, Ctrl-C, SIGTERM and SIGHUP are answered with a line, not obeyed: the
    block is a bounded restore that must not be left half-done. Only in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    names = [name for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)]
    saved = {name: signal.getsignal(getattr(signal, name)) for name in names}

    def answer(signum: int, _frame: object) -> None:
        with contextlib.suppress(OSError):
            say(f"{signal.Signals(signum).name} received: still {what}; it is bounded, wait for it")

    for name in names:
        signal.signal(getattr(signal, name), answer)
    try:
        yield
    finally:
        for name, handler in saved.items():
            signal.signal(getattr(signal, name), handler)


def run_drill(drill: Drill, *, say: Callable[[str], None] = output.info) -> DrillRun:
    """Every step of the drill's scenario in order, players playing throughout. A failed check,
    an abort criterion or an interrupt ends it: what was found is then restored (and confirmed)
    before the players stop. The timeline is drawn either way."""
    found = drill.read_found()
    interrupted = False
    with drill:
        try:
            drill.run()
            outcome, reason = "passed", None
        except DrillFailed as failure:
            outcome, reason = "failed", str(failure)
        except DrillAborted as abort:
            outcome, reason = "aborted", str(abort)
        except KeyboardInterrupt as interrupt:
            signal_name = interrupt.args[0] if interrupt.args else "SIGINT"
            outcome, reason, interrupted = "aborted", f"interrupted by {signal_name}", True
        except OpsctlError as error:  # AWS did not answer a read, a change was refused, ...
            outcome, reason = "failed", error.message
        except Exception as error:  # a bug in opsctl: still restore what was found, and report
            outcome, reason = "failed", f"unexpected {type(error).__name__}: {error} (a bug)"
        restored = None
        if outcome != "passed":
            drill.mark(f"restoring as found (drill {outcome})")
            say(f"drill {outcome} ({reason}): restoring the switches and weights as found ...")
            with signals_answered(say, "restoring the stack as found"):
                restored = drill.restore(found, f"drill {outcome}")
            drill.mark("restored" if restored.confirmed else "restore NOT confirmed")
            for line in restored.lines():
                say(f"  {line}")
        drill.players.wait_recorded(drill.timeline.now())
    drill.report.phases = drill.failures_by_phase(drill.phases)
    output.stdout.print(drill.timeline_table())
    output.info(drill.players_summary())
    return DrillRun(drill, outcome, reason, restored, interrupted)


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


def show_summary(run: DrillRun) -> None:
    report = run.drill.report
    if report.shifts:
        output.stdout.print(summary_table(report))
    if report.measurements:
        output.stdout.print(measurements_table(report))
    if report.note:
        output.info(report.note)


def report_run(run: DrillRun, directory: Path) -> ReportFiles:
    """Print the summary and write the report directory (`conclude` says where, last)."""
    show_summary(run)
    files = write_report(run, directory)
    if files.missing_picture:
        output.warn(f"no timeline.svg: {files.missing_picture}")
    return files


def conclude(run: DrillRun, files: ReportFiles) -> int:
    """The verdict on stderr, then the report's path as the last line on stdout (the one line a
    script or a scheduler keeps); returns the exit code: 0 passed, 130 interrupted, else 1."""
    scenario = run.drill.report.scenario
    if run.restored is not None and not run.restored.confirmed:
        output.error(
            f"the stack is NOT back as found: {run.restored.now}"
            + (f"; {run.restored.error}" if run.restored.error else "")
        )
    if run.passed:
        output.info(f"{scenario} drill passed")
    else:
        restored = "restored as found" if run.restored and run.restored.confirmed else "see above"
        output.error(f"{scenario} drill {run.outcome}: {run.reason}; {restored}")
    output.stdout.print(f"report: {files.directory}", soft_wrap=True, markup=False, highlight=False)
    if run.passed:
        return 0
    return 130 if run.interrupted else 1
