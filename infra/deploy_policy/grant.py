"""A grant: the IAM actions and resource patterns one kind of declared resource needs.

Placeholders in resource patterns: `{region}` (expanded to the stack's two Regions), `{app}`
(`<project>-<stack>`), `{domain}` (the shared hostname). The account is `*`: the policy is
attached in the one account it deploys to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from infra.settings.model import PARTITION

P = PARTITION
# The tagging actions most services name alike.
TAG_ACTIONS = ("TagResource", "UntagResource", "ListTagsForResource")


@dataclass(frozen=True)
class Grant:
    sid: str
    # Pulumi resource types or provider function tokens this grant exists for.
    covers: tuple[str, ...]
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    condition: dict[str, Any] | None = None


# Actions whose IAM name is not the API operation's name (or that have no operation), so the test
# that checks every action against botocore's service models knows them.
IAM_ONLY_ACTIONS = frozenset(
    {
        "apigateway:DELETE",
        "apigateway:GET",
        "apigateway:PATCH",
        "apigateway:POST",
        "apigateway:PUT",
        "dynamodb:CreateTableReplica",
        "dynamodb:DeleteTableReplica",
        "iam:PassRole",
        "s3:GetAccelerateConfiguration",
        "s3:GetBucketCORS",
        "s3:DeleteObjectVersion",
        "s3:GetBucketObjectLockConfiguration",
        "s3:GetBucketPublicAccessBlock",
        "s3:GetEncryptionConfiguration",
        "s3:GetLifecycleConfiguration",
        "s3:GetReplicationConfiguration",
        "s3:ListBucket",
        "s3:ListBucketVersions",
        "s3:PutBucketPublicAccessBlock",
    }
)
