"""Per-Region "impaired" alarms, and the SNS topics alarms notify.

Each Region judges itself from its own signals (API 5xx share, p99 latency, authorizer errors,
Lambda throttles); a composite alarm `<app>-<role>-impaired` ORs them and notifies a topic in
that Region. Next to the Route 53 health check (an outside view), it tells an operator whether
a red health check is the Region or the checkers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.components.regional_api import ROUTES
from infra.settings.model import (
    CERTIFICATE_SIGNAL,
    METRICS_NAMESPACE,
    PROJECT,
    REGION_SIGNALS,
    STAGE_NAME,
    Role,
    Settings,
)

PERIOD_SECONDS = 60
# The authorizer's failures, as it counts them (functions/authorizer/app.py): `AuthorizerError`
# with Powertools' `service` dimension and the deny reason. Not AWS/Lambda `Errors`: the
# authorizer answers every invalid token by raising "Unauthorized", which Lambda counts as a
# function error, so a client sending junk tokens would mark the Region impaired.
AUTHORIZER_ERROR_METRIC = "AuthorizerError"
AUTHORIZER_ERROR_REASONS = ("error", "misconfigured")
AUTHORIZER_SERVICE = "authorizer"  # its POWERTOOLS_SERVICE_NAME (infra/settings/environment.py)
# ACM starts renewing a DNS-validated certificate 60 days before it expires; under this many
# days left, renewal has been failing for two weeks and someone must act before the custom
# domain serves an expired certificate (Route 53's HTTPS checks would not notice: they do not
# validate certificates).
CERTIFICATE_ALARM_DAYS = 45


def served_5xx_share(
    api_dimensions: dict[str, pulumi.Input[str]],
) -> list[aws.cloudwatch.MetricAlarmMetricQueryArgs]:
    """5XXError / Count over the routes players call, from the stage's detailed metrics (by
    Method and Resource). The health route is left out: on the idle standby the checkers are
    its only traffic, so a health failure (a drill included) would read as 100% 5xx and the
    Region's own signal would merely echo the health check. Missing values count as 0 in
    CloudWatch's arithmetic; a minute without requests divides by zero and is dropped (missing,
    not breaching)."""
    queries = []
    served = [route for route in ROUTES if route.protected]
    for index, route in enumerate(served):
        dimensions = {**api_dimensions, "Method": route.method, "Resource": route.resource_path}
        for ident, metric_name in ((f"e{index}", "5XXError"), (f"n{index}", "Count")):
            queries.append(
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id=ident,
                    metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                        namespace="AWS/ApiGateway",
                        metric_name=metric_name,
                        dimensions=dimensions,
                        stat="Sum",
                        period=PERIOD_SECONDS,
                    ),
                )
            )
    errors = " + ".join(f"e{index}" for index in range(len(served)))
    requests = " + ".join(f"n{index}" for index in range(len(served)))
    queries.append(
        aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id="share",
            expression=f"({errors}) / ({requests})",
            label="5xx share of the API's routes",
            return_data=True,
        )
    )
    return queries


def alarm_topic(
    name: str, topic_name: str, settings: Settings, opts: pulumi.ResourceOptions
) -> aws.sns.Topic:
    """An SNS topic for alarm actions, with the `alarmEmail` subscription when one is set."""
    topic = aws.sns.Topic(name, name=topic_name, opts=opts)
    if settings.alarm_email:
        aws.sns.TopicSubscription(
            f"{name}-email",
            topic=topic.arn,
            protocol="email",
            endpoint=settings.alarm_email,
            opts=opts,
        )
    return topic


@dataclass(frozen=True)
class RegionSignals:
    """Where one Region's metrics come from."""

    role: Role
    region: str
    api_name: pulumi.Input[str]  # API Gateway's ApiName dimension
    function_names: dict[str, str]  # authorizer/api/health -> Lambda function name
    health_check_id: pulumi.Input[str]
    certificate_arn: pulumi.Input[str]  # the custom domain's certificate in this Region


@dataclass(frozen=True)
class RegionalAlarmsArgs:
    settings: Settings
    signals: RegionSignals


class RegionalAlarms(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        args: RegionalAlarmsArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(f"{PROJECT}:infra:RegionalAlarms", name, None, opts)
        settings, signals = args.settings, args.signals
        thresholds = settings.alarms
        child = pulumi.ResourceOptions(parent=self)
        role = signals.role

        self.topic = alarm_topic(
            f"{name}-topic", settings.region_alarm_topic_name(role), settings, child
        )

        api_dimensions = {"ApiName": signals.api_name, "Stage": STAGE_NAME}
        # Metric-math alarms set the period on each query, so `period` is not common.
        common: dict[str, Any] = {
            "evaluation_periods": thresholds.evaluation_minutes,
            "datapoints_to_alarm": thresholds.evaluation_minutes,
            # No traffic is not an impairment (the standby Region is idle by design).
            "treat_missing_data": "notBreaching",
            "opts": child,
        }
        functions = signals.function_names
        self.metric_alarms = [
            aws.cloudwatch.MetricAlarm(
                f"{name}-api-5xx",
                name=settings.region_alarm_name(role, "api-5xx"),
                alarm_description="Share of API requests answered 5xx (the health route's own "
                "answers excluded)",
                metric_queries=served_5xx_share(api_dimensions),
                threshold=thresholds.api_5xx_rate_percent / 100,
                comparison_operator="GreaterThanThreshold",
                **common,
            ),
            aws.cloudwatch.MetricAlarm(
                f"{name}-api-p99-latency",
                name=settings.region_alarm_name(role, "api-p99-latency"),
                alarm_description="API p99 latency (ms)",
                namespace="AWS/ApiGateway",
                metric_name="Latency",
                period=PERIOD_SECONDS,
                dimensions=api_dimensions,
                extended_statistic="p99",
                threshold=thresholds.api_p99_latency_ms,
                comparison_operator="GreaterThanThreshold",
                **common,
            ),
            aws.cloudwatch.MetricAlarm(
                f"{name}-authorizer-errors",
                name=settings.region_alarm_name(role, "authorizer-errors"),
                alarm_description="Authorizer failures per minute (errors and misconfiguration; "
                "denied tokens do not count)",
                metric_queries=[
                    *(
                        aws.cloudwatch.MetricAlarmMetricQueryArgs(
                            id=f"e{index}",
                            metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                                namespace=METRICS_NAMESPACE,
                                metric_name=AUTHORIZER_ERROR_METRIC,
                                dimensions={"service": AUTHORIZER_SERVICE, "reason": reason},
                                stat="Sum",
                                period=PERIOD_SECONDS,
                            ),
                        )
                        for index, reason in enumerate(AUTHORIZER_ERROR_REASONS)
                    ),
                    aws.cloudwatch.MetricAlarmMetricQueryArgs(
                        id="errors",
                        # No FILL: CloudWatch documents that its arithmetic operators treat
                        # missing values as 0 ("Metric math syntax and functions"), so `+`
                        # already counts a reason missing in a minute as 0; FILL would pin a
                        # late-arriving newest minute to 0 (its own warning) and the alarm
                        # might never fire.
                        expression=" + ".join(
                            f"e{i}" for i in range(len(AUTHORIZER_ERROR_REASONS))
                        ),
                        label="Authorizer failures",
                        return_data=True,
                    ),
                ],
                threshold=thresholds.authorizer_errors,
                comparison_operator="GreaterThanOrEqualToThreshold",
                **common,
            ),
            aws.cloudwatch.MetricAlarm(
                f"{name}-lambda-throttles",
                name=settings.region_alarm_name(role, "lambda-throttles"),
                alarm_description="Throttled invocations per minute, all functions",
                metric_queries=[
                    *(
                        aws.cloudwatch.MetricAlarmMetricQueryArgs(
                            id=f"t{index}",
                            metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                                namespace="AWS/Lambda",
                                metric_name="Throttles",
                                dimensions={"FunctionName": function_name},
                                stat="Sum",
                                period=PERIOD_SECONDS,
                            ),
                        )
                        for index, function_name in enumerate(functions.values())
                    ),
                    aws.cloudwatch.MetricAlarmMetricQueryArgs(
                        id="throttles",
                        # A function without throttles in a minute counts as 0 (`+`).
                        expression=" + ".join(f"t{i}" for i in range(len(functions))),
                        label="Throttles, all functions",
                        return_data=True,
                    ),
                ],
                threshold=thresholds.lambda_throttles,
                comparison_operator="GreaterThanOrEqualToThreshold",
                **common,
            ),
        ]
        self.certificate_expiry = aws.cloudwatch.MetricAlarm(
            f"{name}-{CERTIFICATE_SIGNAL}",
            name=settings.region_alarm_name(role, CERTIFICATE_SIGNAL),
            alarm_description=f"The custom domain's ACM certificate in {signals.region} expires "
            f"in under {CERTIFICATE_ALARM_DAYS} days: its managed renewal is failing",
            namespace="AWS/CertificateManager",
            metric_name="DaysToExpiry",
            dimensions={"CertificateArn": signals.certificate_arn},
            statistic="Minimum",
            period=24 * 3600,  # ACM publishes DaysToExpiry once a day
            evaluation_periods=1,
            threshold=CERTIFICATE_ALARM_DAYS,
            comparison_operator="LessThanThreshold",
            # The first datapoint of a new certificate can take a day: not an alarm.
            treat_missing_data="missing",
            alarm_actions=[self.topic.arn],
            ok_actions=[self.topic.arn],
            opts=child,
        )
        self.alarm_names = [settings.region_alarm_name(role, signal) for signal in REGION_SIGNALS]
        rule = " OR ".join(f'ALARM("{alarm_name}")' for alarm_name in self.alarm_names)
        self.impaired = aws.cloudwatch.CompositeAlarm(
            f"{name}-impaired",
            alarm_name=settings.impaired_alarm_name(signals.role),
            alarm_description=f"The {signals.role} Region ({signals.region}) is impaired by "
            "its own signals",
            alarm_rule=rule,
            alarm_actions=[self.topic.arn],
            ok_actions=[self.topic.arn],
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(self.metric_alarms)),
        )
        self.register_outputs(
            {"impairedAlarmName": self.impaired.alarm_name, "topicArn": self.topic.arn}
        )
