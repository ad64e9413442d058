"""Helpers for reading a mocked program run in assertions."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from infra.mockrun import DeclaredResource, ProgramRun

RunProgram = Callable[..., ProgramRun]

# The example stack (Pulumi.primary.yaml): its Regions by role, and `<project>-<stack>`.
REGIONS = {"primary": "us-east-1", "secondary": "us-west-2"}
APP = "multi-region-authorizer-primary"


def only(resources: list[DeclaredResource]) -> DeclaredResource:
    assert len(resources) == 1, [r.name for r in resources]
    return resources[0]


def policy(resource: DeclaredResource) -> dict[str, Any]:
    return json.loads(resource.inputs["policy"])


def by_region(run: ProgramRun, type_: str) -> dict[str | None, list[DeclaredResource]]:
    grouped: dict[str | None, list[DeclaredResource]] = {}
    for resource in run.of_type(type_):
        grouped.setdefault(resource.region, []).append(resource)
    return grouped
