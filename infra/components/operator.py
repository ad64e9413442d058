"""The managed IAM policy `<app>-operator`: exactly what opsctl needs, so who may fail over is an
IAM decision (attach it to the operators' role or group).

Reads for status, readiness, discovery and the compare-and-swap; the weight change only on this
zone's shared A records; the data-plane lever only as PutMetricData in its namespace and Region;
the failure switches; each Region's signed health route. No wildcard action; `*` as resource
only where IAM leaves no narrower choice: actions without resource-level permissions
(ListHealthChecks, GetMetricData, PutMetricData, GetAccountSettings) and DescribeAlarms, which
returns composite alarms (each Region's impaired alarm) only to a permission scoped to `*`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.policies import allow, regional_arn
from infra.settings.model import (
    LEVER_METRICS_NAMESPACE,
    PARTITION,
    PROJECT,
    ROLES,
    STAGE_NAME,
    Role,
    Settings,
)
from stack_topology import REVOKED_PARTITION

# The compare-and-swap deletes each weighted record exactly as read and creates it again.
WEIGHT_CHANGE_ACTIONS = ("CREATE", "DELETE")


@dataclass(frozen=True)
class OperatorPolicyArgs:
    settings: Settings
    account_id: pulumi.Input[str]
    zone_id: pulumi.Input[str]
    # Every health check opsctl reads the status of: each Region's, the lever's.
    health_check_ids: list[pulumi.Input[str]]
    rest_api_ids: dict[Role, pulumi.Input[str]]
    # Each Region's signed health route (opsctl's direct probe and its DNS-answer check).
    signed_health_arns: list[pulumi.Input[str]]


def operator_statements(args: OperatorPolicyArgs) -> list[dict[str, Any]]:
    settings = args.settings
    regions = [settings.region_of(role) for role in ROLES]
    zone = pulumi.Output.from_input(args.zone_id).apply(lambda z: z.removeprefix("/hostedzone/"))

    def arn(service: str, region: str, resource: str) -> pulumi.Output[str]:
        return regional_arn(service, region, args.account_id, resource)

    def route53(resource: pulumi.Input[str]) -> pulumi.Output[str]:
        return pulumi.Output.concat(f"arn:{PARTITION}:route53:::", resource)

    zone_arn = route53(pulumi.Output.concat("hostedzone/", zone))
    api_reads = [
        pulumi.Output.concat(
            f"arn:{PARTITION}:apigateway:{settings.region_of(role)}::/restapis/", api_id, path
        )
        for role, api_id in args.rest_api_ids.items()
        for path in ("/authorizers", f"/stages/{STAGE_NAME}")
    ]
    return [
        # Route 53 reads: the records (status, the compare-and-swap), health, discovery by tags
        # (which reads every check's tags to find this app's).
        allow(["route53:ListResourceRecordSets"], [zone_arn]),
        allow(
            ["route53:GetHealthCheckStatus"],
            [route53(pulumi.Output.concat("healthcheck/", i)) for i in args.health_check_ids],
        ),
        allow(["route53:ListTagsForResources"], [route53("healthcheck/*")]),
        allow(["route53:ListHealthChecks"], ["*"]),
        allow(["route53:GetChange"], [route53("change/*")]),
        # The weight change: this zone's shared A records only, by DELETE + CREATE.
        allow(
            ["route53:ChangeResourceRecordSets"],
            [zone_arn],
            {
                "ForAllValues:StringEquals": {
                    "route53:ChangeResourceRecordSetsNormalizedRecordNames": [settings.domain_name],
                    "route53:ChangeResourceRecordSetsRecordTypes": ["A"],
                    "route53:ChangeResourceRecordSetsActions": list(WEIGHT_CHANGE_ACTIONS),
                }
            },
        ),
        # Alarms and metrics: health-check alarms, each Region's impaired (composite) alarm, the
        # lever. CloudWatch returns composite alarms only to DescribeAlarms scoped to `*`.
        allow(["cloudwatch:DescribeAlarms", "cloudwatch:GetMetricData"], ["*"]),
        # The data-plane lever: its metric, in its Region only.
        allow(
            ["cloudwatch:PutMetricData"],
            ["*"],
            {
                "StringEquals": {
                    "cloudwatch:namespace": LEVER_METRICS_NAMESPACE,
                    "aws:RequestedRegion": settings.secondary_region,
                }
            },
        ),
        # The failure switches (opsctl switch).
        allow(
            ["ssm:GetParameter", "ssm:PutParameter"],
            [
                arn("ssm", region, f"parameter{settings.failure_switch_parameter}")
                for region in regions
            ],
        ),
        # The marker `opsctl drill` holds while it runs, so that two drills never overlap.
        allow(
            ["ssm:GetParameter", "ssm:PutParameter", "ssm:DeleteParameter"],
            [
                arn(
                    "ssm",
                    settings.secondary_region,
                    f"parameter{settings.names.drill_marker_parameter}",
                )
            ],
        ),
        # Revocations (opsctl revoke, revocations): only the `revoked` partition of the table.
        allow(
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
            [arn("dynamodb", region, f"table/{settings.table_name}") for region in regions],
            {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [REVOKED_PARTITION]}},
        ),
        # Readiness: capacity, throttling and the table in each Region.
        allow(["lambda:GetAccountSettings"], ["*"]),
        allow(
            ["lambda:GetFunctionConcurrency", "lambda:ListProvisionedConcurrencyConfigs"],
            [
                arn("lambda", region, f"function:{settings.function_name('authorizer')}")
                for region in regions
            ],
        ),
        allow(["apigateway:GET"], api_reads),
        # Each Region's health, signed: the direct probe and the check of each DNS answer.
        allow(["execute-api:Invoke"], args.signed_health_arns),
        allow(
            ["dynamodb:DescribeTable"],
            [arn("dynamodb", region, f"table/{settings.table_name}") for region in regions],
        ),
    ]


class OperatorPolicy(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        args: OperatorPolicyArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(f"{PROJECT}:infra:OperatorPolicy", name, None, opts)
        self.policy = aws.iam.Policy(
            name,
            name=args.settings.operator_policy_name,
            description="What opsctl needs to observe and fail over "
            f"{args.settings.app} (attach to the operators' role or group)",
            policy=pulumi.Output.json_dumps(
                {"Version": "2012-10-17", "Statement": operator_statements(args)}
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"policyArn": self.policy.arn})
