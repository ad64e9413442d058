"""Deployed resources keep their identity: every URN a deployed stack holds is found again."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from infra.mockrun import ProgramRun
from tests.infra.plan import RunProgram

DEPLOYED_URNS = Path(__file__).with_name("deployed_urns.txt")
EVERY_FEATURE = {
    "faultInjection": True,
    "secondaryProvisionedConcurrency": 3,
    "autoFailover": True,
    "alarmEmail": "oncall@example.com",
    "manageApiGatewayAccount": True,
}


def deployed_urns() -> list[str]:
    lines = DEPLOYED_URNS.read_text().splitlines()
    return [line for line in lines if line and not line.startswith("#")]


@pytest.fixture(scope="module")
def every_feature_run(run_with: RunProgram) -> ProgramRun:
    return run_with(**EVERY_FEATURE)


def test_every_deployed_resource_is_found_under_its_urn_or_an_alias(
    every_feature_run: ProgramRun,
) -> None:
    known = {urn for r in every_feature_run.resources if r.custom for urn in (r.urn, *r.aliases)}
    assert [urn for urn in deployed_urns() if urn not in known] == []


def test_no_two_resources_claim_the_same_urn(every_feature_run: ProgramRun) -> None:
    # The engine refuses a program in which two resources would take over one deployed resource.
    claims = Counter(urn for r in every_feature_run.resources for urn in {r.urn, *r.aliases})
    assert [urn for urn, count in claims.items() if count > 1] == []


def test_moved_regional_resources_alias_their_former_regional_stack(
    every_feature_run: ProgramRun,
) -> None:
    components = {
        r.urn: r.name
        for r in every_feature_run.resources
        if r.type.endswith((":infra:RegionalFunctions", ":infra:RegionalApi"))
    }
    moved = [r for r in every_feature_run.resources if r.parent in components]
    assert len(moved) > 80
    for resource in moved:
        former = (
            "urn:pulumi:primary::multi-region-authorizer::multi-region-authorizer:infra:"
            f"RegionalStack${resource.type}::{resource.name}"
        )
        assert former in resource.aliases, resource.urn
        assert resource.name.startswith(f"{components[resource.parent]}-")
