"""`opsctl drill`: the switch drill on the stack in use, guarded, planned, approved, marked.

1. guard: the stack is in steady state and no other drill holds the marker (else PreflightRefused,
   exit 4, one line naming what is off; nothing changed);
2. plan: what the drill will change and how it ends (exit 3 without approval);
3. the marker taken, the drill run (`runner.run_drill`), the marker released, the report
   written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from opsctl.change.audit import current_actor
from opsctl.cli import output
from opsctl.drill.guard import DrillMarker, steady_state_problems
from opsctl.drill.model import AbortLimits, DrillTarget
from opsctl.drill.report import DrillRun, ReportFiles, default_report_dir
from opsctl.drill.runner import report_run, run_drill
from opsctl.drill.switch_drill import SwitchDrill
from opsctl.errors import PreflightRefused
from opsctl.read.status import read_status


@dataclass(frozen=True)
class DrillSettings:
    """What the operator chose: the fallback's steps, its interval and the abort criteria."""

    steps: tuple[int, ...]
    interval: float  # seconds between fallback steps at AWS's timings
    limits: AbortLimits


def guard(target: DrillTarget) -> None:
    """PreflightRefused unless the stack is in steady state and no drill is running."""
    status = read_status(target.clients, target.topology)
    problems = steady_state_problems(status)
    if problems:
        raise PreflightRefused(f"not in steady state: {'; '.join(problems)}; nothing changed")
    DrillMarker(target.clients, target.topology).refuse_if_held()


def plan_lines(target: DrillTarget, settings: DrillSettings) -> list[str]:
    topology = target.topology
    primary, secondary = topology.primary.region, topology.secondary.region
    limits = settings.limits
    scale = target.time_scale
    steps = ", ".join(f"{p}%" for p in settings.steps)
    aborts = [f"--max-duration {limits.max_duration:g}s"] if limits.max_duration else []
    if limits.max_failed is not None:
        aborts.append(f"--max-failed {limits.max_failed}")
    return [
        f"switch drill {target.drill_id} on {topology.app} ({target.hostname}):",
        f"  1. flip the primary's ({primary}) failure switch to `failing` (audited)",
        f"  2. wait for its health alarm (at most {90 + 300 * scale:.0f}s)",
        f"  3. fail over: weights primary 0 / secondary 100 (compare-and-swap, audited); wait "
        f"until every player is served by {secondary}",
        "  4. heal: the switch back to `healthy` (audited); wait for the primary's alarms to clear",
        f"  5. fall back in steps {steps}, {settings.interval * scale:g}s apart, each gated on the "
        "primary's health (audited)",
        f"players: 3 through DNS ({target.dns}) for the whole drill; token from "
        f"{target.tokens.origin.describe}. They may fail only from the flip until the failover "
        "reaches them.",
        "abort (restores the switch and the weights as found: switch healthy, primary 100 / 0): "
        + ", ".join([*aborts, "Ctrl-C or SIGTERM"]),
        f"marker while it runs: SSM parameter {topology.names.drill_marker_parameter} in "
        f"{secondary}",
    ]


def rehearse(
    target: DrillTarget, settings: DrillSettings, report_dir: Path | None
) -> tuple[DrillRun, ReportFiles]:
    """Take the marker, run the switch drill, release the marker, write the report."""
    marker = DrillMarker(target.clients, target.topology)
    actor = current_actor(target.clients, target.topology.secondary.region)
    stale = marker.acquire(target.drill_id, actor.arn, settings.limits.max_duration or 3600.0)
    if stale is not None:
        output.warn(
            f"warning: took over the marker of drill {stale.drill_id} (started {stale.started} "
            f"by {stale.actor}), past its time"
        )
    try:
        drill = SwitchDrill(target, limits=settings.limits)
        drill.fallback_steps = settings.steps
        drill.fallback_interval = settings.interval
        run = run_drill(drill)
    finally:
        marker.release(target.drill_id)
    return run, report_run(run, report_dir or default_report_dir(drill.scenario.value))
