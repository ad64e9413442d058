"""IAM: policy statements built as data (tests check every statement) and service roles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.settings.model import PARTITION


def allow(
    actions: Sequence[str],
    resources: Sequence[pulumi.Input[str]],
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


def _assume_role_policy(
    service: str, source_account: pulumi.Input[str] | None
) -> pulumi.Output[str]:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if source_account is not None:
        # Confused-deputy guard: the service may assume the role only on this account's behalf.
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [statement]})


@dataclass(frozen=True)
class ServiceRole:
    """A service role and its inline policy: whatever hands the role to a service must wait for
    both, or the service may act with a role that cannot yet do anything."""

    role: aws.iam.Role
    policy: aws.iam.RolePolicy

    @property
    def arn(self) -> pulumi.Output[str]:
        return self.role.arn


def service_role(
    name: str,
    service: str,
    description: str,
    statements: list[dict[str, Any]],
    opts: pulumi.ResourceOptions,
    *,
    source_account: pulumi.Input[str] | None = None,
) -> ServiceRole:
    """Role `<name>-role` that `service` assumes (only for `source_account` when given), with
    `statements` as its inline policy `<name>-policy`."""
    role = aws.iam.Role(
        f"{name}-role",
        assume_role_policy=_assume_role_policy(service, source_account),
        description=description,
        opts=opts,
    )
    policy = aws.iam.RolePolicy(
        f"{name}-policy",
        role=role.id,
        policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements}),
        opts=opts,
    )
    return ServiceRole(role, policy)
