"""`opsctl sandbox demo`: the drills run side by side, their reports come out whole and in order,
a failed or stuck drill fails the demo, and nothing is left running."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from rich.console import Console

from opsctl.drill.scenario import Scenario
from opsctl.sandbox import demo

# Stand-ins for `opsctl sandbox drill`, by scenario: what each prints, how long it takes, its exit.
STUB = textwrap.dedent(
    """
    import json, pathlib, signal, sys, time
    scenario, seconds, code = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    report = pathlib.Path(sys.argv[4])
    def torn_down(*_):
        print(f"{scenario}: interrupted, sandbox torn down", flush=True)
        sys.exit(130)
    signal.signal(signal.SIGINT, torn_down)
    print(f"{scenario}: report line 1", flush=True)
    time.sleep(seconds)
    print(f"{scenario}: report line 2", flush=True)
    report.mkdir(parents=True)
    (report / "report.md").write_text(f"# {scenario} drill")
    summary = {"type": "summary", "scenario": scenario, "requests": 120, "failed": 5,
               "phases": [{"phase": "steady state", "failed": 2}, {"phase": "outage", "failed": 3},
                          {"phase": "after", "failed": 0}],
               "measurements": [{"what": "approval → every player served by us-west-2",
                                 "value": "3.0s", "ok": None},
                                {"what": "detection", "value": "4.7s", "ok": None}]}
    (report / "events.jsonl").write_text('{"type": "step"}\\n' + json.dumps(summary) + "\\n")
    sys.exit(code)
    """
)


def _stub_drills(
    monkeypatch: pytest.MonkeyPatch,
    behaviour: dict[Scenario, tuple[float, int]],
    directory: Path,
) -> None:
    sandbox_root = [directory]

    def command(
        scenario: Scenario, sandbox: Path, time_scale: float, stack: Path, report: Path
    ) -> list[str]:
        seconds, code = behaviour[scenario]
        return [sys.executable, "-c", STUB, scenario.value, str(seconds), str(code), str(report)]

    # Each drill's report lands under the sandbox directory, not in the repository's drills/.
    monkeypatch.setattr(
        demo, "default_report_dir", lambda scenario: sandbox_root[0] / "reports" / scenario
    )

    monkeypatch.setattr(demo, "drill_command", command)


def test_reports_come_out_whole_and_in_scenario_order(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The first scenario finishes last: its report still comes first, and neither is interleaved.
    _stub_drills(
        monkeypatch, {Scenario.SWITCH: (1.0, 0), Scenario.REGION_OUTAGE: (0.0, 0)}, tmp_path
    )

    runs = demo.run_demo(tmp_path, 0.05, tmp_path / "Pulumi.primary.yaml")

    assert [run.scenario for run in runs] == list(Scenario)
    assert all(run.passed for run in runs)
    printed = capsys.readouterr().out.splitlines()
    assert printed == [
        "switch: report line 1",
        "switch: report line 2",
        "region-outage: report line 1",
        "region-outage: report line 2",
    ]
    for scenario in Scenario:  # each drill had a sandbox directory of its own
        assert (tmp_path / scenario.value / "drill.log").is_file()
    # Where each report is, for the demo's last lines.
    assert [run.written for run in runs] == [
        [tmp_path / "reports" / scenario.value / "report.md"] for scenario in Scenario
    ]


def test_a_failed_drill_fails_the_demo_and_the_other_still_reports(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _stub_drills(
        monkeypatch, {Scenario.SWITCH: (0.0, 1), Scenario.REGION_OUTAGE: (0.0, 0)}, tmp_path
    )

    runs = demo.run_demo(tmp_path, 0.05, tmp_path / "Pulumi.primary.yaml")

    assert [(run.scenario, run.passed) for run in runs] == [
        (Scenario.SWITCH, False),
        (Scenario.REGION_OUTAGE, True),
    ]
    assert "region-outage: report line 2" in capsys.readouterr().out


def test_a_drill_past_its_bound_is_told_to_tear_down_and_reported(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(demo, "DRILL_BOUND_SECONDS", 1.0)
    _stub_drills(
        monkeypatch, {Scenario.SWITCH: (120.0, 0), Scenario.REGION_OUTAGE: (0.0, 0)}, tmp_path
    )

    runs = demo.run_demo(tmp_path, 0.05, tmp_path / "Pulumi.primary.yaml")

    stuck = runs[0]
    assert stuck.exit_code is None and not stuck.passed
    captured = capsys.readouterr()
    # It was interrupted as Ctrl-C would (its teardown ran), not killed outright.
    assert "switch: interrupted, sandbox torn down" in captured.out
    assert "did not finish within 1s" in captured.err
    assert runs[1].passed


def test_the_summary_of_both_drills_is_the_last_thing_on_stdout(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _stub_drills(
        monkeypatch, {Scenario.SWITCH: (0.0, 0), Scenario.REGION_OUTAGE: (0.0, 1)}, tmp_path
    )
    runs = demo.run_demo(tmp_path, 0.05, tmp_path / "Pulumi.primary.yaml")
    console = Console(width=300, record=True, no_color=True)
    console.print(demo.demo_summary(runs))
    lines = [line.rstrip() for line in console.export_text().splitlines()]
    assert lines[0] == "demo summary"
    assert lines[1].startswith("  switch: passed in ")
    # The failures by phase add up to the total.
    assert lines[2] == "    players: 120 requests, 5 failed (2 steady state, 3 outage)"
    assert lines[3] == "    approval → every player served by us-west-2: 3.0s"
    assert lines[4] == f"    report: {tmp_path / 'reports' / 'switch' / 'report.md'}"
    assert lines[5].startswith("  region-outage: FAILED in ")
    assert not any("detection" in line for line in lines)
