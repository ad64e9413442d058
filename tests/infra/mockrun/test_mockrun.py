"""The mock runner's own promises (the sandbox provisions through it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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
