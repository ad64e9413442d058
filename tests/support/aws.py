"""AWS resources the tests and benchmarks create in the local emulator, written once."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import boto3


def create_state_table(dynamodb: Any, table_name: str, *, stream: bool = False) -> None:
    """The global table's Regional copy (docs/contracts.md): keys `pk`/`sk`, on demand.

    `stream=True` adds the NEW_AND_OLD_IMAGES stream a global table replicates from.
    """
    extra: dict[str, Any] = (
        {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}}
        if stream
        else {}
    )
    dynamodb.create_table(
        TableName=table_name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )


def create_aliased_function(region: str, name: str, alias: str = "live") -> str:
    """A published Lambda function with an alias on version 1, as the stack deploys the
    authorizer (provisioned concurrency lives on the alias); returns the alias ARN."""
    role = boto3.client("iam").create_role(
        RoleName=f"{name}-{region}",
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
    lambda_ = boto3.client("lambda", region_name=region)
    lambda_.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role["Arn"],
        Handler="functions.authorizer.app.handler",
        Code={"ZipFile": code.getvalue()},
        Publish=True,
    )
    return str(lambda_.create_alias(FunctionName=name, Name=alias, FunctionVersion="1")["AliasArn"])


def put_alarm_in_ok(
    cloudwatch: Any,
    name: str,
    namespace: str,
    metric: str,
    dimensions: list[dict[str, str]],
    *,
    comparison: str,
    threshold: float,
    statistic: str,
) -> None:
    """A one-minute metric alarm, set to OK at once (a fresh alarm waits in INSUFFICIENT_DATA)."""
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace=namespace,
        MetricName=metric,
        Dimensions=dimensions,
        Statistic=statistic,
        Period=60,
        EvaluationPeriods=1,
        Threshold=threshold,
        ComparisonOperator=comparison,
    )
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="setup")
