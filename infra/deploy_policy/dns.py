"""Grants for Route 53 (the weighted records, the validation record, health checks) and ACM
(the certificates)."""

from __future__ import annotations

from infra.deploy_policy.grant import Grant, P

GRANTS: tuple[Grant, ...] = (
    # DNS: the weighted records and the certificates' validation record of this one name.
    Grant(
        "Records",
        ("aws:route53/record:Record",),
        ("route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets"),
        (f"arn:{P}:route53:::hostedzone/*",),
        {
            "ForAllValues:StringLike": {
                "route53:ChangeResourceRecordSetsNormalizedRecordNames": [
                    "{domain}",
                    "_*.{domain}",
                ]
            }
        },
    ),
    Grant(
        "RecordChanges",
        ("aws:route53/record:Record",),
        ("route53:GetChange",),
        (f"arn:{P}:route53:::change/*",),
    ),
    Grant(
        "HealthChecks",
        ("aws:route53/healthCheck:HealthCheck",),
        (
            "route53:CreateHealthCheck",
            "route53:GetHealthCheck",
            "route53:UpdateHealthCheck",
            "route53:DeleteHealthCheck",
            "route53:ChangeTagsForResource",
            "route53:ListTagsForResource",
        ),
        (f"arn:{P}:route53:::healthcheck/*",),
    ),
    # Certificates: RequestCertificate has no resource-level permission.
    Grant(
        "CertificateRequest",
        ("aws:acm/certificate:Certificate",),
        ("acm:RequestCertificate", "acm:AddTagsToCertificate"),
        ("*",),
    ),
    Grant(
        "Certificates",
        ("aws:acm/certificate:Certificate", "aws:acm/certificateValidation:CertificateValidation"),
        (
            "acm:DescribeCertificate",
            "acm:ListTagsForCertificate",
            "acm:AddTagsToCertificate",
            "acm:RemoveTagsFromCertificate",
            "acm:DeleteCertificate",
        ),
        (f"arn:{P}:acm:{{region}}:*:certificate/*",),
    ),
)
