"""Grants for IAM: the service roles of the functions, API Gateway and FIS, and the operator
policy."""

from __future__ import annotations

from infra.deploy_policy.grant import Grant, P

GRANTS: tuple[Grant, ...] = (
    # Service roles. Pulumi names them `<logical name>-<random suffix>` (no app prefix: renaming
    # would replace every role), so they are scoped by the program's logical-name prefixes.
    Grant(
        "ServiceRoles",
        ("aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"),
        (
            "iam:CreateRole",
            "iam:GetRole",
            "iam:UpdateRole",
            "iam:UpdateAssumeRolePolicy",
            "iam:DeleteRole",
            "iam:TagRole",
            "iam:UntagRole",
            "iam:ListRolePolicies",
            "iam:ListAttachedRolePolicies",
            "iam:ListInstanceProfilesForRole",
            "iam:PutRolePolicy",
            "iam:GetRolePolicy",
            "iam:DeleteRolePolicy",
        ),
        (
            f"arn:{P}:iam::*:role/primary-*",
            f"arn:{P}:iam::*:role/secondary-*",
            f"arn:{P}:iam::*:role/fault-injection-*",
        ),
    ),
    Grant(
        "PassServiceRoles",
        ("aws:iam/role:Role",),
        ("iam:PassRole",),
        (
            f"arn:{P}:iam::*:role/primary-*",
            f"arn:{P}:iam::*:role/secondary-*",
            f"arn:{P}:iam::*:role/fault-injection-*",
        ),
        {
            "StringEquals": {
                "iam:PassedToService": [
                    "lambda.amazonaws.com",
                    "apigateway.amazonaws.com",
                    "fis.amazonaws.com",
                ]
            }
        },
    ),
    Grant(
        "OperatorPolicy",
        ("aws:iam/policy:Policy",),
        (
            "iam:CreatePolicy",
            "iam:GetPolicy",
            "iam:GetPolicyVersion",
            "iam:ListPolicyVersions",
            "iam:CreatePolicyVersion",
            "iam:DeletePolicyVersion",
            "iam:DeletePolicy",
            "iam:TagPolicy",
            "iam:UntagPolicy",
        ),
        (f"arn:{P}:iam::*:policy/{{app}}-*",),
    ),
)
