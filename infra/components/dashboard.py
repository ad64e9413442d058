"""The cross-Region dashboard: one row per signal, one column per Region."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.components.regional_alarms import PERIOD_SECONDS, RegionSignals
from infra.settings.function_specs import PEER_HEALTHY_METRIC, WATCH_NAMESPACE
from infra.settings.model import (
    ALARM_REGION,
    METRICS_NAMESPACE,
    PROJECT,
    STAGE_NAME,
    Settings,
)


def _metric_widget(
    title: str, region: str, metrics: list[list[Any]], *, x: int, y: int, stat: str = "Sum"
) -> dict[str, Any]:
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": 12,
        "height": 6,
        "properties": {
            "title": title,
            "region": region,
            "metrics": metrics,
            "stat": stat,
            "period": PERIOD_SECONDS,
            "view": "timeSeries",
        },
    }


def _search(expression: str, label: str, ident: str) -> list[Any]:
    return [
        {
            "expression": f"SEARCH('{expression}', 'Sum', {PERIOD_SECONDS})",
            "label": label,
            "id": ident,
        }
    ]


def dashboard_body(
    settings: Settings, signals: tuple[RegionSignals, RegionSignals]
) -> dict[str, Any]:
    """One row per signal, the primary Region on the left, the secondary on the right."""
    rows: list[tuple[str, Any]] = [
        (
            "Route 53 health check",
            lambda s: [
                [
                    "AWS/Route53",
                    "HealthCheckStatus",
                    "HealthCheckId",
                    s.health_check_id,
                    {"stat": "Minimum", "region": ALARM_REGION},
                ],
                [
                    "AWS/Route53",
                    "HealthCheckPercentageHealthy",
                    "HealthCheckId",
                    s.health_check_id,
                    {"stat": "Average", "region": ALARM_REGION, "yAxis": "right"},
                ],
            ],
        ),
        (
            # The other Region's watcher (infra/components/watch.py): 1 while it reaches this
            # Region.
            "Seen from the other Region (PeerHealthy, min)",
            lambda s: [
                [
                    WATCH_NAMESPACE,
                    PEER_HEALTHY_METRIC,
                    "App",
                    settings.app,
                    "Peer",
                    str(s.role),
                    {"stat": "Minimum", "region": other.region},
                ]
                for other in signals
                if other.region != s.region
            ],
        ),
        (
            "API 4xx / 5xx",
            lambda s: [
                ["AWS/ApiGateway", metric, "ApiName", s.api_name, "Stage", STAGE_NAME]
                for metric in ("4XXError", "5XXError")
            ],
        ),
        (
            "API latency p50 / p99 (ms)",
            lambda s: [
                [
                    "AWS/ApiGateway",
                    "Latency",
                    "ApiName",
                    s.api_name,
                    "Stage",
                    STAGE_NAME,
                    {"stat": stat},
                ]
                for stat in ("p50", "p99")
            ],
        ),
        (
            "Authorizer allow / deny by reason, errors",
            lambda s: [
                _search(
                    f'Namespace="{METRICS_NAMESPACE}" MetricName="{metric}"',
                    metric,
                    metric.lower(),
                )
                for metric in ("AuthorizerAllow", "AuthorizerDeny", "AuthorizerError")
            ],
        ),
        (
            "Lambda errors and throttles",
            lambda s: [
                ["AWS/Lambda", metric, "FunctionName", function_name]
                for function_name in s.function_names.values()
                for metric in ("Errors", "Throttles")
            ],
        ),
        (
            "Lambda concurrency (max)",
            lambda s: [
                [
                    "AWS/Lambda",
                    "ConcurrentExecutions",
                    "FunctionName",
                    function_name,
                    {"stat": "Maximum"},
                ]
                for function_name in s.function_names.values()
            ],
        ),
        (
            "DynamoDB replication latency (ms) and throttled requests",
            lambda s: (
                [
                    [
                        "AWS/DynamoDB",
                        "ReplicationLatency",
                        "TableName",
                        settings.table_name,
                        "ReceivingRegion",
                        other.region,
                        {"stat": "Average"},
                    ]
                    for other in signals
                    if other.region != s.region
                ]
                + [
                    _search(
                        f'Namespace="AWS/DynamoDB" MetricName="ThrottledRequests" '
                        f'TableName="{settings.table_name}"',
                        "ThrottledRequests",
                        "throttled",
                    )
                ]
            ),
        ),
    ]
    widgets: list[dict[str, Any]] = []
    for row, (title, metrics) in enumerate(rows):
        for column, region_signals in enumerate(signals):
            widgets.append(
                _metric_widget(
                    f"{title} - {region_signals.role} {region_signals.region}",
                    region_signals.region,
                    metrics(region_signals),
                    x=12 * column,
                    y=6 * row,
                )
            )
    return {"widgets": widgets}


@dataclass(frozen=True)
class DashboardArgs:
    settings: Settings
    signals: tuple[RegionSignals, RegionSignals]  # one column per Region


class Dashboard(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        args: DashboardArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(f"{PROJECT}:infra:Dashboard", name, None, opts)
        settings = args.settings
        region = settings.primary_region
        self.dashboard = aws.cloudwatch.Dashboard(
            name,
            dashboard_name=settings.app,
            dashboard_body=pulumi.Output.json_dumps(dashboard_body(settings, args.signals)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.url = self.dashboard.dashboard_name.apply(
            lambda dashboard: (
                f"https://{region}.console.aws.amazon.com/cloudwatch/home"
                f"?region={region}#dashboards/dashboard/{dashboard}"
            )
        )
        self.register_outputs({"url": self.url})
