"""The emulator's Lambda additions: provisioned concurrency configs and the concurrency quota.

moto answers ListProvisionedConcurrencyConfigs with a 404 and GetServiceQuota for Lambda with
NoSuchResourceException; opsctl's readiness reads both, so the emulator serves them.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

REGION = "us-west-2"


@pytest.fixture
def lambda_(aws_endpoint: str) -> Any:
    """A published function `authorizer` with an alias `live` on version 1."""
    role = boto3.client("iam").create_role(
        RoleName="authorizer-role",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as bundle:
        bundle.writestr("functions/__init__.py", "")
    client = boto3.client("lambda", region_name=REGION)
    client.create_function(
        FunctionName="authorizer",
        Runtime="python3.12",
        Role=role["Arn"],
        Handler="functions.authorizer.app.handler",
        Code={"ZipFile": code.getvalue()},
        Publish=True,
    )
    client.create_alias(FunctionName="authorizer", Name="live", FunctionVersion="1")
    return client


def listed(lambda_: Any, function: str) -> list[dict[str, Any]]:
    pages = lambda_.get_paginator("list_provisioned_concurrency_configs").paginate(
        FunctionName=function
    )
    return [config for page in pages for config in page["ProvisionedConcurrencyConfigs"]]


def test_provisioned_concurrency_on_an_alias_is_listed_by_its_qualified_arn(lambda_: Any) -> None:
    assert listed(lambda_, "authorizer") == []
    put = lambda_.put_provisioned_concurrency_config(
        FunctionName="authorizer", Qualifier="live", ProvisionedConcurrentExecutions=5
    )
    assert put["Status"] == "READY"
    assert put["AllocatedProvisionedConcurrentExecutions"] == 5
    alias_arn = lambda_.get_alias(FunctionName="authorizer", Name="live")["AliasArn"]
    # Readiness lists by the alias ARN it finds in the API's authorizer URI.
    (config,) = listed(lambda_, alias_arn)
    assert config["FunctionArn"] == alias_arn
    assert config["RequestedProvisionedConcurrentExecutions"] == 5
    got = lambda_.get_provisioned_concurrency_config(FunctionName="authorizer", Qualifier="live")
    assert got["AvailableProvisionedConcurrentExecutions"] == 5
    lambda_.delete_provisioned_concurrency_config(FunctionName="authorizer", Qualifier="live")
    assert listed(lambda_, "authorizer") == []


def test_provisioned_concurrency_needs_an_existing_alias_or_version(lambda_: Any) -> None:
    with pytest.raises(ClientError) as latest:
        lambda_.put_provisioned_concurrency_config(
            FunctionName="authorizer", Qualifier="$LATEST", ProvisionedConcurrentExecutions=1
        )
    assert latest.value.response["Error"]["Code"] == "InvalidParameterValueException"
    with pytest.raises(ClientError) as missing:
        lambda_.put_provisioned_concurrency_config(
            FunctionName="authorizer", Qualifier="canary", ProvisionedConcurrentExecutions=1
        )
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as no_function:
        listed(lambda_, "no-such-function")
    assert no_function.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert listed(lambda_, "authorizer") == []


@pytest.mark.parametrize("region", ["us-east-1", "us-west-2"])
def test_lambda_concurrency_quota_is_the_aws_default(aws_endpoint: str, region: str) -> None:
    quotas = boto3.client("service-quotas", region_name=region)
    quota = quotas.get_service_quota(ServiceCode="lambda", QuotaCode="L-B99A9384")["Quota"]
    assert quota["Value"] == 1000.0
    assert quota["QuotaArn"].startswith(f"arn:aws:servicequotas:{region}:")
    # Other quotas keep moto's answers: still refused for services it does not know.
    with pytest.raises(ClientError) as refused:
        quotas.get_service_quota(ServiceCode="lambda", QuotaCode="L-2ACBD22F")
    assert refused.value.response["Error"]["Code"] == "NoSuchResourceException"
