"""The `topology` stack output: the topology model filled from the declared resources.

The document is built as `topology.Topology` once every id and URL it holds is known, and written
by the model's one serializer, so what the program exports is what opsctl parses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from infra.components.lever import OUT_OF_SERVICE_METRIC, out_of_service_dimensions
from infra.settings.model import ALARM_REGION, LEVER_METRICS_NAMESPACE, Role, Settings
from stack_topology import (
    HealthCheckTiming,
    OutOfService,
    RecordRef,
    RegionTopology,
    Topology,
    Watch,
    parse_name_server,
    to_document,
    zone_id,
)


@dataclass(frozen=True)
class RegionOutputs:
    """What a Region's resources contribute to its part of the document."""

    role: Role
    region: str
    health_check_id: pulumi.Input[str]
    api_url: pulumi.Input[str]
    health_url: pulumi.Input[str]
    alias_target: pulumi.Input[str]  # the Regional domain name the weighted record points to
    watched_from: str | None = (
        None  # the Region whose watcher watches this one (infra/components/watch.py)
    )


@dataclass(frozen=True)
class LeverOutputs:
    """The data-plane lever (infra/components/lever.py) as opsctl engages it."""

    region: str
    health_check_id: pulumi.Input[str]  # the CLOUDWATCH_METRIC check on the lever's alarm


def _region_topology(settings: Settings, declared: RegionOutputs) -> pulumi.Output[RegionTopology]:
    names = settings.names
    return pulumi.Output.all(
        health_check_id=declared.health_check_id,
        api_url=declared.api_url,
        health_url=declared.health_url,
        alias_target=declared.alias_target,
    ).apply(
        lambda resolved: RegionTopology(
            role=declared.role,
            region=declared.region,
            set_identifier=declared.region,
            alarm_name=names.health_alarm_name(declared.role),
            failure_switch=names.failure_switch_parameter,
            impaired_alarm_name=names.impaired_alarm_name(declared.role),
            watch=(
                Watch(declared.watched_from, names.unreachable_alarm_name(declared.role))
                if declared.watched_from is not None
                else None
            ),
            **resolved,
        )
    )


def topology_output(
    settings: Settings,
    hosted_zone_id: pulumi.Input[str],
    regions: list[RegionOutputs],
    lever: LeverOutputs,
    name_servers: pulumi.Input[list[str]],
    dashboard_url: pulumi.Input[str] | None = None,
) -> pulumi.Output[dict[str, Any]]:
    def document(resolved: dict[str, Any]) -> dict[str, Any]:
        primary, secondary = resolved["regions"]
        return to_document(
            Topology(
                app=settings.app,
                hosted_zone_id=zone_id(resolved["zone_id"]),
                records=(RecordRef(name=settings.record_name, type="A"),),
                alarm_region=ALARM_REGION,
                regions=(primary, secondary),
                out_of_service=OutOfService(
                    region=lever.region,
                    namespace=LEVER_METRICS_NAMESPACE,
                    metric_name=OUT_OF_SERVICE_METRIC,
                    dimensions=out_of_service_dimensions(settings),
                    alarm_name=settings.out_of_service_alarm_name,
                    health_check_id=resolved["lever_health_check_id"],
                ),
                # Route 53 spells the zone's servers with or without the final dot.
                name_servers=tuple(
                    parse_name_server(server.rstrip("."), f"nameServers[{index}]")
                    for index, server in enumerate(resolved["name_servers"])
                ),
                dashboard_url=resolved["dashboard_url"],
                health_check=HealthCheckTiming(
                    request_interval=settings.health_check.request_interval,
                    failure_threshold=settings.health_check.failure_threshold,
                ),
            )
        )

    return pulumi.Output.all(
        zone_id=hosted_zone_id,
        regions=pulumi.Output.all(*(_region_topology(settings, r) for r in regions)),
        lever_health_check_id=lever.health_check_id,
        name_servers=name_servers,
        dashboard_url=dashboard_url,
    ).apply(document)
