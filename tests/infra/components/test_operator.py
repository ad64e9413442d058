"""The operator's managed IAM policy: exactly what opsctl calls, on this app's resources."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.mockrun import ProgramRun
from tests.infra.plan import RunProgram, policy

APP = "multi-region-authorizer-primary"
ACCOUNT = "123456789012"
ZONE_ARN = "arn:aws:route53:::hostedzone/Z0123456789ABC"
# `*` as resource only where IAM leaves no narrower choice: actions without resource-level
# permissions, and DescribeAlarms, which returns composite alarms only when scoped to `*`.
UNSCOPED_ACTIONS = {
    "route53:ListHealthChecks",
    "cloudwatch:DescribeAlarms",
    "cloudwatch:GetMetricData",
    "cloudwatch:PutMetricData",
    "lambda:GetAccountSettings",
}


def granted(run: ProgramRun) -> list[dict[str, Any]]:
    document = run.named("operator")
    assert document.type == "aws:iam/policy:Policy"
    return policy(document)["Statement"]


def resources_of(statements: list[dict[str, Any]], action: str) -> set[str]:
    return {r for s in statements if action in s["Action"] for r in s["Resource"]}


def test_operator_policy_is_a_managed_policy_named_for_the_app(default_run: ProgramRun) -> None:
    document = default_run.named("operator")
    assert document.inputs["name"] == f"{APP}-operator"
    # IAM's limit for a managed policy document (whitespace not counted).
    text = json.dumps(policy(document), separators=(",", ":"))
    assert len(text) < 6144


def test_operator_policy_has_no_wildcard_action_and_unscoped_only_where_iam_must(
    default_run: ProgramRun,
) -> None:
    for statement in granted(default_run):
        assert statement["Effect"] == "Allow"
        assert all("*" not in action for action in statement["Action"]), statement
        if "*" in statement["Resource"]:
            assert statement["Resource"] == ["*"]
            assert set(statement["Action"]) <= UNSCOPED_ACTIONS, statement


def test_operator_policy_grants_exactly_what_opsctl_calls(default_run: ProgramRun) -> None:
    actions = {a for s in granted(default_run) for a in s["Action"]}
    assert actions == {
        # status, discovery, the compare-and-swap
        "route53:ListResourceRecordSets",
        "route53:GetHealthCheckStatus",
        "route53:ListTagsForResources",
        "route53:ListHealthChecks",
        "route53:ChangeResourceRecordSets",
        "route53:GetChange",
        "cloudwatch:DescribeAlarms",
        "cloudwatch:GetMetricData",
        # the data-plane lever
        "cloudwatch:PutMetricData",
        # failure switches
        "ssm:GetParameter",
        "ssm:PutParameter",
        # the drill marker (opsctl drill)
        "ssm:DeleteParameter",
        # readiness
        "lambda:GetAccountSettings",
        "lambda:GetFunctionConcurrency",
        "lambda:ListProvisionedConcurrencyConfigs",
        "apigateway:GET",
        "dynamodb:DescribeTable",
        # revocations
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        # each Region's signed health route (status's probe, its DNS answers)
        "execute-api:Invoke",
    }


def test_operator_may_invoke_only_each_regions_signed_health_route(
    default_run: ProgramRun,
) -> None:
    apis = {r.region: r.id for r in default_run.of_type("aws:apigateway/restApi:RestApi")}
    assert resources_of(granted(default_run), "execute-api:Invoke") == {
        f"arn:aws:execute-api:{region}:{ACCOUNT}:{api_id}/prod/GET/health/signed"
        for region, api_id in apis.items()
    }


def test_operator_revokes_only_in_the_revoked_partition(default_run: ProgramRun) -> None:
    (revocations,) = [s for s in granted(default_run) if "dynamodb:PutItem" in s["Action"]]
    assert sorted(revocations["Action"]) == [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
    ]
    assert set(revocations["Resource"]) == {
        f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{APP}-state"
        for region in ("us-east-1", "us-west-2")
    }
    assert revocations["Condition"] == {
        "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["revoked"]}
    }


def test_the_drill_marker_is_the_only_parameter_opsctl_may_delete(default_run: ProgramRun) -> None:
    (marker,) = resources_of(granted(default_run), "ssm:DeleteParameter")
    assert marker == f"arn:aws:ssm:us-west-2:123456789012:parameter/{APP}/opsctl/drill-running"


def test_weight_change_only_on_this_zones_shared_a_records(default_run: ProgramRun) -> None:
    (change,) = [
        s for s in granted(default_run) if "route53:ChangeResourceRecordSets" in s["Action"]
    ]
    assert change["Action"] == ["route53:ChangeResourceRecordSets"]
    assert change["Resource"] == [ZONE_ARN]
    # Route 53's normalized forms: lower case, no final dot; types and actions upper case.
    assert change["Condition"] == {
        "ForAllValues:StringEquals": {
            "route53:ChangeResourceRecordSetsNormalizedRecordNames": ["auth.example.com"],
            "route53:ChangeResourceRecordSetsRecordTypes": ["A"],
            "route53:ChangeResourceRecordSetsActions": ["CREATE", "DELETE"],
        }
    }
    assert resources_of(granted(default_run), "route53:ListResourceRecordSets") == {ZONE_ARN}


def test_lever_publishing_is_limited_to_its_namespace_and_region(default_run: ProgramRun) -> None:
    (put,) = [s for s in granted(default_run) if "cloudwatch:PutMetricData" in s["Action"]]
    assert put["Action"] == ["cloudwatch:PutMetricData"]
    assert put["Condition"] == {
        "StringEquals": {
            "cloudwatch:namespace": "MultiRegionAuthorizer/Lever",
            "aws:RequestedRegion": "us-west-2",
        }
    }


@pytest.mark.parametrize("auto_failover", [False, True])
def test_operator_reads_every_check_and_alarm_it_judges(
    run_with: RunProgram, auto_failover: bool
) -> None:
    run = run_with(autoFailover=auto_failover)
    statements = granted(run)
    checks = {
        c.id
        for c in run.of_type("aws:route53/healthCheck:HealthCheck")
        # GetHealthCheckStatus refuses a CALCULATED check: no grant for one.
        if c.inputs["type"] != "CALCULATED"
    }
    assert len(checks) == 3
    assert resources_of(statements, "route53:GetHealthCheckStatus") == {
        f"arn:aws:route53:::healthcheck/{check}" for check in checks
    }
    assert resources_of(statements, "route53:GetChange") == {"arn:aws:route53:::change/*"}

    # Each Region's impaired alarm is a composite alarm: readable only with `*`.
    assert resources_of(statements, "cloudwatch:DescribeAlarms") == {"*"}


def test_operator_switches_and_readiness_reads_name_the_deployed_resources(
    default_run: ProgramRun,
) -> None:
    statements = granted(default_run)
    switches = {s.outputs["arn"] for s in default_run.of_type("aws:ssm/parameter:Parameter")}
    marker = resources_of(statements, "ssm:DeleteParameter")  # the drill's: no resource of ours
    assert resources_of(statements, "ssm:PutParameter") == switches | marker
    assert resources_of(statements, "ssm:GetParameter") == switches | marker
    authorizers = {
        f.outputs["arn"]
        for f in default_run.of_type("aws:lambda/function:Function")
        if f.inputs["name"] == f"{APP}-authorizer"
    }
    assert len(authorizers) == 2
    assert resources_of(statements, "lambda:GetFunctionConcurrency") == authorizers
    assert resources_of(statements, "lambda:ListProvisionedConcurrencyConfigs") == authorizers
    api_reads = set()
    for api in default_run.of_type("aws:apigateway/restApi:RestApi"):
        base = f"arn:aws:apigateway:{api.region}::/restapis/{api.id}"
        api_reads |= {f"{base}/authorizers", f"{base}/stages/prod"}
    assert resources_of(statements, "apigateway:GET") == api_reads
    assert resources_of(statements, "dynamodb:DescribeTable") == {
        f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{APP}-state"
        for region in ("us-east-1", "us-west-2")
    }
