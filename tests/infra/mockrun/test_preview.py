"""The plan printer, `python -m infra.mockrun.preview Pulumi.<stack>.yaml`."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.mockrun import ProgramRun, preview


def test_preview_prints_the_plan_and_topology(
    stack_file: Path, default_run: ProgramRun, capsys: pytest.CaptureFixture[str]
) -> None:
    assert preview.main([str(stack_file)]) == 0
    out = capsys.readouterr().out
    assert "aws:route53/healthCheck:HealthCheck" in out
    # The count is of the table's rows: the providers are not resources AWS creates.
    rows = [line for line in out.splitlines() if " aws:" in line]
    assert len(rows) == len(default_run.cloud_resources)
    assert f"\n{len(rows)} resources\n" in out
    assert "us-west-2" in out
    assert '"alarmRegion": "us-east-1"' in out


def test_preview_reports_bad_config_in_one_line(
    tmp_path: Path, stack_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "Pulumi.yaml").write_text((stack_file.parent / "Pulumi.yaml").read_text())
    (tmp_path / "__main__.py").write_text((stack_file.parent / "__main__.py").read_text())
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text(
        stack_file.read_text().replace("healthCheckInterval: 10", "healthCheckInterval: 15")
    )
    assert preview.main([str(bad)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        "error: config key 'multi-region-authorizer:healthCheckInterval': "
        "must be 10 or 30 seconds (got 15)"
    )


def test_preview_usage_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert preview.main([]) == 2
    assert preview.main([str(tmp_path / "Pulumi.none.yaml")]) == 2
    assert "no such stack file" in capsys.readouterr().err
