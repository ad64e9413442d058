"""Grants for DynamoDB (the global table and its replica) and SSM Parameter Store (the failure
switches)."""

from __future__ import annotations

from infra.deploy_policy.grant import Grant, P

GRANTS: tuple[Grant, ...] = (
    # The global table: the primary's table and its replica (CreateTableReplica also needs the
    # item actions on the replica, as DynamoDB documents for global tables).
    Grant(
        "GlobalTable",
        ("aws:dynamodb/table:Table",),
        (
            "dynamodb:CreateTable",
            "dynamodb:DescribeTable",
            "dynamodb:UpdateTable",
            "dynamodb:DeleteTable",
            "dynamodb:DescribeContinuousBackups",
            "dynamodb:UpdateContinuousBackups",
            "dynamodb:DescribeTimeToLive",
            "dynamodb:UpdateTimeToLive",
            "dynamodb:ListTagsOfResource",
            "dynamodb:TagResource",
            "dynamodb:UntagResource",
            "dynamodb:CreateTableReplica",
            "dynamodb:DeleteTableReplica",
            "dynamodb:Scan",
            "dynamodb:Query",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:BatchWriteItem",
        ),
        (f"arn:{P}:dynamodb:{{region}}:*:table/{{app}}-*",),
    ),
    Grant(
        "GlobalTableServiceRole",
        ("aws:dynamodb/table:Table",),
        ("iam:CreateServiceLinkedRole",),
        (
            f"arn:{P}:iam::*:role/aws-service-role/replication.dynamodb.amazonaws.com/"
            "AWSServiceRoleForDynamoDBReplication",
        ),
        {"StringEquals": {"iam:AWSServiceName": "replication.dynamodb.amazonaws.com"}},
    ),
    Grant(
        "FailureSwitches",
        ("aws:ssm/parameter:Parameter",),
        (
            "ssm:PutParameter",
            "ssm:GetParameter",
            "ssm:GetParameters",
            "ssm:DeleteParameter",
            "ssm:AddTagsToResource",
            "ssm:RemoveTagsFromResource",
            "ssm:ListTagsForResource",
        ),
        (f"arn:{P}:ssm:{{region}}:*:parameter/{{app}}/*",),
    ),
    Grant(
        "ParameterReads",
        ("aws:ssm/parameter:Parameter",),
        ("ssm:DescribeParameters",),
        ("*",),
    ),
)
