"""IAM: policy statements built as data (tests check every statement) and service roles."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.settings import PARTITION


def allow(
    actions: list[str],
    resources: list[pulumi.Input[str]],
    condition: dict[str, Any] | None = None,
) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": actions, "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


def regional_arn(
    service: str, region: str, account_id: pulumi.Input[str], resource: str
) -> pulumi.Output[str]:
    """`arn:aws:<service>:<region>:<account>:<resource>`, for statements scoped to one Region."""
    return pulumi.Output.concat(f"arn:{PARTITION}:{service}:{region}:", account_id, f":{resource}")


def _assume_role_policy(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def service_role(
    name: str,
    service: str,
    description: str,
    statements: list[dict[str, Any]],
    opts: pulumi.ResourceOptions,
) -> aws.iam.Role:
    """Role `<name>-role` that `service` assumes, with `statements` as its inline policy
    `<name>-policy`."""
    role = aws.iam.Role(
        f"{name}-role",
        assume_role_policy=_assume_role_policy(service),
        description=description,
        opts=opts,
    )
    aws.iam.RolePolicy(
        f"{name}-policy",
        role=role.id,
        policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements}),
        opts=opts,
    )
    return role
