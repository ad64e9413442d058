"""The `topology` stack output: the contract opsctl reads (DESIGN.md, docs/contracts.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from infra.config import ALARM_REGION, Role, Settings

TOPOLOGY_VERSION = 1


@dataclass(frozen=True)
class RegionTopology:
    role: Role
    region: str
    health_check_id: pulumi.Input[str]
    api_url: pulumi.Input[str]
    health_url: pulumi.Input[str]


def topology_output(
    settings: Settings,
    zone_id: pulumi.Input[str],
    regions: list[RegionTopology],
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
            }
            for r in regions
        },
    }
    if dashboard_url is not None:
        document["dashboardUrl"] = dashboard_url
    return pulumi.Output.from_input(document)
