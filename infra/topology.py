"""The `topology` stack output: the contract opsctl reads (docs/contracts.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from infra.config import ALARM_REGION, METRICS_NAMESPACE, Role, Settings
from infra.lever import OUT_OF_SERVICE_METRIC, out_of_service_dimensions

TOPOLOGY_VERSION = 1


@dataclass(frozen=True)
class RegionTopology:
    role: Role
    region: str
    health_check_id: pulumi.Input[str]
    api_url: pulumi.Input[str]
    health_url: pulumi.Input[str]
    alias_target: pulumi.Input[str]  # the Regional domain name the weighted record points to


@dataclass(frozen=True)
class LeverTopology:
    """The data-plane lever (infra/lever.py) as opsctl engages it."""

    region: str
    health_check_id: pulumi.Input[str]  # the CLOUDWATCH_METRIC check on the lever's alarm


def topology_output(
    settings: Settings,
    zone_id: pulumi.Input[str],
    regions: list[RegionTopology],
    lever: LeverTopology,
    name_servers: pulumi.Input[list[str]],
    dashboard_url: pulumi.Input[str] | None = None,
) -> pulumi.Output[dict[str, Any]]:
    document: dict[str, Any] = {
        "version": TOPOLOGY_VERSION,
        "app": settings.app,
        "hostedZoneId": pulumi.Output.from_input(zone_id).apply(
            lambda z: z.removeprefix("/hostedzone/")
        ),
        "records": [{"name": settings.record_name, "type": "A"}],
        "alarmRegion": ALARM_REGION,
        "regions": {
            r.role: {
                "region": r.region,
                "setIdentifier": r.region,
                "healthCheckId": r.health_check_id,
                "alarmName": settings.health_alarm_name(r.role),
                "apiUrl": r.api_url,
                "healthUrl": r.health_url,
                "failureSwitch": settings.failure_switch_parameter,
                "impairedAlarmName": settings.impaired_alarm_name(r.role),
                "aliasTarget": r.alias_target,
            }
            for r in regions
        },
        "outOfService": {
            "region": lever.region,
            "namespace": METRICS_NAMESPACE,
            "metricName": OUT_OF_SERVICE_METRIC,
            "dimensions": out_of_service_dimensions(settings),
            "alarmName": settings.out_of_service_alarm_name,
            "healthCheckId": lever.health_check_id,
        },
        # The zone's authoritative servers (Route 53 spells them with or without the final dot).
        "nameServers": pulumi.Output.from_input(name_servers).apply(
            lambda servers: [server.rstrip(".") for server in servers]
        ),
    }
    if dashboard_url is not None:
        document["dashboardUrl"] = dashboard_url
    return pulumi.Output.from_input(document)
