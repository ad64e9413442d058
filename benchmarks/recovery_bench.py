"""Recovery time at AWS's own timings: both drills on the sandbox at time scale 1 (health checks
every 30 s with a failure threshold of 3, 60 s alarm periods, Route 53's propagation and the
alias answer's 60 s TTL as AWS documents them), side by side, each on its own sandbox.

`make bench-recovery` (about 15 minutes). Prints, per scenario, the lever it moved traffic with and
approval -> every player served by the secondary (the measured recovery time), beside detection
and approval -> INSYNC / lever alarm; the reports stay under benchmarks/results/.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
SCENARIOS = {"switch": "weights", "region-outage": "lever"}
BOUND_SECONDS = 40 * 60.0  # each drill at AWS's timings, with room for a loaded machine
RECOVERY = "approval → every player served by the secondary (recovery time)"
# Two sandboxes at once on a small machine answer slower than AWS: a read deadline that leaves
# them some time, so a slow emulator does not end a drill, yet keeps `opsctl status` without the
# primary inside the region-outage drill's 20 s bound.
ENVIRONMENT = {**os.environ, "OPSCTL_READ_DEADLINE": "6"}


def measurements(report_dir: Path) -> tuple[str, dict[str, str]]:
    lines = (report_dir / "events.jsonl").read_text().splitlines()
    summary = json.loads(lines[-1])
    return summary["outcome"], {m["what"]: m["value"] for m in summary["measurements"]}


def main(scenarios: list[str]) -> int:
    """Both scenarios, or those named on the command line."""
    started = time.monotonic()
    runs = {}
    for scenario in scenarios or list(SCENARIOS):
        report_dir = RESULTS / f"recovery-{scenario}"
        log = RESULTS / f"recovery-{scenario}.log"
        RESULTS.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, "-m", "opsctl", "sandbox", "drill", "--scenario", scenario,
            "--time-scale", "1", "--dir", str(ROOT / ".sandbox" / "bench" / scenario),
            "--report-dir", str(report_dir),
        ]  # fmt: skip
        with log.open("wb") as sink:
            process = subprocess.Popen(
                command, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, env=ENVIRONMENT
            )
        runs[scenario] = (process, report_dir, log)
        print(f"{scenario}: started (log {log})", flush=True)
    failed = False
    print("| scenario | lever | outcome | detection | approval → change | approval → every player "
          "served (recovery) |")  # fmt: skip
    print("| --- | --- | --- | ---: | ---: | ---: |")
    for scenario, (process, report_dir, log) in runs.items():
        try:
            process.wait(timeout=max(1.0, started + BOUND_SECONDS - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.terminate()
            process.wait(timeout=120)
        if not (report_dir / "events.jsonl").exists():
            print(f"| {scenario} | {SCENARIOS[scenario]} | no report (see {log}) | | | |")
            failed = True
            continue
        outcome, measured = measurements(report_dir)
        failed |= outcome != "passed"
        detection = next(
            (v for k, v in measured.items() if k.startswith(("detection", "outage →"))), ""
        )
        change = measured.get("approval → INSYNC (failover)") or measured.get(
            "approval → lever alarm ALARM", ""
        )
        print(
            f"| {scenario} | {SCENARIOS[scenario]} | {outcome} | {detection} | {change} | "
            f"{measured.get(RECOVERY, '')} |"
        )
    print(f"both drills done in {time.monotonic() - started:.0f}s; reports in {RESULTS}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
