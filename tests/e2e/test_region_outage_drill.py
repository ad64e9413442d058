"""The region-outage drill on a real sandbox: us-east-1 lost as a whole, the lever moves traffic
where the weights cannot, no request fails once DNS has switched and the TTL has passed, and the
way back loses nothing (see docs/sandbox.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console

from opsctl.drill.runner import measurements_table
from opsctl.drill.scenario import Scenario
from opsctl.drill.timeline import failed
from opsctl.sandbox.faults.outage import regions_out
from opsctl.sandbox.rehearsal import sandbox_drill, sandbox_environment
from opsctl.sandbox.state import SandboxState


def audit_lines(state: SandboxState) -> list[dict[str, Any]]:
    path = Path(state.log_file).parent / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_region_outage_drill_end_to_end(sandbox: SandboxState) -> None:
    said: list[str] = []
    with (
        sandbox_environment(sandbox),
        sandbox_drill(sandbox, Scenario.REGION_OUTAGE, say=said.append) as drill,
    ):
        report = drill.run()
        primary, secondary = drill.primary, drill.secondary
        weights_after = drill.weights()

    # Every check held, and the drill gave the primary back: nothing left out, weights 100/0.
    assert len(report.checks) == len([line for line in said if line.startswith("  ok")])
    probed = next(c for c in report.checks if c.startswith("the direct probe"))
    assert f"{primary} HTTP 200" in probed and f"{secondary} HTTP 200" in probed
    # opsctl confirmed the lever by DNS answers it classified by asking each answered address.
    confirmed = next(c for c in report.checks if c.startswith("opsctl confirmed the failover"))
    assert f"{secondary} (secondary)" in confirmed and "answers: secondary" in confirmed
    assert regions_out(sandbox) == {}
    assert weights_after == {"primary": 100, "secondary": 0}

    # The measurements the story is about, each with its verdict.
    measured = {m.what: m for m in report.measurements}
    assert measured["requests failed after DNS switch + TTL (to the end)"].ok is True
    assert measured["requests failed during the fallback"].ok is True
    assert all(m.ok is not False for m in report.measurements)
    # The page came from the secondary's watcher, none from us-east-1 while it was out.
    assert measured[f"outage → page from {secondary} seen"].ok is True
    assert measured[f"pages from {primary} during its outage"].value == "0"
    # `opsctl status --json` during the outage carried the secondary's view of the primary.
    assert drill.status_during_outage is not None
    seen = drill.status_during_outage["regions"][0]["watch"]
    assert (seen["region"], seen["alarm"]) == (secondary, "ALARM")
    assert f"unreachable from {secondary}" in drill.status_during_outage["headline"]
    for what in (
        "approval → lever alarm ALARM",
        f"approval → DNS answers {secondary}",
        f"approval → first player served by {secondary}",
    ):
        assert measured[what].value.endswith("s")

    # The timeline: players failed once the primary was out, never after DNS switch + TTL; they
    # were served by the secondary after it, and by the primary again at the end.
    events = {e.label: e.at for e in drill.timeline.events}
    lost = events[f"{primary} out"]
    settled = next(at for label, at in events.items() if label.startswith("DNS switch + TTL"))
    assert failed(drill.timeline.between(lost, settled)) > 0
    assert failed(drill.timeline.between(settled)) == 0
    # The counts reconcile: every failure is one in flight when the outage hit or one sent
    # between the outage and DNS switch + TTL, as the measurements say.
    in_flight = int(measured["requests in flight at the outage, lost with it"].value)
    window = int(measured["requests failed, outage → DNS switch + TTL"].value.split()[0])
    assert failed(drill.timeline.samples) == in_flight + window
    served_after = {s.region for s in drill.timeline.between(settled) if s.ok}
    assert served_after == {primary, secondary}
    assert drill.timeline.samples[-1].region == primary

    # The lever, not the weights, did the failover; the fallback reconciled, released, stepped.
    audited = [(line["action"], line.get("step"), line["after"]) for line in audit_lines(sandbox)]
    assert ("failover", "lever", {"lever": "engaged"}) in audited
    assert ("fallback", "lever", {"lever": "released"}) in audited
    assert not any(action == "failover" and "primary" in after for action, _, after in audited)

    console = Console(width=220, record=True, no_color=True)
    console.print(drill.timeline_table())
    console.print(measurements_table(report))
    drawn = console.export_text()
    print(drawn)  # shown with -s, and in the report of a failing run
    for text in (
        f"{primary} out",
        f"page from {secondary}: primary unreachable",
        "failover approved",
        f"{primary} restored",
        "x failed",
    ):
        assert text in drawn
