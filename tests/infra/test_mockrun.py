"""The mock runner's own promises (the sandbox provisions through it) and `infra.preview`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra import preview
from infra.mockrun import ProgramRun, RealisticMocks, load_config, run_program


class RegionLog(RealisticMocks):
    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None]] = []

    def new_resource(self, args: Any) -> tuple[str | None, dict]:
        self.seen.append((args.typ, args.region))
        if args.typ == "aws:apigateway/stage:Stage":
            # What the sandbox does: point the stage at a loopback front.
            return "stage", {**args.inputs, "invokeUrl": f"http://127.0.0.1:9000/{args.region}"}
        return super().new_resource(args)


def test_custom_mocks_see_regions_and_shape_the_outputs(stack_file: Path) -> None:
    mocks = RegionLog()
    run = run_program(stack_file, mocks=mocks)
    assert ("aws:dynamodb/table:Table", "us-east-1") in mocks.seen
    assert ("aws:lambda/function:Function", "us-west-2") in mocks.seen
    regions = run.outputs["topology"]["regions"]
    assert regions["secondary"]["apiUrl"] == "http://127.0.0.1:9000/us-west-2"
    assert regions["secondary"]["healthUrl"] == "http://127.0.0.1:9000/us-west-2/health"


def test_repeated_runs_declare_identical_resources(stack_file: Path) -> None:
    first = run_program(stack_file)
    second = run_program(stack_file)
    # Registration order is asynchronous; the set of (urn, id) is what must match.
    assert sorted((r.urn, r.id) for r in first.resources) == sorted(
        (r.urn, r.id) for r in second.resources
    )
    assert first.outputs == second.outputs
    assert len({r.urn for r in first.resources}) == len(first.resources)


def test_urns_and_aliases_are_spelled_as_the_engine_spells_them(default_run: ProgramRun) -> None:
    # What `pulumi stack --show-urns` lists: the root stack's type is no part of its children's.
    prefix = "urn:pulumi:primary::multi-region-authorizer::"
    (provider,) = [r for r in default_run.resources
                   if r.type == "pulumi:providers:aws" and r.name == "primary"]  # fmt: skip
    assert provider.urn == f"{prefix}pulumi:providers:aws::primary"
    record = default_run.named("certificates-validation-record")
    assert record.urn == (
        f"{prefix}multi-region-authorizer:infra:DomainCertificates"
        "$aws:route53/record:Record::certificates-validation-record"
    )
    # An alias with another name and parent names the URN the resource had there.
    assert record.aliases == (
        f"{prefix}multi-region-authorizer:infra:RegionalStack"
        "$aws:route53/record:Record::primary-certificate-validation-record",
    )


def test_config_layers_project_defaults_stack_file_and_overrides(stack_file: Path) -> None:
    config = load_config(stack_file, {"authorizerCacheTtl": 60, "alarmEmail": None})
    assert config["multi-region-authorizer:authorizerCacheTtl"] == "60"
    assert "multi-region-authorizer:alarmEmail" not in config
    assert config["multi-region-authorizer:lambdaMemoryMb"] == "512"  # Pulumi.yaml default
    assert json.loads(config["multi-region-authorizer:authIssuers"]) == ["https://idp.example.com/"]
    assert config["multi-region-authorizer:autoFailover"] == "false"


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
