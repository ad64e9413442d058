"""Grants for AWS FIS (`faultInjection: true`): the experiment templates and the FIS extension's
configuration bucket."""

from __future__ import annotations

from infra.deploy_policy.grant import TAG_ACTIONS, Grant, P

GRANTS: tuple[Grant, ...] = (
    # Fault injection (faultInjection: true): the experiment templates and their config bucket.
    Grant(
        "FaultInjection",
        ("aws:fis/experimentTemplate:ExperimentTemplate",),
        (
            "fis:CreateExperimentTemplate",
            "fis:GetExperimentTemplate",
            "fis:UpdateExperimentTemplate",
            "fis:DeleteExperimentTemplate",
            *(f"fis:{action}" for action in TAG_ACTIONS),
        ),
        (
            f"arn:{P}:fis:{{region}}:*:experiment-template/*",
            f"arn:{P}:fis:{{region}}:*:action/*",
        ),
    ),
    Grant(
        "FaultInjectionBucket",
        ("aws:s3/bucket:Bucket", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"),
        (
            "s3:CreateBucket",
            "s3:DeleteBucket",
            "s3:ListBucket",
            "s3:DeleteObject",
            "s3:DeleteObjectVersion",
            "s3:ListBucketVersions",
            "s3:GetBucketAcl",
            "s3:GetBucketCORS",
            "s3:GetBucketWebsite",
            "s3:GetBucketVersioning",
            "s3:GetAccelerateConfiguration",
            "s3:GetBucketRequestPayment",
            "s3:GetBucketLogging",
            "s3:GetLifecycleConfiguration",
            "s3:GetReplicationConfiguration",
            "s3:GetEncryptionConfiguration",
            "s3:GetBucketObjectLockConfiguration",
            "s3:GetBucketPolicy",
            "s3:GetBucketTagging",
            "s3:PutBucketTagging",
            "s3:GetBucketPublicAccessBlock",
            "s3:PutBucketPublicAccessBlock",
        ),
        (f"arn:{P}:s3:::fault-injection-*",),
    ),
)
