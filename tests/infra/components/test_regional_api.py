"""RegionalApi per Region: REST API, authorizer, routes, deployment, stage, custom domain."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from functions.authorizer.tokens import TokenRejected, extract_bearer_token
from infra.components import regional_api
from infra.components.regional_api import ApiDefinition, Route
from infra.mockrun import ProgramRun
from tests.infra.plan import APP, REGIONS, RunProgram


@pytest.mark.parametrize("role", REGIONS)
def test_execution_log_group_exists_before_api_gateway_would_create_it(
    run_with: RunProgram, role: str
) -> None:
    # With method logging on, API Gateway creates `API-Gateway-Execution-Logs_<api>/<stage>`
    # itself (never expiring) unless it already exists when the stage starts logging.
    run = run_with(logRetentionDays=14)
    api = run.named(f"{role}-rest-api")
    logs = run.named(f"{role}-execution-logs")
    assert logs.inputs["name"] == f"API-Gateway-Execution-Logs_{api.id}/prod"
    assert logs.region == REGIONS[role]
    assert logs.inputs["retentionInDays"] == 14
    (component,) = [r for r in run.resources
                    if r.type.endswith(":infra:RegionalApi") and r.name == role]  # fmt: skip
    assert logs.parent == component.urn
    stage = run.named(f"{role}-stage")
    method_settings = run.named(f"{role}-method-settings")
    assert method_settings.inputs["settings"]["loggingLevel"] == "ERROR"
    assert logs.urn in stage.dependencies
    assert logs.urn in method_settings.dependencies


@pytest.mark.parametrize("role", REGIONS)
def test_rest_api_routes_authorizer_and_stage(default_run: ProgramRun, role: str) -> None:
    region = REGIONS[role]
    api = default_run.named(f"{role}-rest-api")
    assert api.region == region
    assert api.inputs["endpointConfiguration"]["types"] == "REGIONAL"

    authorizer = default_run.named(f"{role}-token-authorizer")
    assert authorizer.inputs["type"] == "TOKEN"
    assert authorizer.inputs["identitySource"] == "method.request.header.Authorization"
    assert authorizer.inputs["authorizerResultTtlInSeconds"] == 300
    alias = default_run.named(f"{role}-authorizer-live")
    assert authorizer.inputs["authorizerUri"] == alias.outputs["invokeArn"]

    methods = {
        (m.name.removeprefix(f"{role}-")): m.inputs
        for m in default_run.of_type("aws:apigateway/method:Method")
        if m.region == region
    }
    assert set(methods) == {
        "get-health", "get-health-signed", "get-whoami", "post-sessions", "get-sessions-id"
    }  # fmt: skip
    assert methods["get-health"]["authorization"] == "NONE"
    assert "authorizerId" not in methods["get-health"]
    assert methods["get-health-signed"]["authorization"] == "AWS_IAM"
    assert "authorizerId" not in methods["get-health-signed"]
    for protected in ("get-whoami", "post-sessions", "get-sessions-id"):
        assert methods[protected]["authorization"] == "CUSTOM"
        assert methods[protected]["authorizerId"] == authorizer.id

    paths = {r.inputs["pathPart"] for r in default_run.of_type("aws:apigateway/resource:Resource")
             if r.region == region}  # fmt: skip
    assert paths == {"health", "signed", "whoami", "sessions", "{id}"}

    for integration in default_run.of_type("aws:apigateway/integration:Integration"):
        if integration.region != region:
            continue
        target = "health" if "health" in integration.name else "api"
        assert integration.inputs["type"] == "AWS_PROXY"
        assert integration.inputs["integrationHttpMethod"] == "POST"
        assert (
            integration.inputs["uri"] == default_run.named(f"{role}-{target}").outputs["invokeArn"]
        )

    stage = default_run.named(f"{role}-stage")
    assert stage.inputs["stageName"] == "prod"
    assert stage.inputs["xrayTracingEnabled"] is True
    access_logs = default_run.named(f"{role}-access-logs")
    assert stage.inputs["accessLogSettings"]["destinationArn"] == access_logs.outputs["arn"]
    assert "$context.requestId" in stage.inputs["accessLogSettings"]["format"]
    settings = default_run.named(f"{role}-method-settings").inputs
    assert settings["methodPath"] == "*/*"
    assert settings["settings"]["throttlingRateLimit"] == 100
    assert settings["settings"]["throttlingBurstLimit"] == 200


API_PARTS = (
    "aws:apigateway/authorizer:Authorizer",
    "aws:apigateway/resource:Resource",
    "aws:apigateway/method:Method",
    "aws:apigateway/integration:Integration",
)


def trigger(run: ProgramRun, role: str = "primary") -> str:
    return run.named(f"{role}-deployment").inputs["triggers"]["api"]


@pytest.mark.parametrize("role", REGIONS)
def test_deployment_comes_after_every_part_of_the_api(default_run: ProgramRun, role: str) -> None:
    deployment = default_run.named(f"{role}-deployment")
    parts = [r for t in API_PARTS for r in default_run.of_type(t) if r.region == REGIONS[role]]
    assert len(parts) == 16  # the authorizer, 5 path parts, 5 methods and their integrations
    # A resource policy takes effect only with a new deployment.
    parts.append(default_run.named(f"{role}-policy"))
    assert {p.urn for p in parts} <= set(deployment.dependencies)
    assert default_run.named(f"{role}-stage").inputs["deployment"] == deployment.id
    assert trigger(default_run, "primary") != trigger(default_run, "secondary")


def _changed_argument(part: str, argument: str, value: object) -> Callable[..., Any]:
    """ApiDefinition.declare as if the program declared `part` with another `argument`."""
    declare = ApiDefinition.declare

    def changed(
        self: ApiDefinition,
        resource_type: Callable[..., Any],
        resource_name: str,
        opts: Any,
        /,
        **arguments: Any,
    ) -> Any:
        if resource_name == f"primary-{part}":
            assert argument in arguments, (part, sorted(arguments))
            arguments = {**arguments, argument: value}
        return declare(self, resource_type, resource_name, opts, **arguments)

    return changed


@pytest.mark.parametrize(
    ("part", "argument", "value"),
    [
        ("token-authorizer", "identity_source", "method.request.header.X-Token"),
        ("token-authorizer", "authorizer_uri", "arn:aws:apigateway:us-east-1:lambda:path/x"),
        ("token-authorizer", "type", "REQUEST"),
        ("get-whoami", "authorization", "NONE"),
        ("get-whoami", "request_parameters", {"method.request.header.X-Token": True}),
        ("get-sessions-id-integration", "uri", "arn:aws:apigateway:us-east-1:lambda:path/y"),
        ("get-sessions-id-integration", "type", "AWS"),
        ("res-sessions", "path_part", "games"),
    ],
)
def test_any_change_to_the_api_reaches_the_stage_through_a_new_deployment(
    default_run: ProgramRun,
    run_with: RunProgram,
    monkeypatch: pytest.MonkeyPatch,
    part: str,
    argument: str,
    value: object,
) -> None:
    monkeypatch.setattr(ApiDefinition, "declare", _changed_argument(part, argument, value))
    run = run_with()
    # The change reached the declared resource, and a new deployment with it.
    before = default_run.named(f"primary-{part}").inputs[_camel(argument)]
    assert run.named(f"primary-{part}").inputs[_camel(argument)] != before
    assert trigger(run) != trigger(default_run)
    assert trigger(run, "secondary") == trigger(default_run, "secondary")


def test_a_new_route_or_cache_ttl_reaches_the_stage(
    default_run: ProgramRun, run_with: RunProgram, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert trigger(run_with(authorizerCacheTtl=60)) != trigger(default_run)
    delete_session = Route(("sessions", "{id}"), "DELETE", "api")
    monkeypatch.setattr(regional_api, "ROUTES", (*regional_api.ROUTES, delete_session))
    assert trigger(run_with()) != trigger(default_run)
    # The same program declares the same API: no deployment without a change.
    monkeypatch.undo()
    assert trigger(run_with()) == trigger(default_run)


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(word.title() for word in rest)


def test_cache_ttl_and_throttling_come_from_config(run_with: RunProgram) -> None:
    run = run_with(authorizerCacheTtl=60, throttleRateLimit=50, throttleBurstLimit=80)
    for role in REGIONS:
        assert run.named(f"{role}-token-authorizer").inputs["authorizerResultTtlInSeconds"] == 60
        limits = run.named(f"{role}-method-settings").inputs["settings"]
        assert (limits["throttlingRateLimit"], limits["throttlingBurstLimit"]) == (50, 80)


def test_api_gateway_may_invoke_exactly_its_functions(default_run: ProgramRun) -> None:
    for role, region in REGIONS.items():
        api = default_run.named(f"{role}-rest-api")
        execution_arn = api.outputs["executionArn"]
        authorizer = default_run.named(f"{role}-token-authorizer")
        permissions = {p.name: p.inputs for p in default_run.of_type(
            "aws:lambda/permission:Permission") if p.region == region}  # fmt: skip
        assert permissions[f"{role}-authorizer-invoke"]["sourceArn"] == (
            f"{execution_arn}/authorizers/{authorizer.id}"
        )
        assert permissions[f"{role}-authorizer-invoke"]["qualifier"] == "live"
        for fn in ("api", "health"):
            permission = permissions[f"{role}-{fn}-invoke"]
            assert permission["principal"] == "apigateway.amazonaws.com"
            assert permission["sourceArn"] == f"{execution_arn}/prod/*/*"
            assert permission["function"] == f"{APP}-{fn}"


def test_custom_domain_is_the_same_hostname_in_both_regions(default_run: ProgramRun) -> None:
    for role, region in REGIONS.items():
        certificate = default_run.named(f"{role}-certificate")
        assert certificate.region == region
        assert certificate.inputs["domainName"] == "auth.example.com"
        assert certificate.inputs["validationMethod"] == "DNS"
        validation = default_run.named(f"{role}-certificate-validation")
        assert validation.region == region
        assert validation.inputs["certificateArn"] == certificate.outputs["arn"]
        domain = default_run.named(f"{role}-domain")
        assert domain.region == region
        assert domain.inputs["domainName"] == "auth.example.com"
        assert domain.inputs["endpointConfiguration"]["types"] == "REGIONAL"
        assert domain.inputs["regionalCertificateArn"] == certificate.outputs["arn"]
        # The domain waits for its certificate's validation.
        assert validation.urn in domain.dependencies
        mapping = default_run.named(f"{role}-base-path")
        assert mapping.inputs["domainName"] == "auth.example.com"
        assert mapping.inputs["restApi"] == default_run.named(f"{role}-rest-api").id
        assert mapping.inputs["stageName"] == "prod"


@pytest.mark.parametrize("role", ["primary", "secondary"])
def test_the_api_gateway_account_waits_for_its_roles_policy(
    default_run: ProgramRun, role: str
) -> None:
    """API Gateway refuses a logging role that cannot yet write logs."""
    account = default_run.named(f"{role}-apigw-account")
    assert default_run.named(f"{role}-apigw-logs-policy").urn in account.dependencies


def test_api_gateway_account_logging_role_is_optional(run_with: RunProgram) -> None:
    run = run_with(manageApiGatewayAccount=False)
    assert run.of_type("aws:apigateway/account:Account") == []
    assert not [r for r in run.of_type("aws:iam/role:Role") if "apigw" in r.name]


JWT = (
    "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS0yMDI2LTExIn0"
    ".eyJzdWIiOiJ1c2VyLThmMTRlNDVmIiwiaXNzIjoiaHR0cHM6Ly9pZHAuZXhhbXBsZS5jb20vIn0"
    ".c2lnbmF0dXJlLWJ5dGVz"
)


@pytest.mark.parametrize("role", ["primary", "secondary"])
def test_the_authorizer_is_invoked_only_for_a_bearer_jwt(
    default_run: ProgramRun, role: str
) -> None:
    expression = default_run.named(f"{role}-token-authorizer").inputs[
        "identityValidationExpression"
    ]
    shape = re.compile(expression)  # the subset used here means the same in Java and Python
    for accepted in (f"Bearer {JWT}", f"bearer {JWT}", f"BEARER {JWT}"):
        assert shape.fullmatch(accepted)
        assert extract_bearer_token(accepted) == JWT  # and the authorizer would read it
    for junk in ("Bearer", f"Basic {JWT}", "Bearer not-a-jwt", f"Bearer {JWT}.x",
                 f"Bearer  {JWT}", "Bearer a.b", "' OR 1=1 --"):  # fmt: skip
        assert not shape.fullmatch(junk), junk
        with pytest.raises(TokenRejected):
            extract_bearer_token(junk)
