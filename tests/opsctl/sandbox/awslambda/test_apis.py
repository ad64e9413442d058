"""The emulator's Lambda additions: provisioned concurrency configs and the account settings.

moto answers ListProvisionedConcurrencyConfigs and GetAccountSettings with a 404; opsctl's
readiness reads both, so the emulator serves them.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from opsctl.sandbox.emulator import Emulator
from tests.opsctl.conftest import create_aliased_function

REGION = "us-west-2"


@pytest.fixture
def lambda_(aws_endpoint: str) -> Any:
    """A published function `authorizer` with an alias `live` on version 1."""
    create_aliased_function(REGION, "authorizer")
    return boto3.client("lambda", region_name=REGION)


def listed(lambda_: Any, function: str) -> list[dict[str, Any]]:
    pages = lambda_.get_paginator("list_provisioned_concurrency_configs").paginate(
        FunctionName=function
    )
    return [config for page in pages for config in page["ProvisionedConcurrencyConfigs"]]


def test_provisioned_concurrency_on_an_alias_is_listed_under_its_function(lambda_: Any) -> None:
    assert listed(lambda_, "authorizer") == []
    put = lambda_.put_provisioned_concurrency_config(
        FunctionName="authorizer", Qualifier="live", ProvisionedConcurrentExecutions=5
    )
    assert put["Status"] == "READY"
    assert put["AllocatedProvisionedConcurrentExecutions"] == 5
    alias_arn = lambda_.get_alias(FunctionName="authorizer", Name="live")["AliasArn"]
    # As in Lambda, the list takes the unqualified function (name or ARN) and names each
    # config's qualifier in its FunctionArn; a qualified name is refused.
    (config,) = listed(lambda_, alias_arn.rsplit(":", 1)[0])
    assert config["FunctionArn"] == alias_arn
    for qualified in (alias_arn, "authorizer:live"):
        with pytest.raises(ClientError) as refused:
            listed(lambda_, qualified)
        assert refused.value.response["Error"]["Code"] == "ValidationException"
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


def account_limit(region: str) -> dict[str, Any]:
    return boto3.client("lambda", region_name=region).get_account_settings()["AccountLimit"]


def test_account_concurrency_is_the_aws_default_less_reserved_concurrency(lambda_: Any) -> None:
    assert account_limit(REGION) == {
        "ConcurrentExecutions": 1000,
        "UnreservedConcurrentExecutions": 1000,
        "CodeSizeUnzipped": 262_144_000,
        "CodeSizeZipped": 52_428_800,
        "TotalCodeSize": 80_530_636_800,
    }
    lambda_.put_function_concurrency(FunctionName="authorizer", ReservedConcurrentExecutions=150)
    assert account_limit(REGION)["UnreservedConcurrentExecutions"] == 850
    # Per Region, as in AWS: the other Region's pool is untouched.
    assert account_limit("us-east-1")["UnreservedConcurrentExecutions"] == 1000
    usage = lambda_.get_account_settings()["AccountUsage"]
    assert usage["FunctionCount"] == 1


def test_a_regions_concurrency_limit_can_be_raised_until_reset(
    lambda_: Any, emulator: Emulator
) -> None:
    lambda_.put_provisioned_concurrency_config(
        FunctionName="authorizer", Qualifier="live", ProvisionedConcurrentExecutions=5
    )
    emulator.lambda_account.set_concurrency_limit(REGION, 3000)
    assert account_limit(REGION)["ConcurrentExecutions"] == 3000
    assert account_limit("us-east-1")["ConcurrentExecutions"] == 1000
    emulator.reset()
    assert account_limit(REGION)["ConcurrentExecutions"] == 1000
    # The provisioned concurrency configs kept beside moto go with its functions.
    create_aliased_function(REGION, "authorizer")
    assert listed(lambda_, "authorizer") == []
