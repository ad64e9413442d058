"""The health route's guard in each Region: a resource policy admitting only Route 53's health
checkers to GET /health, the method's own throttle bucket, and the IAM-authorized twin route."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra.components.health_guard import (
    HEALTH_THROTTLE_BURST_LIMIT,
    HEALTH_THROTTLE_RATE_LIMIT,
    resource_policy,
)
from infra.mockrun import ProgramRun, RealisticMocks, run_program
from infra.mockrun.mock_aws import (
    ROUTE53_HEALTH_CHECKER_CIDRS,
    ROUTE53_HEALTH_CHECKER_IPV6_CIDRS,
)
from tests.infra.plan import REGIONS, policy

CHECKER_RANGES = sorted([*ROUTE53_HEALTH_CHECKER_CIDRS, *ROUTE53_HEALTH_CHECKER_IPV6_CIDRS])


def statements_by_sid(run: ProgramRun, role: str) -> dict[str, dict[str, Any]]:
    attached = run.named(f"{role}-policy")
    assert attached.type == "aws:apigateway/restApiPolicy:RestApiPolicy"
    assert attached.region == REGIONS[role]
    assert attached.inputs["restApiId"] == run.named(f"{role}-rest-api").id
    return {statement["Sid"]: statement for statement in policy(attached)["Statement"]}


@pytest.mark.parametrize("role", REGIONS)
def test_only_route53_health_checkers_may_get_health(default_run: ProgramRun, role: str) -> None:
    api = default_run.named(f"{role}-rest-api").outputs["executionArn"]
    statements = statements_by_sid(default_run, role)
    health = f"{api}/prod/GET/health"
    allowed = statements["HealthFromRoute53Checkers"]
    assert (allowed["Effect"], allowed["Principal"], allowed["Action"], allowed["Resource"]) == (
        "Allow", "*", "execute-api:Invoke", health
    )  # fmt: skip
    # Both families of the ranges Route 53 publishes for its checkers.
    assert allowed["Condition"] == {"IpAddress": {"aws:SourceIp": CHECKER_RANGES}}
    denied = statements["HealthOnlyFromRoute53Checkers"]
    assert (denied["Effect"], denied["Principal"], denied["Resource"]) == ("Deny", "*", health)
    assert denied["Condition"] == {"NotIpAddress": {"aws:SourceIp": CHECKER_RANGES}}


@pytest.mark.parametrize("role", REGIONS)
def test_token_routes_stay_open_and_the_signed_route_is_left_to_iam(
    default_run: ProgramRun, role: str
) -> None:
    api = default_run.named(f"{role}-rest-api").outputs["executionArn"]
    statements = statements_by_sid(default_run, role)
    assert set(statements) == {
        "TokenRoutes", "HealthFromRoute53Checkers", "HealthOnlyFromRoute53Checkers"
    }  # fmt: skip
    assert statements["TokenRoutes"]["Effect"] == "Allow"
    assert statements["TokenRoutes"]["Resource"] == [
        f"{api}/prod/GET/whoami",
        f"{api}/prod/POST/sessions",
        f"{api}/prod/GET/sessions/*",
    ]
    # With no statement for it, a signed caller of this account needs an IAM policy allowing it:
    # a principal of any other account, or one without that policy, is refused.
    text = str(policy(default_run.named(f"{role}-policy")))
    assert "health/signed" not in text


@pytest.mark.parametrize("role", REGIONS)
def test_the_signed_twin_is_served_by_the_health_function(
    default_run: ProgramRun, role: str
) -> None:
    region = REGIONS[role]
    (method,) = [m for m in default_run.of_type("aws:apigateway/method:Method")
                 if m.region == region and m.name == f"{role}-get-health-signed"]  # fmt: skip
    assert method.inputs["authorization"] == "AWS_IAM"
    signed = default_run.named(f"{role}-res-health-signed")
    assert signed.inputs["pathPart"] == "signed"
    assert signed.inputs["parentId"] == default_run.named(f"{role}-res-health").id
    integration = default_run.named(f"{role}-get-health-signed-integration")
    health = default_run.named(f"{role}-get-health-integration")
    assert integration.inputs["uri"] == health.inputs["uri"]


@pytest.mark.parametrize("role", REGIONS)
def test_the_health_method_has_a_throttle_bucket_of_its_own(
    default_run: ProgramRun, role: str
) -> None:
    own = default_run.named(f"{role}-health-method-settings")
    stage = default_run.named(f"{role}-stage")
    assert own.region == REGIONS[role]
    assert (own.inputs["restApi"], own.inputs["stageName"]) == (
        stage.inputs["restApi"],
        stage.inputs["stageName"],
    )
    assert own.inputs["methodPath"] == "health/GET"
    assert own.inputs["settings"] == {
        "metricsEnabled": True,
        "loggingLevel": "ERROR",
        "throttlingRateLimit": HEALTH_THROTTLE_RATE_LIMIT,
        "throttlingBurstLimit": HEALTH_THROTTLE_BURST_LIMIT,
    }
    # Both settings patch the stage: one after the other.
    assert default_run.named(f"{role}-method-settings").urn in own.dependencies


class MovedRanges(RealisticMocks):
    def ip_ranges(self, query: dict[str, Any]) -> dict[str, Any]:
        answer = super().ip_ranges(query)
        return {**answer, "cidrBlocks": [*answer["cidrBlocks"], "15.177.0.0/18"]}


def test_new_checker_ranges_redeploy_the_stage(stack_file: Path, default_run: ProgramRun) -> None:
    moved = run_program(stack_file, MovedRanges())
    statements = statements_by_sid(moved, "primary")
    assert (
        "15.177.0.0/18"
        in statements["HealthFromRoute53Checkers"]["Condition"]["IpAddress"]["aws:SourceIp"]
    )
    trigger = "primary-deployment"
    assert moved.named(trigger).inputs["triggers"] != default_run.named(trigger).inputs["triggers"]


def test_no_ranges_is_refused_rather_than_a_health_route_nobody_may_call() -> None:
    with pytest.raises(ValueError, match="no Route 53 health-checker ranges"):
        resource_policy("arn:aws:execute-api:us-east-1:123456789012:abc", [], [])
