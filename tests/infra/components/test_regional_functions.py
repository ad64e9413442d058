"""RegionalFunctions per Region: functions, failure switch, provisioned concurrency, IAM."""

from __future__ import annotations

import fnmatch
import json

import pytest

from functions.api.store import SESSION_PARTITION_PREFIX
from functions.authorizer.store import REVOKED_PARTITION
from functions.health.checks import PROBE_KEY
from infra.mockrun import ProgramRun
from tests.infra.plan import APP, REGIONS, RunProgram, by_region, only, policy

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
        "AUTHORIZER_ALIAS_ARN": (
            f"arn:aws:lambda:us-west-2:123456789012:function:{APP}-authorizer:live"
        ),
    }
    # The canary invokes exactly the alias API Gateway invokes.
    alias = default_run.named("secondary-authorizer-live")
    assert alias.inputs["name"] == "live"
    assert alias.inputs["functionName"] == default_run.named("secondary-authorizer").outputs["name"]


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
    assert len(groups) == 12  # 4 functions (the watcher too), access and execution logs, per Region
    assert {g.inputs["retentionInDays"] for g in groups} == {90}


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
    assert len(documents) == 10  # 4 functions + API Gateway logging role, per Region
    for document in documents:
        for statement in policy(document)["Statement"]:
            assert statement["Effect"] == "Allow"
            actions = statement["Action"]
            resources = statement["Resource"]
            assert all("*" not in action for action in actions), (document.name, actions)
            if "*" in resources:
                assert resources == ["*"]
                # PutMetricData has no resource-level permission: its namespace holds it.
                metrics_in_own_namespace = actions == ["cloudwatch:PutMetricData"] and statement[
                    "Condition"
                ] == {"StringEquals": {"cloudwatch:namespace": "MultiRegionAuthorizer/Watch"}}
                assert metrics_in_own_namespace or set(actions) <= {
                    "xray:PutTraceSegments",
                    "xray:PutTelemetryRecords",
                }


@pytest.mark.parametrize("role", REGIONS)
def test_each_function_gets_only_what_it_uses(default_run: ProgramRun, role: str) -> None:
    region = REGIONS[role]
    table_arn = f"arn:aws:dynamodb:{region}:123456789012:table/{APP}-state"
    granted = {
        fn: {(a, r) for s in statements(default_run, f"{role}-{fn}-policy")
             for a in s["Action"] for r in s["Resource"]}
        for fn in (*FUNCTIONS, "watcher")
    }  # fmt: skip
    logs = {
        fn: f"arn:aws:logs:{region}:123456789012:log-group:/aws/lambda/{APP}-{fn}:*"
        for fn in (*FUNCTIONS, "watcher")
    }
    xray = {("xray:PutTraceSegments", "*"), ("xray:PutTelemetryRecords", "*")}

    def base(fn: str) -> set[tuple[str, str]]:
        return {("logs:CreateLogStream", logs[fn]), ("logs:PutLogEvents", logs[fn])} | xray

    assert granted["authorizer"] == base("authorizer") | {("dynamodb:Query", table_arn)}
    assert granted["api"] == base("api") | {
        (a, table_arn)
        for a in ("dynamodb:GetItem", "dynamodb:PutItem")
    }  # fmt: skip
    switch = f"arn:aws:ssm:{region}:123456789012:parameter/{APP}/health/failure-switch"
    alias = f"arn:aws:lambda:{region}:123456789012:function:{APP}-authorizer:live"
    assert granted["health"] == base("health") | {
        ("dynamodb:GetItem", table_arn),
        ("ssm:GetParameter", switch),
        ("lambda:InvokeFunction", alias),  # the canary: the authorizer's alias, nothing else
    }
    # The watcher reads no table: it publishes PeerHealthy, in its namespace only, and GETs the
    # other Region's signed health route (tests/infra/components/test_watch.py).
    peer_health = [(a, r) for a, r in granted["watcher"] if a == "execute-api:Invoke"]
    assert [r.endswith("/prod/GET/health/signed") for _, r in peer_health] == [True]
    assert granted["watcher"] == base("watcher") | {("cloudwatch:PutMetricData", "*"), *peer_health}


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
    # The API must never be able to delete or forge a revocation.
    assert not api_may_touch(REVOKED_PARTITION)


def test_roles_trust_only_their_service(default_run: ProgramRun) -> None:
    for role in default_run.of_type("aws:iam/role:Role"):
        trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        if "apigw" in role.name:
            # API Gateway assumes the logging role only on this account's behalf.
            assert trust == [
                {"Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"},
                 "Action": "sts:AssumeRole",
                 "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}
            ]  # fmt: skip
        else:
            assert trust == [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                 "Action": "sts:AssumeRole"}
            ]  # fmt: skip
