"""Each Region watches the other from inside itself, and pages from its own Region.

Route 53's health-check metrics, their alarms and the `<app>-alarms` topic live in us-east-1,
the default primary: in a us-east-1 outage that page may never be sent. So each Region runs the
peer watcher (functions/watcher) each minute on an EventBridge schedule; it GETs the other
Region's signed health route through that Region's custom domain of the shared name (its role
may invoke that one method of the peer's API, nothing else) and publishes
`MultiRegionAuthorizer/Watch` `PeerHealthy` here; the alarm `<app>-<peer>-unreachable` on it
notifies this Region's `<app>-alerts` topic, subscribed like the us-east-1 one.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.components.regional_alarms import alarm_topic
from infra.components.regional_functions import (
    FunctionPackage,
    function_log_group,
    function_role,
    lambda_function,
)
from infra.settings.environment import WatchedPeer, function_environment
from infra.settings.function_specs import FUNCTION_SPECS, PEER_HEALTHY_METRIC, WATCH_NAMESPACE
from infra.settings.model import PROJECT, Role, Settings

(WATCHER_SPEC,) = (spec for spec in FUNCTION_SPECS if spec.watches_peer)
WATCH_SCHEDULE = "rate(1 minute)"
WATCH_PERIOD_SECONDS = 60
# Two missed minutes in a row page: one lost datapoint or one slow answer does not.
WATCH_EVALUATION_PERIODS = 2
# EventBridge and Lambda's asynchronous invoke may not retry: the next minute is the retry, and a
# late run would only publish a stale view. 60 s is the shortest event age both accept.
WATCH_MAX_EVENT_AGE_SECONDS = 60


def watch_dimensions(settings: Settings, peer: Role) -> dict[str, str]:
    return {"App": settings.app, "Peer": str(peer)}


@dataclass(frozen=True)
class PeerWatchArgs:
    settings: Settings
    role: Role  # the watching Region's
    package: FunctionPackage  # the watching Region's code and dependency layer
    peer: WatchedPeer
    # The peer's signed health route (`health_guard.signed_health_arn`): all the watcher may invoke.
    peer_health_arn: pulumi.Input[str]


class PeerWatch(pulumi.ComponentResource):
    """One Region's watch on the other: the watcher, its schedule, the alarm and the topic."""

    def __init__(
        self,
        name: str,
        args: PeerWatchArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(f"{PROJECT}:infra:PeerWatch", name, None, opts)
        settings, package, peer = args.settings, args.package, args.peer
        child = pulumi.ResourceOptions(parent=self)
        self.region = package.region
        spec = WATCHER_SPEC
        # Named like the Region's other functions (`<role>-<function>`).
        function_name = f"{args.role}-{spec.name}"

        self.log_group = function_log_group(package, spec, function_name, child)
        self.role = function_role(
            package, spec, function_name, self.log_group, child, invokes=[args.peer_health_arn]
        )
        self.function = lambda_function(
            package,
            spec,
            function_name,
            role=self.role,
            log_group=self.log_group,
            environment=function_environment(settings, spec.name, peer=peer),
            extra_layers=[],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.log_group]),
        )
        self.invoke_config = aws.lambda_.FunctionEventInvokeConfig(
            f"{function_name}-invoke-config",
            function_name=self.function.name,
            maximum_retry_attempts=0,
            maximum_event_age_in_seconds=WATCH_MAX_EVENT_AGE_SECONDS,
            opts=child,
        )
        self.schedule = aws.cloudwatch.EventRule(
            f"{name}-schedule",
            name=settings.watch_schedule_name,
            description=f"Invokes the watcher of the {peer.role} Region ({peer.region}) "
            "each minute",
            schedule_expression=WATCH_SCHEDULE,
            opts=child,
        )
        self.target = aws.cloudwatch.EventTarget(
            f"{name}-schedule-target",
            rule=self.schedule.name,
            arn=self.function.arn,
            retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(
                maximum_retry_attempts=0,
                maximum_event_age_in_seconds=WATCH_MAX_EVENT_AGE_SECONDS,
            ),
            opts=child,
        )
        self.permission = aws.lambda_.Permission(
            f"{name}-schedule-permission",
            action="lambda:InvokeFunction",
            function=self.function.name,
            principal="events.amazonaws.com",
            source_arn=self.schedule.arn,
            opts=child,
        )
        # The same subscriptions as the us-east-1 topic, from the same config.
        self.topic = alarm_topic(f"{name}-alerts", settings.alerts_topic_name, settings, child)
        self.alarm = aws.cloudwatch.MetricAlarm(
            f"{name}-unreachable",
            name=settings.unreachable_alarm_name(peer.role),
            alarm_description=f"The {peer.role} Region ({peer.region}) does not answer its "
            f"health route through its custom domain, seen from {self.region}",
            namespace=WATCH_NAMESPACE,
            metric_name=PEER_HEALTHY_METRIC,
            dimensions=watch_dimensions(settings, peer.role),
            statistic="Minimum",
            period=WATCH_PERIOD_SECONDS,
            evaluation_periods=WATCH_EVALUATION_PERIODS,
            datapoints_to_alarm=WATCH_EVALUATION_PERIODS,
            threshold=1,
            comparison_operator="LessThanThreshold",
            # A watcher that stops publishing (its Region failing, a broken deploy) pages too.
            treat_missing_data="breaching",
            alarm_actions=[self.topic.arn],
            ok_actions=[self.topic.arn],
            opts=child,
        )
        self.register_outputs(
            {
                "region": self.region,
                "alarmName": self.alarm.name,
                "topicArn": self.topic.arn,
                "functionArn": self.function.arn,
            }
        )
