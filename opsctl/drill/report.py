"""A drill's report directory, written for every run (aborted ones too):

- `report.md`: what ran, the outcome (and what an abort restored), the measurements beside what
  the stack's documentation expects on AWS, the fallback's step gates, failures per phase, and
  every step with its timestamps;
- `timeline.svg`: the picture (`picture.py`; only with the `report` extra);
- `events.jsonl`: every event, step and request bucket, and the summary, one JSON object a line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opsctl.drill.engine import Drill
from opsctl.drill.model import Restored
from opsctl.drill.picture import INSTALL_HINT, draw_timeline, picture_available
from opsctl.drill.timeline import failed, failure_reasons, intervals

# What docs/opsctl.md says to expect on AWS (time scale 1), by the measurement's name.
EXPECTED_ON_AWS = {
    "detection": "the switch's 5 s cache + FailureThreshold x RequestInterval (the example stack: "
    "2 x 10 s) + one 60 s alarm period: about 1-3 min",
    "decision": "the operator's: seconds when approved in advance (a drill), minutes when paged",
    "approval → INSYNC (failover)": "under 60 s (Route 53 propagation)",
    "approval → every player": "by the weights INSYNC (< 60 s) + the alias answer's TTL (60 s); "
    "by the lever the alarm period + the health check's threshold + the TTL, about 2-3 min",
    "approval → INSYNC (fallback": "under 60 s per step, plus the interval between steps",
}
BUCKET_SECONDS = 1.0  # events.jsonl's request buckets


@dataclass(frozen=True)
class DrillRun:
    """How a drill ended: passed | failed (a check) | aborted (a criterion or a signal), why,
    and what was restored."""

    drill: Drill
    outcome: str
    reason: str | None
    restored: Restored | None
    interrupted: bool = False  # by Ctrl-C, SIGTERM or SIGHUP (exit 130)

    @property
    def passed(self) -> bool:
        return self.outcome == "passed"


@dataclass(frozen=True)
class ReportFiles:
    directory: Path
    picture: Path | None  # None: matplotlib is not installed
    missing_picture: str | None  # how to get it


def default_report_dir(scenario: str, now: datetime | None = None) -> Path:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return Path("drills") / f"{stamp}-{scenario}"


def _utc(drill: Drill, at: float) -> str:
    moment = datetime.fromtimestamp(drill.started_wall + at, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _expected(what: str) -> str:
    return next((text for key, text in EXPECTED_ON_AWS.items() if what.startswith(key)), "")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    def cell(value: str) -> str:
        return value.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return [*lines, ""]


def report_markdown(run: DrillRun, picture: bool) -> str:
    drill = run.drill
    target = drill.target
    report = drill.report
    samples = drill.timeline.samples
    lines = [
        f"# {report.scenario} drill: {run.outcome.upper()}",
        "",
        f"- drill id: `{target.drill_id}`",
        f"- app: `{drill.topology.app}`, shared hostname `{drill.hostname}`",
        f"- primary {drill.topology.primary.region}, secondary {drill.topology.secondary.region}",
        f"- started {_utc(drill, 0.0)}, ran {drill.timeline.now():.1f} s",
        f"- reason (audited with every change): {target.reason}",
        f"- players: {drill.players.count}, DNS: {target.dns}, token: "
        f"{target.tokens.origin.describe} (renewed {target.tokens.refreshes} times)",
        f"- time scale: {target.time_scale:g}"
        + ("" if target.time_scale == 1 else " (the sandbox: AWS's intervals scaled)"),
        "",
        "## Outcome",
        "",
        f"**{run.outcome}**" + (f": {run.reason}" if run.reason else ""),
        "",
    ]
    if run.restored is not None:
        lines += ["Restored as found:", ""]
        lines += [f"- {line}" for line in run.restored.lines()]
        lines.append("")
    if picture:
        lines += ["![timeline](timeline.svg)", ""]
    lines += ["## Measurements", ""]
    lines += _table(
        ["measured", "value", "expected on AWS (docs/opsctl.md)"],
        [[m.what, m.value, _expected(m.what)] for m in report.measurements],
    )
    if report.shifts:
        lines += ["## Shifts", ""]
        lines += _table(
            ["shift", "detection", "approval → INSYNC", "requests", "failed"],
            [
                [s.shift, f"{s.detection_seconds:.1f}s", f"{s.approval_to_insync_seconds:.1f}s",
                 str(s.requests), str(s.failed)]
                for s in report.shifts
            ],
        )  # fmt: skip
    if report.gates:
        lines += ["## Fallback step gates", ""]
        lines += _table(
            ["step", "weights", "gate passed (UTC)", "INSYNC after", "requests", "failed"],
            [
                [g.step, g.weights, _utc(drill, g.gate_passed_at), f"{g.insync_seconds:.1f}s",
                 str(g.requests), str(g.failed)]
                for g in report.gates
            ],
        )  # fmt: skip
    if report.phases:
        lines += ["## Failures per phase", ""]
        lines += _table(
            ["phase", "from (UTC)", "requests", "failed"],
            [
                [p.phase, _utc(drill, p.start), str(p.requests), str(p.failed)]
                for p in report.phases
            ],
        )
    reasons = ", ".join(f"{n} x {why}" for why, n in failure_reasons(samples).items())
    lines += [
        "## Players",
        "",
        f"{len(samples)} requests, {failed(samples)} failed"
        + (f" ({reasons})" if reasons else "")
        + f"; {drill.unexpected_failures()} outside the detection window.",
        "",
        "## Steps",
        "",
    ]
    lines += _table(
        ["#", "UTC", "t", "step"],
        [[str(s.number), _utc(drill, s.at), f"{s.at:.1f}s", s.text] for s in report.steps],
    )
    lines += ["## Events", ""]
    lines += _table(
        ["UTC", "t", "event"],
        [[_utc(drill, e.at), f"{e.at:.1f}s", e.label] for e in drill.timeline.events],
    )
    if report.checks:
        lines += ["## Checks that held", ""] + [f"- {check}" for check in report.checks] + [""]
    if report.note:
        lines += [report.note, ""]
    return "\n".join(lines)


def events_lines(run: DrillRun) -> list[dict[str, Any]]:
    drill = run.drill
    regions = [drill.topology.primary.region, drill.topology.secondary.region]
    lines: list[dict[str, Any]] = [
        {"type": "step", "at": round(s.at, 3), "time": _utc(drill, s.at), "number": s.number,
         "text": s.text}
        for s in drill.report.steps
    ]  # fmt: skip
    lines += [
        {"type": "event", "at": round(e.at, 3), "time": _utc(drill, e.at), "label": e.label}
        for e in drill.timeline.events
    ]
    lines.sort(key=lambda line: line["at"])
    for row in intervals(drill.timeline, BUCKET_SECONDS):
        lines.append(
            {
                "type": "bucket",
                "at": row.start,
                "time": _utc(drill, row.start),
                "seconds": BUCKET_SECONDS,
                "served": {region: row.served.get(region, 0) for region in regions},
                "failed": row.failed,
            }
        )
    summary = {
        "type": "summary",
        "drillId": drill.target.drill_id,
        "scenario": str(drill.report.scenario),
        "outcome": run.outcome,
        "reason": run.reason,
        "started": _utc(drill, 0.0),
        "seconds": round(drill.timeline.now(), 3),
        "measurements": [
            {"what": m.what, "value": m.value, "ok": m.ok} for m in drill.report.measurements
        ],
        "shifts": [shift.to_json() for shift in drill.report.shifts],
        "phases": [
            {"phase": p.phase, "at": round(p.start, 3), "requests": p.requests, "failed": p.failed}
            for p in drill.report.phases
        ],
        "requests": len(drill.timeline.samples),
        "failed": failed(drill.timeline.samples),
        "restored": None if run.restored is None else {
            "actions": run.restored.actions,
            "confirmed": run.restored.confirmed,
            "now": run.restored.now,
            "error": run.restored.error,
        },
    }  # fmt: skip
    return [*lines, summary]


def write_report(run: DrillRun, directory: Path) -> ReportFiles:
    """The report directory (created if missing); the picture only when matplotlib is there."""
    directory.mkdir(parents=True, exist_ok=True)
    drill = run.drill
    picture: Path | None = None
    missing: str | None = None
    if picture_available():
        picture = directory / "timeline.svg"
        regions = [drill.topology.primary.region, drill.topology.secondary.region]
        draw_timeline(
            drill.timeline,
            regions,
            picture,
            f"{drill.report.scenario} drill {drill.target.drill_id}: {run.outcome}",
        )
    else:
        missing = INSTALL_HINT
    (directory / "report.md").write_text(report_markdown(run, picture is not None))
    with (directory / "events.jsonl").open("w") as events:
        for line in events_lines(run):
            events.write(json.dumps(line, sort_keys=True, allow_nan=False) + "\n")
    return ReportFiles(directory, picture, missing)
