"""FIS experiment templates exist only behind `faultInjection: true`."""

from __future__ import annotations

import json

import pytest

from infra.mockrun import ProgramRun
from tests.infra.plan import RunProgram, policy

APP = "multi-region-authorizer-primary"
FIS_TYPES = (
    "aws:fis/experimentTemplate:ExperimentTemplate",
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
)


@pytest.fixture(scope="module")
def fis_run(run_with: RunProgram) -> ProgramRun:
    return run_with(faultInjection=True, faultDurationMinutes=10, faultInvocationPercentage=40,
                    faultDelayMs=2500)  # fmt: skip


def test_off_by_default(default_run: ProgramRun) -> None:
    for type_ in FIS_TYPES:
        assert default_run.of_type(type_) == []
    for fn in ("api", "health"):
        env = default_run.named(f"primary-{fn}").inputs["environment"]["variables"]
        assert "AWS_LAMBDA_EXEC_WRAPPER" not in env
    assert not [c for c in default_run.calls if c.token == "aws:ssm/getParameter:getParameter"]


def test_templates_target_the_primarys_api_and_health_functions(fis_run: ProgramRun) -> None:
    templates = {t.name: t for t in fis_run.of_type(FIS_TYPES[0])}
    assert set(templates) == {"fault-injection-lambda-errors", "fault-injection-lambda-latency"}
    function_arns = sorted(
        fis_run.named(f"primary-{fn}").outputs["arn"] for fn in ("api", "health")
    )
    # The Region's impairment signals; a certificate near expiry is no reason to stop a drill.
    stop_alarms = sorted(
        a.outputs["arn"] for a in fis_run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        if a.name.startswith("primary-alarms-") and not a.name.endswith("certificate-expiry")
    )  # fmt: skip
    assert len(stop_alarms) == 4
    role = fis_run.named("fault-injection-role")
    for template in templates.values():
        inputs = template.inputs
        assert template.region == "us-east-1"
        assert inputs["roleArn"] == role.outputs["arn"]
        (target,) = inputs["targets"]
        assert target["resourceType"] == "aws:lambda:function"
        assert target["selectionMode"] == "ALL"
        assert sorted(target["resourceArns"]) == function_arns
        assert sorted(s["value"] for s in inputs["stopConditions"]) == stop_alarms
        assert {s["source"] for s in inputs["stopConditions"]} == {"aws:cloudwatch:alarm"}

    def parameters(name: str) -> dict[str, str]:
        (action,) = templates[name].inputs["actions"]
        return {p["key"]: p["value"] for p in action["parameters"]} | {"id": action["actionId"]}

    assert parameters("fault-injection-lambda-errors") == {
        "id": "aws:lambda:invocation-error",
        "duration": "PT10M",
        "invocationPercentage": "40",
        "preventExecution": "true",
    }
    assert parameters("fault-injection-lambda-latency") == {
        "id": "aws:lambda:invocation-add-delay",
        "duration": "PT10M",
        "invocationPercentage": "40",
        "startupDelayMilliseconds": "2500",
    }


def test_only_the_primarys_targets_carry_the_fis_extension(fis_run: ProgramRun) -> None:
    bucket = fis_run.named("fault-injection")
    location = f"arn:aws:s3:::{bucket.outputs['bucket']}/FisConfigs/"
    (lookup,) = [c for c in fis_run.calls if c.token == "aws:ssm/getParameter:getParameter"]
    assert lookup.args["name"] == "/aws/service/fis/lambda-extension/AWS-FIS-extension-arm64/1.x.x"
    assert lookup.region == "us-east-1"
    for role in ("primary", "secondary"):
        for fn in ("authorizer", "api", "health"):
            function = fis_run.named(f"{role}-{fn}").inputs
            env = function["environment"]["variables"]
            targeted = role == "primary" and fn != "authorizer"
            assert (lookup.result["value"] in function["layers"]) is targeted
            assert (env.get("AWS_FIS_CONFIGURATION_LOCATION") == location) is targeted
            assert (env.get("AWS_LAMBDA_EXEC_WRAPPER") == "/opt/aws-fis/bootstrap") is targeted
    private = fis_run.of_type(FIS_TYPES[2])[0].inputs
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    assert all(private[flag] is True for flag in flags)


def test_fis_permissions_are_scoped_to_the_config_prefix_and_targets(fis_run: ProgramRun) -> None:
    bucket_arn = fis_run.named("fault-injection").outputs["arn"]
    experiment = policy(fis_run.named("fault-injection-policy"))["Statement"]
    assert experiment == [
        {"Effect": "Allow", "Action": ["lambda:GetFunction"],
         "Resource": [fis_run.named("primary-api").outputs["arn"],
                      fis_run.named("primary-health").outputs["arn"]]},
        {"Effect": "Allow", "Action": ["s3:PutObject", "s3:DeleteObject"],
         "Resource": [f"{bucket_arn}/FisConfigs/*"]},
    ]  # fmt: skip
    trust = json.loads(fis_run.named("fault-injection-role").inputs["assumeRolePolicy"])
    assert trust["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "fis.amazonaws.com"},
         "Action": "sts:AssumeRole",
         "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}
    ]  # fmt: skip
    for fn in ("api", "health"):
        statements = policy(fis_run.named(f"primary-{fn}-policy"))["Statement"]
        s3 = [s for s in statements if s["Action"][0].startswith("s3:")]
        assert s3 == [
            {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [bucket_arn],
             "Condition": {"StringLike": {"s3:prefix": ["FisConfigs/*"]}}},
            {"Effect": "Allow", "Action": ["s3:GetObject"],
             "Resource": [f"{bucket_arn}/FisConfigs/*"]},
        ]  # fmt: skip
    for statement in policy(fis_run.named("primary-authorizer-policy"))["Statement"]:
        assert not statement["Action"][0].startswith("s3:")
