"""Route 53 failover: health checks, their alarms, and the two weighted alias records.

Routing changes only when an operator approves (opsctl): by weights (Route 53's control plane),
or by the data-plane lever (infra/components/lever.py), whose CLOUDWATCH_METRIC health check is
attached to the primary's record. With `autoFailover`, a CALCULATED check (the primary's HTTPS check
AND the lever) is attached instead, so Route 53 also shifts by itself. The secondary's record has no
health check: Route 53 counts it healthy, so it is answered whenever the primary's is not.
`pulumi up` ignores the weights after creation so it never undoes a failover.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.components.regional_alarms import alarm_topic
from infra.settings.model import HEALTH_PATH, PROJECT, STAGE_NAME, Role, Settings

INITIAL_WEIGHTS: dict[Role, int] = {Role.PRIMARY: 100, Role.SECONDARY: 0}


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
    lever_alarm_name: pulumi.Input[str]  # the lever's alarm (infra/components/lever.py)
    # The alarm's evaluation settings (infra/components/lever.py), which its health check must
    # follow.
    lever_alarm_settings: pulumi.Input[str]
    lever_region: str  # where that alarm is: the secondary Region


class DnsFailover(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        args: DnsFailoverArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(f"{PROJECT}:infra:DnsFailover", name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)

        self.topic = alarm_topic(f"{name}-alarms", settings.alarm_topic_name, settings, child)

        self.health_checks: dict[Role, aws.route53.HealthCheck] = {}
        self.alarms: dict[Role, aws.cloudwatch.MetricAlarm] = {}
        self.records: dict[Role, aws.route53.Record] = {}
        endpoints = {endpoint.role: endpoint for endpoint in args.endpoints}
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
                tags=self._tagged(settings, endpoint, args.zone_id),
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

        # The lever: unhealthy while the alarm's metric (in the secondary Region), evaluated by
        # Route 53 with the alarm's settings, breaches. Route 53 ignores the alarm's
        # TreatMissingData: without data the check keeps its last status. Route 53 copies the
        # alarm's settings when the check is created or updated only, and the provider has no
        # update that re-reads them: a change to the alarm's settings replaces the check.
        lever_name = settings.out_of_service_alarm_name
        self.lever_health_check = aws.route53.HealthCheck(
            f"{name}-primary-out-of-service-check",
            type="CLOUDWATCH_METRIC",
            cloudwatch_alarm_name=args.lever_alarm_name,
            cloudwatch_alarm_region=args.lever_region,
            insufficient_data_health_status="LastKnownStatus",
            tags=self._tagged(
                settings,
                endpoints[Role.PRIMARY],
                args.zone_id,
                Name=lever_name,
                AlarmName=lever_name,
            ),
            opts=pulumi.ResourceOptions(parent=self, replacement_trigger=args.lever_alarm_settings),
        )
        # What the primary's record answers to: the lever, or with autoFailover the lever AND
        # the primary's own HTTPS check (both must be healthy).
        self.primary_record_check = self.lever_health_check
        if settings.auto_failover:
            self.primary_record_check = aws.route53.HealthCheck(
                f"{name}-primary-calculated-check",
                type="CALCULATED",
                child_healthchecks=[
                    self.health_checks[Role.PRIMARY].id,
                    self.lever_health_check.id,
                ],
                child_health_threshold=2,
                tags=self._tagged(
                    settings,
                    endpoints[Role.PRIMARY],
                    args.zone_id,
                    Name=f"{settings.app}-primary-calculated",
                ),
                opts=child,
            )

        for endpoint in args.endpoints:
            role = endpoint.role
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
                health_check_id=role.pick(primary=self.primary_record_check.id, secondary=None),
                # Weights belong to the operator after creation (opsctl failover/fallback).
                opts=pulumi.ResourceOptions(
                    parent=self, ignore_changes=["weightedRoutingPolicies"]
                ),
            )

        self.register_outputs(
            {
                "topicArn": self.topic.arn,
                "healthCheckIds": {r: hc.id for r, hc in self.health_checks.items()},
                "leverHealthCheckId": self.lever_health_check.id,
            }
        )

    @staticmethod
    def _tagged(
        settings: Settings,
        endpoint: RegionEndpoint,
        zone_id: pulumi.Input[str],
        **overrides: str,
    ) -> pulumi.Output[dict[str, str]]:
        return pulumi.Output.from_input(zone_id).apply(
            lambda zone: {
                **settings.health_check_tags(endpoint.role, zone),
                **overrides,
            }
        )
