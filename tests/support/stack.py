"""The deployed stack as the tests and benchmarks name it: the app, its Regions, the shared record
and its weighted alias records, the lever; and a topology document with no AWS behind it."""

from __future__ import annotations

from typing import Any

APP = "multi-region-authorizer-primary"
ZONE_NAME = "example.com."
RECORD_NAME = "auth.example.com."
REGIONS = {"primary": "us-east-1", "secondary": "us-west-2"}
OTHER_ROLE = {"primary": "secondary", "secondary": "primary"}
# The Regional API Gateway custom-domain targets the alias records point at.
ALIAS_ZONES = {"us-east-1": "Z1UJRXOUMOOFQ8", "us-west-2": "Z2OJLYMUO9EFXC"}
API_IDS = {"primary": "a1b2c3d4e5", "secondary": "f6g7h8i9j0"}
# The data-plane lever (contract: docs/contracts.md), in the secondary Region.
LEVER_NAMESPACE = "MultiRegionAuthorizer/Lever"
LEVER_METRIC = "PrimaryOutOfService"
LEVER_ALARM = f"{APP}-primary-out-of-service"


def alias_target(region: str) -> str:
    """The Regional custom domain's regional domain name the Region's alias record points at."""
    return f"d-{region.replace('-', '')}.execute-api.{region}.amazonaws.com"


def weighted_record(region: str, weight: int, points_at: str | None = None) -> dict[str, Any]:
    """The Region's weighted alias record; `points_at` another Region's domain to misroute it."""
    target = points_at or region
    return {
        "Name": RECORD_NAME,
        "Type": "A",
        "SetIdentifier": region,
        "Weight": weight,
        "AliasTarget": {
            "HostedZoneId": ALIAS_ZONES[target],
            "DNSName": alias_target(target) + ".",
            "EvaluateTargetHealth": False,
        },
    }


def topology_document(app: str = "app", *, urls: bool = False, **top: Any) -> dict[str, Any]:
    """A valid topology document (docs/contracts.md) naming resources that exist nowhere: for tests
    that parse, render, plan or ask DNS without the emulator. `urls` adds each Region's apiUrl and
    healthUrl; `top` adds top-level keys (`nameServers=[...]`, `httpsPort=...`)."""
    regions: dict[str, Any] = {}
    for role, region in REGIONS.items():
        regions[role] = {
            "region": region,
            "setIdentifier": region,
            "healthCheckId": f"hc-{role}",
            "alarmName": f"{app}-{role}-health",
            "failureSwitch": f"/{app}/health/failure-switch",
            "aliasTarget": alias_target(region),
        }
        if urls:
            api = f"https://{API_IDS[role]}.execute-api.{region}.amazonaws.com/prod"
            regions[role] |= {"apiUrl": api, "healthUrl": f"{api}/health"}
    return {
        "version": 1,
        "app": app,
        "hostedZoneId": "Z0123456789ABCDEFGHIJ",
        "records": [{"name": RECORD_NAME, "type": "A"}],
        "alarmRegion": "us-east-1",
        "regions": regions,
        **top,
    }
