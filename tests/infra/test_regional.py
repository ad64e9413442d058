"""One RegionalStack per Region: functions, REST API, custom domain, failure switch, IAM."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable
from typing import Any

import pytest

from functions.api.idempotency import RECORD_PARTITION
from functions.api.store import SESSION_PARTITION_PREFIX
from functions.authorizer.store import REVOKED_PARTITION
from functions.health.checks import PROBE_KEY
from infra import regional
from infra.mockrun import ProgramRun
from infra.regional import ApiDefinition
from tests.infra.plan import RunProgram, by_region, only, policy

REGIONS = {"primary": "us-east-1", "secondary": "us-west-2"}
APP = "multi-region-authorizer-primary"
FUNCTIONS = ("authorizer", "api", "health")
PROVISIONED = "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig"


@pytest.mark.parametrize("role", REGIONS)
@pytest.mark.parametrize("fn", FUNCTIONS)
def test_functions_run_on_arm64_python_with_tracing_and_powertools(
    default_run: ProgramRun, role: str, fn: str
) -> None:
    region = REGIONS[role]
    function = default_run.named(f"{role}-{fn}")
    assert function.region == region
    inputs = function.inputs
    assert inputs["name"] == f"{APP}-{fn}"
    assert inputs["handler"] == f"functions.{fn}.app.handler"
    assert inputs["runtime"] == "python3.12"
    assert inputs["architectures"] == ["arm64"]
    assert inputs["tracingConfig"] == {"mode": "Active"}
    deps = default_run.named(f"{role}-deps")
    # Only our dependency layer: the AWS-managed Powertools layer would bring the X-Ray SDK.
    assert inputs["layers"] == [deps.outputs["arn"]]
    assert deps.region == region
    assert deps.inputs["compatibleArchitectures"] == ["arm64"]
    assert deps.inputs["compatibleRuntimes"] == ["python3.12"]
    log_group = default_run.named(f"{role}-{fn}-logs")
    assert log_group.region == region
    assert log_group.inputs["name"] == f"/aws/lambda/{APP}-{fn}"
    assert inputs["loggingConfig"]["logGroup"] == log_group.inputs["name"]


def test_function_environment_follows_the_contract(default_run: ProgramRun) -> None:
    env = {fn: default_run.named(f"secondary-{fn}").inputs["environment"]["variables"]
           for fn in FUNCTIONS}  # fmt: skip
    common = {
        "TABLE_NAME": f"{APP}-state",
        "POWERTOOLS_METRICS_NAMESPACE": "MultiRegionAuthorizer",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
    auth = {
        "AUTH_ISSUERS": "https://idp.example.com/",
        "AUTH_AUDIENCE": "game-api",
        "AUTH_JWKS_URI": "https://idp.example.com/.well-known/jwks.json",
    }
    assert env["authorizer"] == {**common, **auth, "POWERTOOLS_SERVICE_NAME": "authorizer"}
    assert env["api"] == {**common, "POWERTOOLS_SERVICE_NAME": "api"}
    assert env["health"] == {
        **common,
        **auth,
        "POWERTOOLS_SERVICE_NAME": "health",
        "FAILURE_SWITCH_PARAMETER": f"/{APP}/health/failure-switch",
    }


def test_issuers_and_pinned_jwks_come_from_config(run_with: RunProgram) -> None:
    jwks = {"keys": [{"kty": "RSA", "kid": "k1", "n": "AQAB", "e": "AQAB"}]}
    run = run_with(
        authIssuers=["https://a.example.com/", "https://b.example.com/"],
        authJwksPinned=json.dumps(jwks, indent=2),
    )
    env = run.named("primary-authorizer").inputs["environment"]["variables"]
    assert env["AUTH_ISSUERS"] == "https://a.example.com/,https://b.example.com/"
    assert json.loads(env["AUTH_JWKS_PINNED"]) == jwks


def test_log_retention_comes_from_config(run_with: RunProgram) -> None:
    run = run_with(logRetentionDays=90)
    groups = run.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert len(groups) == 10  # 3 functions, access and execution logs, per Region
    assert {g.inputs["retentionInDays"] for g in groups} == {90}


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
                    if r.type.endswith(":infra:RegionalStack") and r.name == role]  # fmt: skip
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
    assert set(methods) == {"get-health", "get-whoami", "post-sessions", "get-sessions-id"}
    assert methods["get-health"]["authorization"] == "NONE"
    assert "authorizerId" not in methods["get-health"]
    for protected in ("get-whoami", "post-sessions", "get-sessions-id"):
        assert methods[protected]["authorization"] == "CUSTOM"
        assert methods[protected]["authorizerId"] == authorizer.id

    paths = {r.inputs["pathPart"] for r in default_run.of_type("aws:apigateway/resource:Resource")
             if r.region == region}  # fmt: skip
    assert paths == {"health", "whoami", "sessions", "{id}"}

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
    assert len(parts) == 13  # the authorizer, 4 path parts, 4 methods and their integrations
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
    delete_session = (("sessions", "{id}"), "DELETE")
    monkeypatch.setattr(regional, "PROTECTED_ROUTES", (*regional.PROTECTED_ROUTES, delete_session))
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


def test_one_validation_record_serves_both_regions_certificates(default_run: ProgramRun) -> None:
    # ACM asks both certificates for the same CNAME. Two resources owning it (allowOverwrite)
    # meant replacing one Region deleted the record the other still renews with.
    (record,) = [r for r in default_run.of_type("aws:route53/record:Record")
                 if r.inputs["type"] == "CNAME"]  # fmt: skip
    options = [
        default_run.named(f"{role}-certificate").outputs["domainValidationOptions"][0]
        for role in REGIONS
    ]
    assert options[0] == options[1]
    assert record.inputs["zoneId"] == "Z0123456789ABC"
    assert record.inputs["name"] == options[0]["resourceRecordName"]
    assert record.inputs["records"] == [options[0]["resourceRecordValue"]]
    assert "allowOverwrite" not in record.inputs
    for role in REGIONS:
        validation = default_run.named(f"{role}-certificate-validation")
        assert validation.inputs["validationRecordFqdns"] == [record.outputs["fqdn"]]
    (component,) = [r for r in default_run.resources if r.type.endswith(":DomainCertificates")]
    assert record.parent == component.urn


def test_failure_switch_per_region_defaults_healthy_and_survives_pulumi_up(
    default_run: ProgramRun,
) -> None:
    switches = by_region(default_run, "aws:ssm/parameter:Parameter")
    assert set(switches) == set(REGIONS.values())
    for (switch,) in switches.values():
        assert switch.inputs["name"] == f"/{APP}/health/failure-switch"
        assert switch.inputs["type"] == "String"
        assert switch.inputs["value"] == "healthy"
        assert switch.ignore_changes == ("value",)


def test_no_provisioned_concurrency_by_default(default_run: ProgramRun) -> None:
    assert default_run.of_type(PROVISIONED) == []


def test_secondary_authorizer_provisioned_concurrency_from_config(run_with: RunProgram) -> None:
    run = run_with(secondaryProvisionedConcurrency=5)
    config = only(run.of_type(PROVISIONED))
    assert config.region == "us-west-2"
    assert config.inputs["functionName"] == f"{APP}-authorizer"
    assert config.inputs["qualifier"] == "live"
    assert config.inputs["provisionedConcurrentExecutions"] == 5
    alias = run.named("secondary-authorizer-live")
    assert alias.inputs["functionVersion"] == run.named("secondary-authorizer").outputs["version"]
    assert run.named("secondary-authorizer").inputs["publish"] is True


# ---- least privilege ---------------------------------------------------------------------


def statements(run: ProgramRun, name: str) -> list[dict]:
    return policy(run.named(name))["Statement"]


def test_no_policy_grants_wildcard_actions_or_resources_beyond_xray(
    default_run: ProgramRun,
) -> None:
    documents = default_run.of_type("aws:iam/rolePolicy:RolePolicy")
    assert len(documents) == 8  # 3 functions + API Gateway logging role, per Region
    for document in documents:
        for statement in policy(document)["Statement"]:
            assert statement["Effect"] == "Allow"
            actions = statement["Action"]
            resources = statement["Resource"]
            assert all("*" not in action for action in actions), (document.name, actions)
            if "*" in resources:
                assert resources == ["*"]
                assert set(actions) <= {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


@pytest.mark.parametrize("role", REGIONS)
def test_each_function_gets_only_what_it_uses(default_run: ProgramRun, role: str) -> None:
    region = REGIONS[role]
    table_arn = f"arn:aws:dynamodb:{region}:123456789012:table/{APP}-state"
    granted = {
        fn: {(a, r) for s in statements(default_run, f"{role}-{fn}-policy")
             for a in s["Action"] for r in s["Resource"]}
        for fn in FUNCTIONS
    }  # fmt: skip
    logs = {
        fn: f"arn:aws:logs:{region}:123456789012:log-group:/aws/lambda/{APP}-{fn}:*"
        for fn in FUNCTIONS
    }
    xray = {("xray:PutTraceSegments", "*"), ("xray:PutTelemetryRecords", "*")}

    def base(fn: str) -> set[tuple[str, str]]:
        return {("logs:CreateLogStream", logs[fn]), ("logs:PutLogEvents", logs[fn])} | xray

    assert granted["authorizer"] == base("authorizer") | {("dynamodb:Query", table_arn)}
    assert granted["api"] == base("api") | {
        (a, table_arn)
        for a in ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
                  "dynamodb:DeleteItem")
    }  # fmt: skip
    switch = f"arn:aws:ssm:{region}:123456789012:parameter/{APP}/health/failure-switch"
    assert granted["health"] == base("health") | {
        ("dynamodb:GetItem", table_arn),
        ("ssm:GetParameter", switch),
    }


def table_partitions(run: ProgramRun, role: str, fn: str) -> tuple[str, list[str]]:
    """The condition operator and `dynamodb:LeadingKeys` values of `fn`'s table statement."""
    (dynamo,) = [s for s in statements(run, f"{role}-{fn}-policy")
                 if s["Action"][0].startswith("dynamodb:")]  # fmt: skip
    ((operator, keys),) = dynamo["Condition"].items()
    return operator, keys["dynamodb:LeadingKeys"]


@pytest.mark.parametrize("role", REGIONS)
def test_each_function_reaches_only_its_own_partitions_of_the_table(
    default_run: ProgramRun, role: str
) -> None:
    # The spellings come from the functions themselves, so a renamed partition fails here
    # instead of as AccessDenied in production.
    assert table_partitions(default_run, role, "authorizer") == (
        "ForAllValues:StringEquals",
        [REVOKED_PARTITION],
    )
    assert table_partitions(default_run, role, "health") == (
        "ForAllValues:StringEquals",
        [PROBE_KEY["pk"]["S"]],
    )
    operator, patterns = table_partitions(default_run, role, "api")
    assert operator == "ForAllValues:StringLike"

    def api_may_touch(partition: str) -> bool:
        return any(fnmatch.fnmatchcase(partition, pattern) for pattern in patterns)

    assert api_may_touch(SESSION_PARTITION_PREFIX + "0123456789abcdef0123456789abcdef")
    assert api_may_touch(RECORD_PARTITION)
    # The API must never be able to delete or forge a revocation.
    assert not api_may_touch(REVOKED_PARTITION)


def test_roles_trust_only_their_service(default_run: ProgramRun) -> None:
    for role in default_run.of_type("aws:iam/role:Role"):
        trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        service = "apigateway.amazonaws.com" if "apigw" in role.name else "lambda.amazonaws.com"
        assert trust == [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
        ]


def test_api_gateway_account_logging_role_is_optional(run_with: RunProgram) -> None:
    run = run_with(manageApiGatewayAccount=False)
    assert run.of_type("aws:apigateway/account:Account") == []
    assert not [r for r in run.of_type("aws:iam/role:Role") if "apigw" in r.name]
