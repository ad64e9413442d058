"""Grants for what the program looks up before it declares anything: the hosted zone and the
FIS extension's layer parameter."""

from __future__ import annotations

from infra.deploy_policy.grant import Grant, P

GRANTS: tuple[Grant, ...] = (
    # Lookups the program makes before declaring anything.
    Grant(
        "ZoneLookup",
        ("aws:route53/getZone:getZone",),
        ("route53:ListHostedZones", "route53:GetHostedZone", "route53:ListTagsForResource"),
        ("*",),
    ),
    Grant(
        "FisExtensionLookup",
        ("aws:ssm/getParameter:getParameter",),
        ("ssm:GetParameter",),
        (f"arn:{P}:ssm:{{region}}::parameter/aws/service/fis/*",),
    ),
)
