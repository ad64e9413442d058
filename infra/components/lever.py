"""The data-plane failover lever: "the standby takes over the primary", in the secondary Region.

Route 53's control plane (weight changes) lives in us-east-1, often the primary Region itself. The
lever needs none of it: an operator publishes `PrimaryOutOfService` = 1 in the secondary Region,
this alarm there goes to ALARM, the Route 53 health check on the alarm (infra/components/dns.py,
attached to the primary's weighted record) turns unhealthy, and DNS answers the secondary, weights
untouched. Publishing 0 in a later minute releases it. Health checks and DNS answers are Route 53's
data plane.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.settings.model import LEVER_METRICS_NAMESPACE, PROJECT, Settings

OUT_OF_SERVICE_METRIC = "PrimaryOutOfService"
# Route 53 alarms take only standard-resolution metrics and Average/Min/Max/Sum/SampleCount.
LEVER_PERIOD_SECONDS = 60


def out_of_service_dimensions(settings: Settings) -> dict[str, str]:
    return {"App": settings.app}


@dataclass(frozen=True)
class OutOfServiceLeverArgs:
    settings: Settings


class OutOfServiceLever(pulumi.ComponentResource):
    """The lever's alarm, in the secondary Region (its provider)."""

    def __init__(
        self,
        name: str,
        args: OutOfServiceLeverArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(f"{PROJECT}:infra:OutOfServiceLever", name, None, opts)
        settings = args.settings
        self.region = settings.secondary_region
        self.alarm = aws.cloudwatch.MetricAlarm(
            f"{name}-alarm",
            name=settings.out_of_service_alarm_name,
            alarm_description="The data-plane failover lever: ALARM takes the primary Region out "
            "of DNS answers (opsctl failover publishes 1, fallback 0)",
            namespace=LEVER_METRICS_NAMESPACE,
            metric_name=OUT_OF_SERVICE_METRIC,
            dimensions=out_of_service_dimensions(settings),
            statistic="Maximum",
            period=LEVER_PERIOD_SECONDS,
            evaluation_periods=1,
            datapoints_to_alarm=1,
            threshold=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            # The state latches until the next datapoint: a lever stays where it was set.
            treat_missing_data="ignore",
            opts=pulumi.ResourceOptions(parent=self),
        )
        # What Route 53 evaluates the metric stream with: its health check must follow a change.
        self.alarm_settings: pulumi.Output[str] = pulumi.Output.json_dumps(
            {
                key: getattr(self.alarm, key)
                for key in (
                    "namespace",
                    "metric_name",
                    "dimensions",
                    "statistic",
                    "period",
                    "evaluation_periods",
                    "datapoints_to_alarm",
                    "threshold",
                    "comparison_operator",
                )
            }
        )
        self.register_outputs({"alarmName": self.alarm.name, "region": self.region})
