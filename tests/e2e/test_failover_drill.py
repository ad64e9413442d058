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
from pathlib import Path
from typing import Any

import boto3
import jwt
from rich.console import Console

from opsctl.drill.drillrun import summary_table
from opsctl.drill.engine import (
    DRILL_REASON,
    FALLBACK_STEPS,
    PROBE_COUNT,
    Drill,
    sandbox_environment,
)
from opsctl.drill.switch_drill import SwitchDrill
from opsctl.sandbox.idp import SigningKey
from opsctl.sandbox.lifecycle import address_open, process_alive
from opsctl.sandbox.processes import PROJECT_ROOT
from opsctl.sandbox.state import STATE_FILE, SandboxState


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
    with sandbox_environment(sandbox), SwitchDrill(sandbox, say=said.append) as drill:
        primary, secondary = drill.topology.primary.region, drill.topology.secondary.region

        # Given the sandbox as provisioned from the real program: the primary serves, all healthy.
        status = drill.primary_serving_all_healthy()
        assert status.serving == "primary"
        assert weights(sandbox, drill) == {primary: 100, secondary: 0}
        assert [(r.checkers_healthy, r.checkers_total) for r in status.regions] == [(3, 3), (3, 3)]
        shown = run_opsctl("status", "--json", env=sandbox.environment())
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["serving"] == "primary"

        session = drill.create_session()
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

        during_outage = drill.create_session_on_secondary()
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

        final = drill.primary_serving_again(during_outage)
        assert final.serving == "primary" and final.consistent

        # Readiness reads real values from the emulator: nothing is left unknown.
        readiness = run_opsctl("readiness", "--role", "secondary", "--json",
                               env=sandbox.environment())  # fmt: skip
        assert readiness.returncode == 0, readiness.stderr
        checks = {c["name"]: c for c in json.loads(readiness.stdout)["checks"]}
        assert {name: c["result"] for name, c in checks.items()} == dict.fromkeys(checks, "pass")
        assert checks["lambda-concurrency-quota"]["value"] == (
            "limit 1000, unreserved 1000 vs limit 1000, unreserved 1000"
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


def test_down_with_nothing_running_changes_nothing(tmp_path: Path, run_opsctl: Any) -> None:
    stopped = run_opsctl("sandbox", "down", "--dir", str(tmp_path))
    assert stopped.returncode == 0
    assert "nothing to stop" in stopped.stderr
    missing = run_opsctl("sandbox", "token", "--dir", str(tmp_path))
    assert missing.returncode == 1
    assert "no sandbox is running" in missing.stderr


def test_interrupted_drill_tears_everything_down(tmp_path: Path) -> None:
    drill = subprocess.Popen(
        [sys.executable, "-m", "opsctl", "sandbox", "drill", "--dir", str(tmp_path)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "NO_COLOR": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / STATE_FILE).exists():
            assert drill.poll() is None, drill.communicate()[1]
            assert time.monotonic() < deadline, "the drill's sandbox did not start within 120s"
            time.sleep(0.1)
        state = SandboxState.load(tmp_path)
    finally:
        drill.send_signal(signal.SIGINT)  # also when the test fails: never leave it running
    _, stderr = drill.communicate(timeout=60)
    assert drill.returncode == 130, stderr
    assert "torn down" in stderr
    assert not (tmp_path / STATE_FILE).exists()
    pids = [state.supervisor_pid, *state.front_pids.values()]
    assert [pid for pid in pids if process_alive(pid)] == []
    assert [address for address in state.listening() if address_open(address)] == []
