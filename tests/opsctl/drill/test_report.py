"""The report directory from a drill's timeline: report.md, events.jsonl, timeline.svg (the
picture with matplotlib; without it, everything else and a hint)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from opsctl.aws import AwsClients
from opsctl.change.audit import AuditLog
from opsctl.drill import report as report_module
from opsctl.drill.model import DrillTarget, Restored
from opsctl.drill.report import DrillRun, write_report
from opsctl.drill.switch_drill import SwitchDrill
from opsctl.drill.tokens import TokenSource, token_from_value
from opsctl.read.probe import DnsResolver
from opsctl.topology import parse_topology
from tests.support.stack import topology_document

pytestmark = pytest.mark.unit
TOKEN = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJkcmlsbCJ9.sig"


@pytest.fixture
def drill(tmp_path: Path) -> SwitchDrill:
    """A switch drill whose players never started: its timeline is filled by the test."""
    target = DrillTarget(
        clients=AwsClients(),
        topology=parse_topology(topology_document("game-prod")),
        hostname="auth.example.com",
        new_resolver=DnsResolver,
        tokens=TokenSource(token_from_value(TOKEN)),
        audit_log=AuditLog(tmp_path / "audit.jsonl"),
        drill_id="drill-0123456789ab",
    )
    return SwitchDrill(target)


def play_a_drill(drill: SwitchDrill) -> None:
    """What players saw: the primary, failures after the flip, the secondary after failover."""
    clock = [0.0]
    drill.timeline._clock = lambda: clock[0]
    drill.timeline._origin = 0.0
    for second in range(60):
        clock[0] = float(second)
        if second == 10:
            drill.mark("primary switch: failing")
            drill.expect_failures()
        if second == 30:
            drill.mark("failover approved")
        if second == 35:
            drill.mark("every player served by us-west-2")
            drill.failures_no_longer_expected()
        for player in range(3):
            at = second + player / 3
            if second < 20:
                drill.timeline.record(at, "us-east-1", True, player=player)
            elif second < 33:
                drill.timeline.record(at, None, False, "HTTP 503", player=player)
            else:
                drill.timeline.record(at, "us-west-2", True, player=player)
    drill.step("fail over")
    drill.measure("approval → every player served by the secondary (recovery time)", "5.0s")
    drill.report.phases = drill.failures_by_phase(drill.phases)


def test_the_report_directory_holds_the_story(drill: SwitchDrill, tmp_path: Path) -> None:
    play_a_drill(drill)
    restored = Restored(["primary failure switch: failing -> healthy"], True, "weights ok")
    files = write_report(
        DrillRun(drill, "aborted", "--max-duration 60s reached", restored), tmp_path
    )

    markdown = (tmp_path / "report.md").read_text()
    assert markdown.startswith("# switch drill: ABORTED")
    assert "--max-duration 60s reached" in markdown
    assert "- primary failure switch: failing -> healthy" in markdown
    assert "| approval → every player served by the secondary (recovery time) | 5.0s |" in markdown
    assert "| detection (switch → alarm) |" in markdown
    assert "180 requests, 39 failed" in markdown  # 13 s x 3 players failed, all in the window
    assert "0 outside the detection window" in markdown

    lines = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    buckets = [line for line in lines if line["type"] == "bucket"]
    assert sum(sum(b["served"].values()) + b["failed"] for b in buckets) == 180
    assert sum(b["failed"] for b in buckets) == 39
    (summary,) = [line for line in lines if line["type"] == "summary"]
    assert (summary["outcome"], summary["drillId"]) == ("aborted", "drill-0123456789ab")
    assert summary["restored"]["confirmed"] is True
    phases = {p["phase"]: p for p in summary["phases"]}
    assert phases["detection (switch → alarm)"]["failed"] == 30
    assert phases["failover (approval → every player on the secondary)"]["failed"] == 9
    assert next(e["label"] for e in lines if e["type"] == "event") == "primary switch: failing"

    # The picture parses and names both Regions and the events (text kept as text).
    assert files.picture == tmp_path / "timeline.svg"
    texts = " ".join(t for t in ElementTree.parse(files.picture).getroot().itertext())
    for name in ("us-east-1 served", "us-west-2 served", "failed", "failover approved"):
        assert name in texts


def test_without_matplotlib_everything_but_the_picture_is_written(
    drill: SwitchDrill, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    play_a_drill(drill)
    monkeypatch.setattr(report_module, "picture_available", lambda: False)
    files = write_report(DrillRun(drill, "passed", None, None), tmp_path)
    assert files.picture is None
    assert files.missing_picture is not None and "[report]" in files.missing_picture
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.jsonl", "report.md"]
    assert "timeline.svg" not in (tmp_path / "report.md").read_text()
