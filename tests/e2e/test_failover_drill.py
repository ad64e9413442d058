"""The failover drill on a real sandbox: each step's state change, the summary, a clean teardown.

The sandbox runs the real Pulumi program's resources in moto, the real handlers behind the
API Gateway-like fronts, and opsctl's real core does the shifts (see docs/sandbox.md).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import boto3
import jwt
from rich.console import Console

from opsctl.drill.engine import Drill
from opsctl.drill.model import DRILL_REASON, FALLBACK_STEPS, PROBE_COUNT
from opsctl.drill.runner import summary_table
from opsctl.drill.scenario import Scenario
from opsctl.drill.steps import (
    create_session,
    create_session_on_secondary,
    primary_serving_again,
    primary_serving_all_healthy,
)
from opsctl.sandbox.idp import SigningKey
from opsctl.sandbox.rehearsal import sandbox_drill, sandbox_environment
from opsctl.sandbox.state import SandboxState
from opsctl.sandbox.supervisor.processes import PROJECT_ROOT


def weights(state: SandboxState, drill: Drill) -> dict[str, int]:
    route53 = boto3.client("route53", region_name="us-east-1", endpoint_url=state.endpoint_url)
    records = route53.list_resource_record_sets(HostedZoneId=drill.topology.hosted_zone_id)
    return {
        r["SetIdentifier"]: r["Weight"]
        for r in records["ResourceRecordSets"]
        if r["Name"] == f"{state.hostname}." and "Weight" in r
    }


def audit_lines(state: SandboxState) -> list[dict[str, Any]]:
    """The outcome line of each audited change (each follows its intent line)."""
    path = Path(state.log_file).parent / "audit.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return [line for line in lines if line["phase"] == "outcome"]


def test_failover_drill_end_to_end(sandbox: SandboxState, run_opsctl: Any) -> None:
    said: list[str] = []
    with (
        sandbox_environment(sandbox),
        sandbox_drill(sandbox, Scenario.SWITCH, say=said.append) as drill,
    ):
        primary, secondary = drill.topology.primary.region, drill.topology.secondary.region

        # Given the sandbox as provisioned from the real program: the primary serves, all healthy.
        status = primary_serving_all_healthy(drill)
        assert status.serving == "primary"
        assert weights(sandbox, drill) == {primary: 100, secondary: 0}
        assert [(r.checkers_healthy, r.checkers_total) for r in status.regions] == [(3, 3), (3, 3)]
        shown = run_opsctl("status", "--json", env=sandbox.environment())
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["serving"] == "primary"

        session = create_session(drill)
        assert session.region == primary

        # When the primary's failure switch flips, the checkers and then the alarm notice.
        flipped_at = drill.fail_primary()
        detection = drill.detect_failure(flipped_at)
        status = drill.status()
        assert status.region("primary").alarm == "ALARM"
        assert status.region("primary").healthy is False
        assert status.region("primary").failure_switch == "failing"
        assert status.region("primary").checkers_healthy == 0
        assert 0 < detection < drill.signal_timeout
        # The Region's own signals do not echo the drill (its api-5xx alarm leaves out the
        # health route, and players are still served): neither Region reads as impaired.
        assert "primary Region-impaired: ALARM" not in [e.label for e in drill.timeline.events]
        assert status.region("primary").impaired_alarm == "OK"
        assert status.region("secondary").impaired_alarm == "OK"
        (flipped,) = audit_lines(sandbox)
        assert (flipped["action"], flipped["after"]) == ("switch", {"primary": "failing"})
        assert flipped["reason"] == DRILL_REASON

        # The approved failover moves every weight, audited, while players keep being served.
        failover = drill.failover(detection)
        assert weights(sandbox, drill) == {primary: 0, secondary: 100}
        audited = audit_lines(sandbox)[-1]
        assert audited["action"] == "failover"
        assert audited["reason"] == DRILL_REASON
        assert failover.requests > 0
        assert failover.failed == 0, drill.players_summary()
        assert failover.approval_to_insync_seconds > 0

        probed = drill.verify_secondary_serving(session)
        assert probed.by_region() == {secondary: PROBE_COUNT}
        shown = run_opsctl(
            "probe",
            "--sandbox",
            "--dir",
            str(Path(sandbox.log_file).parent),
            "--count",
            "5",
            "--json",
        )
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["byRegion"] == {secondary: 5}

        during_outage = create_session_on_secondary(drill)
        assert during_outage.region == secondary

        # Then the primary heals and traffic returns in steps.
        recovery = drill.heal_primary()
        healed = drill.status().region("primary")
        assert (healed.alarm, healed.impaired_alarm) == ("OK", "OK")
        fallback = drill.fallback(recovery)
        assert fallback.detection_seconds == recovery
        assert weights(sandbox, drill) == {primary: 100, secondary: 0}
        actions = [(line["action"], line["after"]) for line in audit_lines(sandbox)]
        assert actions == [
            ("switch", {"primary": "failing"}),
            ("failover", {"primary": 0, "secondary": 100}),
            ("switch", {"primary": "healthy"}),
            *(("fallback", {"primary": p, "secondary": 100 - p}) for p in FALLBACK_STEPS),
        ]
        assert fallback.requests > 0
        assert fallback.failed == 0, drill.players_summary()

        final = primary_serving_again(drill, during_outage)
        assert final.serving == "primary" and final.consistent

        # Readiness reads real values from the emulator: nothing is left unknown.
        readiness = run_opsctl("readiness", "--role", "secondary", "--json",
                               env=sandbox.environment())  # fmt: skip
        assert readiness.returncode == 0, readiness.stderr
        checks = {c["name"]: c for c in json.loads(readiness.stdout)["checks"]}
        # Every check passes but one the sandbox cannot: its zone has no Route 53 accelerated
        # recovery (a feature of the user's public zone), which readiness warns about.
        assert {name: c["result"] for name, c in checks.items()} == {
            **dict.fromkeys(checks, "pass"),
            "accelerated-recovery": "warn",
        }
        # Each side named by its Region: the target (secondary) first.
        assert checks["lambda-concurrency-quota"]["value"] == (
            f"{drill.topology.secondary.region}: limit 1000, unreserved 1000 vs "
            f"{drill.topology.primary.region}: limit 1000, unreserved 1000"
        )

    # The summary names both shifts with their measurements.
    console = Console(width=220, record=True, no_color=True)
    console.print(summary_table(drill.report))
    table = console.export_text()
    assert "failover" in table and "fallback (10%, 50%, 100%)" in table
    assert [shift.shift for shift in drill.report.shifts] == [
        "failover",
        "fallback (10%, 50%, 100%)",
    ]
    assert len(drill.report.checks) == len([line for line in said if line.startswith("  ok")])
    # The operator's direct probe of each healthUrl answers (HTTPS, the sandbox's CA trusted).
    probed = next(c for c in drill.report.checks if c.startswith("the direct probe"))
    assert f"{primary} HTTP 200" in probed and f"{secondary} HTTP 200" in probed

    # The players played throughout, served by each Region in turn, and the timeline shows who
    # served them around the drill's events; every request of a shift is on it.
    samples = drill.timeline.samples
    assert {sample.region for sample in samples if sample.ok} == {primary, secondary}
    shifts = [e.at for e in drill.timeline.events if e.label.startswith(("failover", "fallback"))]
    assert len(drill.timeline.between(shifts[0], shifts[1])) == failover.requests
    console.print(drill.timeline_table())
    drawn = console.export_text()
    for event in (
        "primary switch: failing",
        "failover approved",
        "fallback (10%, 50%, 100%) INSYNC",
    ):
        assert event in drawn


# ---- `opsctl drill` on the same sandbox: aborts restore what they found; a whole run reports ---


def drill_audit(state: SandboxState, drill_id: str) -> list[dict[str, Any]]:
    """The audited outcomes of one drill's changes."""
    return [line for line in audit_lines(state) if line.get("drill") == drill_id]


def summary_of(report_dir: Path) -> dict[str, Any]:
    lines = [json.loads(line) for line in (report_dir / "events.jsonl").read_text().splitlines()]
    (summary,) = [line for line in lines if line["type"] == "summary"]
    return summary


def wait_steady(state: SandboxState, timeout: float = 180.0) -> None:
    """Until the sandbox is back in steady state (alarms clear on CloudWatch's own minute)."""
    from opsctl.aws import AwsClients
    from opsctl.drill.guard import steady_state_problems
    from opsctl.read.status import read_status
    from opsctl.topology import load_topology_file

    topology = load_topology_file(Path(state.topology_file))
    deadline = time.monotonic() + timeout
    with sandbox_environment(state):
        while problems := steady_state_problems(read_status(AwsClients(), topology)):
            assert time.monotonic() < deadline, f"not steady after {timeout:.0f}s: {problems}"
            time.sleep(1)


def opsctl_drill(state: SandboxState, report_dir: Path, *args: str) -> list[str]:
    """`opsctl drill` on the running sandbox, approved (the arguments after `opsctl`)."""
    return [
        "drill", "--sandbox",
        "--dir", str(Path(state.log_file).parent), "--report-dir", str(report_dir),
        "--approve", "--reason", "game day", *args,
    ]  # fmt: skip


def test_opsctl_drill_on_the_sandbox_reports_what_the_audit_shows(
    sandbox: SandboxState, run_opsctl: Any, tmp_path: Path
) -> None:
    wait_steady(sandbox)
    report_dir = tmp_path / "report"
    ran = run_opsctl(*opsctl_drill(sandbox, report_dir, "--steps", "50,100", "--max-failed", "0"))
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines()[-1] == f"report: {report_dir}"

    summary = summary_of(report_dir)
    assert summary["outcome"] == "passed"
    outcomes = [a for a in drill_audit(sandbox, summary["drillId"]) if a["phase"] == "outcome"]
    assert [(a["action"], a["after"]) for a in outcomes] == [
        ("switch", {"primary": "failing"}),
        ("failover", {"primary": 0, "secondary": 100}),
        ("switch", {"primary": "healthy"}),
        ("fallback", {"primary": 50, "secondary": 50}),
        ("fallback", {"primary": 100, "secondary": 0}),
    ]
    assert all(a["applied"] and a["reason"] == "game day" for a in outcomes)
    assert all(a["insync"] for a in outcomes if a["action"] != "switch")
    # The report's shifts are the audited changes, and approval → INSYNC spans Route 53's own.
    shifts = {s["shift"]: s for s in summary["shifts"]}
    by_change = {a["changeId"]: a for a in outcomes if a["action"] != "switch"}
    assert shifts["failover"]["changeIds"] + shifts["fallback (50%, 100%)"]["changeIds"] == list(
        by_change
    )
    for shift in shifts.values():
        last = by_change[shift["changeIds"][-1]]
        assert shift["approvalToInsyncSeconds"] >= last["insyncSeconds"]
    measured = {m["what"]: m["value"] for m in summary["measurements"]}
    assert "approval → every player served by the secondary (recovery time)" in measured
    report = (report_dir / "report.md").read_text()
    assert "## Fallback step gates" in report and "| 2/2 | primary 100 / secondary 0 |" in report

    # The picture parses and names both Regions.
    svg = ElementTree.parse(report_dir / "timeline.svg").getroot()
    texts = " ".join(svg.itertext())
    assert "us-east-1 served" in texts and "us-west-2 served" in texts


def test_a_drill_past_its_max_duration_restores_what_it_found(
    sandbox: SandboxState, run_opsctl: Any, tmp_path: Path
) -> None:
    # Past the flip (at about 1.5 s), before the failover (after the alarms, at about 13 s).
    wait_steady(sandbox)
    report_dir = tmp_path / "report"
    ran = run_opsctl(*opsctl_drill(sandbox, report_dir, "--max-duration", "6"))
    assert ran.returncode == 1, ran.stderr
    assert ran.stdout.splitlines()[-1] == f"report: {report_dir}"
    assert "switch drill aborted: --max-duration 6s reached; restored as found" in ran.stderr

    summary = summary_of(report_dir)
    assert (summary["outcome"], summary["reason"]) == ("aborted", "--max-duration 6s reached")
    assert summary["restored"]["confirmed"] is True
    # The switch always goes back; a machine quick enough to fail over inside the 6 s (the
    # alarm can take less) also gets the weights back as found, and nothing else.
    restored = summary["restored"]["actions"]
    assert restored[0] == "primary failure switch: failing -> healthy"
    weights_back = "weights: primary 0 / secondary 100 -> primary 100 / secondary 0 (change "
    assert all(action.startswith(weights_back) for action in restored[1:]), restored
    report = (report_dir / "report.md").read_text()
    assert "**aborted**: --max-duration 6s reached" in report
    assert all(f"- {action}" in report for action in restored)
    # The audit shows the drill's flip and the restore, both with its id.
    audited = drill_audit(sandbox, summary["drillId"])
    outcomes = [(a["action"], a["after"]) for a in audited if a["phase"] == "outcome"]
    expected = [("switch", {"primary": "failing"}), ("switch", {"primary": "healthy"})]
    if len(restored) > 1:  # failed over, then put back
        failover, put_back = [o for o in outcomes if o[0] != "switch"]
        assert failover[1] == {"primary": 0, "secondary": 100}
        assert put_back[1] == {"primary": 100, "secondary": 0}
    assert [o for o in outcomes if o[0] == "switch"] == expected


def test_sigterm_mid_failover_puts_the_weights_and_the_switch_back(
    sandbox: SandboxState, tmp_path: Path
) -> None:
    wait_steady(sandbox)
    report_dir = tmp_path / "report"
    drill = subprocess.Popen(
        [sys.executable, "-m", "opsctl", *opsctl_drill(sandbox, report_dir)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "NO_COLOR": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    said: list[str] = []
    try:
        assert drill.stderr is not None
        for line in drill.stderr:  # bounded by the drill's own signal timeouts
            said.append(line)
            if "approving failover" in line:
                time.sleep(0.2)  # the compare-and-swap is under way
                break
    finally:
        drill.send_signal(signal.SIGTERM)
    stdout, rest = drill.communicate(timeout=120)
    stderr = "".join(said) + rest
    assert drill.returncode == 130, stderr
    assert stdout.splitlines()[-1] == f"report: {report_dir}"

    summary = summary_of(report_dir)
    assert (summary["outcome"], summary["reason"]) == ("aborted", "interrupted by SIGTERM")
    restored = summary["restored"]
    assert restored["confirmed"] is True, restored
    assert "primary failure switch: failing -> healthy" in restored["actions"]
    assert any(a.startswith("weights: primary 0 / secondary 100 -> primary 100 / secondary 0")
               for a in restored["actions"]), restored  # fmt: skip
    assert "switch drill aborted: interrupted by SIGTERM; restored as found" in stderr
    outcomes = [
        (a["action"], a["after"], a["forced"])
        for a in drill_audit(sandbox, summary["drillId"])
        if a["phase"] == "outcome"
    ]
    assert outcomes == [
        ("switch", {"primary": "failing"}, False),
        ("failover", {"primary": 0, "secondary": 100}, False),
        ("switch", {"primary": "healthy"}, True),
        ("fallback", {"primary": 100, "secondary": 0}, True),
    ]


def test_token_is_signed_by_the_sandbox_idp(sandbox: SandboxState, run_opsctl: Any) -> None:
    directory = str(Path(sandbox.log_file).parent)
    minted = run_opsctl("sandbox", "token", "--subject", "ada", "--dir", directory)
    assert minted.returncode == 0, minted.stderr
    token = minted.stdout.strip()
    key = SigningKey.load(Path(sandbox.key_file))
    claims = jwt.decode(
        token, key.private_key.public_key(), algorithms=["RS256"], audience=sandbox.audience
    )
    assert claims["sub"] == "ada"
    assert claims["iss"] == sandbox.issuer
    assert jwt.get_unverified_header(token)["kid"] == key.kid


def test_env_prints_exports_for_the_running_sandbox(sandbox: SandboxState, run_opsctl: Any) -> None:
    shown = run_opsctl("sandbox", "env", "--dir", str(Path(sandbox.log_file).parent))
    assert shown.returncode == 0
    assert f"export AWS_ENDPOINT_URL={sandbox.endpoint_url}" in shown.stdout.splitlines()
