"""Route 53 failover: health checks, their alarms, and the two weighted alias records.

Routing changes only when an operator approves (opsctl): the records carry no health check
unless `autoFailover` is on, and `pulumi up` ignores their weights after creation so it never
undoes a failover.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.config import HEALTH_PATH, PROJECT, STAGE_NAME, Role, Settings
from infra.observability import alarm_topic

INITIAL_WEIGHTS: dict[Role, int] = {"primary": 100, "secondary": 0}


@dataclass(frozen=True)
class RegionEndpoint:
    """One Region as the DNS layer sees it."""

    role: Role
    region: str
    health_check_fqdn: pulumi.Input[str]  # the Region's own execute-api hostname
    regional_domain_name: pulumi.Input[str]  # alias target of the custom domain
    regional_zone_id: pulumi.Input[str]


@dataclass(frozen=True)
class DnsFailoverArgs:
    settings: Settings
    zone_id: pulumi.Input[str]
    endpoints: tuple[RegionEndpoint, RegionEndpoint]


class DnsFailover(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        args: DnsFailoverArgs,
        provider: aws.Provider,  # us-east-1
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(f"{PROJECT}:infra:DnsFailover", name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self, provider=provider)

        self.topic = alarm_topic(f"{name}-alarms", settings.alarm_topic_name, settings, child)

        self.health_checks: dict[Role, aws.route53.HealthCheck] = {}
        self.alarms: dict[Role, aws.cloudwatch.MetricAlarm] = {}
        self.records: dict[Role, aws.route53.Record] = {}
        for endpoint in args.endpoints:
            role = endpoint.role
            health_check = aws.route53.HealthCheck(
                f"{name}-{role}-health-check",
                type="HTTPS",
                fqdn=endpoint.health_check_fqdn,
                port=443,
                enable_sni=True,
                resource_path=f"/{STAGE_NAME}{HEALTH_PATH}",
                request_interval=settings.health_check.request_interval,
                failure_threshold=settings.health_check.failure_threshold,
                tags=pulumi.Output.from_input(args.zone_id).apply(
                    lambda zone_id, e=endpoint: self._tags(settings, e, zone_id)
                ),
                opts=child,
            )
            self.health_checks[role] = health_check
            self.alarms[role] = aws.cloudwatch.MetricAlarm(
                f"{name}-{role}-health-alarm",
                name=settings.health_alarm_name(role),
                alarm_description=f"Route 53 health check of the {role} Region "
                f"({endpoint.region}) reports unhealthy",
                namespace="AWS/Route53",
                metric_name="HealthCheckStatus",
                dimensions={"HealthCheckId": health_check.id},
                statistic="Minimum",
                period=60,
                evaluation_periods=1,
                threshold=1,
                comparison_operator="LessThanThreshold",
                treat_missing_data="breaching",  # no data means the checkers cannot tell
                alarm_actions=[self.topic.arn],
                ok_actions=[self.topic.arn],
                opts=child,
            )
            self.records[role] = aws.route53.Record(
                f"{name}-{role}-record",
                zone_id=args.zone_id,
                name=settings.domain_name,
                type="A",
                set_identifier=endpoint.region,
                weighted_routing_policies=[
                    aws.route53.RecordWeightedRoutingPolicyArgs(weight=INITIAL_WEIGHTS[role])
                ],
                aliases=[
                    aws.route53.RecordAliasArgs(
                        name=endpoint.regional_domain_name,
                        zone_id=endpoint.regional_zone_id,
                        evaluate_target_health=False,
                    )
                ],
                health_check_id=health_check.id if settings.auto_failover else None,
                # Weights belong to the operator after creation (opsctl failover/fallback).
                opts=pulumi.ResourceOptions(
                    parent=self, provider=provider, ignore_changes=["weightedRoutingPolicies"]
                ),
            )

        self.register_outputs(
            {
                "topicArn": self.topic.arn,
                "healthCheckIds": {r: hc.id for r, hc in self.health_checks.items()},
            }
        )

    @staticmethod
    def _tags(settings: Settings, endpoint: RegionEndpoint, zone_id: str) -> dict[str, str]:
        """The discovery tags of docs/contracts.md, exactly."""
        role = endpoint.role
        return {
            "Name": f"{settings.app}-{role}",
            "App": settings.app,
            "Role": role,
            "Region": endpoint.region,
            "HostedZoneId": zone_id.removeprefix("/hostedzone/"),
            "RecordName": settings.record_name,
            "SetIdentifier": endpoint.region,
            "AlarmName": settings.health_alarm_name(role),
            "FailureSwitch": settings.failure_switch_parameter,
            "ImpairedAlarmName": settings.impaired_alarm_name(role),
        }
