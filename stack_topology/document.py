"""The topology document's one parser (JSON object -> Topology) and one writer (the reverse)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from stack_topology.jsonvalue import to_json_value
from stack_topology.model import (
    ALARM_REGION,
    ROLES,
    TOPOLOGY_VERSION,
    HealthCheckTiming,
    NameServer,
    OutOfService,
    RecordRef,
    RegionTopology,
    Topology,
    Watch,
)


class TopologyDocumentError(ValueError):
    """The document is not a valid topology; the message is one line naming the bad field."""


def to_document(topology: Topology) -> dict[str, Any]:
    """The document as JSON values: what the stack exports and `parse_document` reads back."""
    return to_json_value(topology)


def fqdn(name: str) -> str:
    return name if name.endswith(".") else name + "."


def zone_id(raw: str) -> str:
    """A hosted zone id without the `/hostedzone/` prefix Route 53 sometimes spells it with."""
    return raw.rsplit("/", 1)[-1]


def _require_str(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise TopologyDocumentError(f"topology: {where}.{key} is missing or not a non-empty string")
    return value


def _optional_str(obj: Mapping[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise TopologyDocumentError(f"topology: {where}.{key} must be a string")
    return value or None


# The record types a weighted alias to a Regional API can have (what the name servers are asked).
RECORD_TYPES = ("A", "AAAA")


def _optional_url(obj: Mapping[str, Any], key: str, where: str) -> str:
    """An http(s) URL with a host and a valid port, or "" when absent: every later use (the
    direct probe, readiness finding the API) takes it apart without checking again."""
    value = _optional_str(obj, key, where)
    if value is None:
        return ""
    try:
        parts = urlsplit(value)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError:
        valid = False
    if not valid or any(ch.isspace() or not ch.isprintable() for ch in value):
        raise TopologyDocumentError(
            f"topology: {where}.{key} is not an http(s) URL with a host: {value!r}"
        )
    return value


def _require_distinct(records: list[RecordRef], regions: list[RegionTopology]) -> None:
    """Each record once, and what tells the two Regions apart not shared by both: acting on a
    record twice, or judging both Regions by one health check, would be wrong silently."""
    seen: set[tuple[str, str]] = set()
    for ref in records:
        key = (ref.name.lower(), ref.type)
        if key in seen:
            raise TopologyDocumentError(f"topology: records lists {ref.name} {ref.type} twice")
        seen.add(key)
    primary, secondary = regions
    for field_name, label in (
        ("set_identifier", "setIdentifier"),
        ("health_check_id", "healthCheckId"),
    ):
        if getattr(primary, field_name) == getattr(secondary, field_name):
            raise TopologyDocumentError(f"topology: primary and secondary share one {label}")


def _require_watched_from_the_other(regions: list[RegionTopology]) -> None:
    """A Region's watcher runs in the other Region: a watch from inside the watched Region
    would fall silent in exactly the outage it exists for."""
    primary, secondary = regions
    for region, other in ((primary, secondary), (secondary, primary)):
        if region.watch is not None and region.watch.region != other.region:
            raise TopologyDocumentError(
                f"topology: regions.{region.role}.watch.region is {region.watch.region}, "
                f"expected the other Region {other.region}"
            )


def _alias_target(raw: str | None) -> str | None:
    # Route 53 returns alias DNS names with a trailing dot; the output may not have one.
    return (raw or "").rstrip(".").lower() or None


def parse_name_server(raw: Any, where: str) -> NameServer:
    """`host` or `host:port` (`[IPv6]:port`) as a NameServer; `where` names it in errors."""
    if not isinstance(raw, str) or not raw.strip():
        raise TopologyDocumentError(f'topology: {where} must be a non-empty "host" or "host:port"')
    text = raw.strip()
    host, port_text = text, ""
    if text.startswith("["):  # [IPv6]:port
        host, _, rest = text[1:].partition("]")
        port_text = rest.removeprefix(":")
    elif text.count(":") == 1:  # host:port (a bare IPv6 address has several colons)
        host, port_text = text.split(":")
    if not port_text:
        return NameServer(host=host)
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise TopologyDocumentError(f"topology: {where} has an invalid port: {raw!r}")
    return NameServer(host=host, port=int(port_text))


def _parse_name_servers(document: Mapping[str, Any]) -> tuple[NameServer, ...]:
    raw = document.get("nameServers")
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise TopologyDocumentError('topology: nameServers must be a list of "host" or "host:port"')
    return tuple(
        parse_name_server(server, f"nameServers[{index}]") for index, server in enumerate(raw)
    )


def _parse_https_port(document: Mapping[str, Any]) -> int | None:
    raw = document.get("httpsPort")
    if raw is None:
        return None
    if type(raw) is not int or not 0 < raw < 65536:  # `true` is an int in Python
        raise TopologyDocumentError(f"topology: httpsPort must be a port number, got {raw!r}")
    return raw


def _parse_out_of_service(
    document: Mapping[str, Any], secondary: RegionTopology
) -> OutOfService | None:
    raw = document.get("outOfService")
    if raw is None:
        return None
    where = "outOfService"
    if not isinstance(raw, Mapping):
        raise TopologyDocumentError(f"topology: {where} must be an object")
    dimensions = raw.get("dimensions")
    if not isinstance(dimensions, Mapping) or not all(
        isinstance(key, str) and key and isinstance(value, str) and value
        for key, value in dimensions.items()
    ):
        raise TopologyDocumentError(
            f"topology: {where}.dimensions must be an object of non-empty strings"
        )
    lever = OutOfService(
        region=_require_str(raw, "region", where),
        namespace=_require_str(raw, "namespace", where),
        metric_name=_require_str(raw, "metricName", where),
        dimensions=dict(dimensions),
        alarm_name=_require_str(raw, "alarmName", where),
        health_check_id=_optional_str(raw, "healthCheckId", where),
    )
    # The lever makes the standby take over: its metric and alarm live in the secondary Region,
    # the one that must be reachable when the primary is not.
    if lever.region != secondary.region:
        raise TopologyDocumentError(
            f"topology: {where}.region is {lever.region}, expected the secondary Region "
            f"{secondary.region}"
        )
    return lever


# What Route 53 accepts for an endpoint health check (RequestInterval, FailureThreshold).
REQUEST_INTERVALS = (10, 30)
FAILURE_THRESHOLDS = range(1, 11)


def _parse_health_check(document: Mapping[str, Any]) -> HealthCheckTiming | None:
    raw = document.get("healthCheck")
    if raw is None:
        return None
    where = "topology: healthCheck"
    if not isinstance(raw, Mapping):
        raise TopologyDocumentError(f"{where} must be an object")
    interval = _whole_number(raw.get("requestInterval"))
    threshold = _whole_number(raw.get("failureThreshold"))
    if interval not in REQUEST_INTERVALS:
        shown = raw.get("requestInterval")
        raise TopologyDocumentError(f"{where}.requestInterval must be 10 or 30, not {shown!r}")
    if threshold not in FAILURE_THRESHOLDS:
        raise TopologyDocumentError(
            f"{where}.failureThreshold must be an integer from 1 to 10, not "
            f"{raw.get('failureThreshold')!r}"
        )
    assert interval is not None and threshold is not None
    return HealthCheckTiming(request_interval=interval, failure_threshold=threshold)


def _whole_number(value: Any) -> int | None:
    """An integer, also one a stack output spells as a float (Pulumi's numbers are doubles)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if float(value).is_integer() else None


def _parse_watch(raw_region: Mapping[str, Any], where: str) -> Watch | None:
    raw = raw_region.get("watch")
    if raw is None:
        return None
    where = f"{where}.watch"
    if not isinstance(raw, Mapping):
        raise TopologyDocumentError(f"topology: {where} must be an object")
    return Watch(
        region=_require_str(raw, "region", where),
        alarm_name=_require_str(raw, "alarmName", where),
    )


def _parse_records(document: Mapping[str, Any]) -> list[RecordRef]:
    raw_records = document.get("records")
    if not isinstance(raw_records, list) or not raw_records:
        raise TopologyDocumentError("topology: records must be a non-empty list of {name, type}")
    records = []
    for index, raw in enumerate(raw_records):
        if not isinstance(raw, Mapping):
            raise TopologyDocumentError(f"topology: records[{index}] must be an object")
        where = f"records[{index}]"
        record_type = _require_str(raw, "type", where).upper()
        if record_type not in RECORD_TYPES:
            raise TopologyDocumentError(
                f"topology: {where}.type must be {' or '.join(RECORD_TYPES)}, not {record_type!r}"
            )
        records.append(RecordRef(name=fqdn(_require_str(raw, "name", where)), type=record_type))
    return records


def _parse_regions(document: Mapping[str, Any]) -> list[RegionTopology]:
    regions = document.get("regions")
    if not isinstance(regions, Mapping):
        raise TopologyDocumentError(
            "topology: regions must be an object with primary and secondary"
        )
    parsed = []
    for role in ROLES:
        raw_region = regions.get(role)
        if not isinstance(raw_region, Mapping):
            raise TopologyDocumentError(f"topology: regions.{role} is missing")
        where = f"regions.{role}"
        parsed.append(
            RegionTopology(
                role=role,
                region=_require_str(raw_region, "region", where),
                set_identifier=_require_str(raw_region, "setIdentifier", where),
                health_check_id=_require_str(raw_region, "healthCheckId", where),
                alarm_name=_require_str(raw_region, "alarmName", where),
                api_url=_optional_url(raw_region, "apiUrl", where),
                health_url=_optional_url(raw_region, "healthUrl", where),
                failure_switch=_require_str(raw_region, "failureSwitch", where),
                impaired_alarm_name=_optional_str(raw_region, "impairedAlarmName", where),
                alias_target=_alias_target(_optional_str(raw_region, "aliasTarget", where)),
                watch=_parse_watch(raw_region, where),
            )
        )
    extra_roles = sorted(set(regions) - set(ROLES))
    if extra_roles:
        raise TopologyDocumentError(f"topology: unknown roles in regions: {', '.join(extra_roles)}")
    return parsed


def parse_document(document: Any) -> Topology:
    """Validate a topology object (or a stack-output document holding one) into a Topology."""
    if isinstance(document, Mapping) and "topology" in document and "regions" not in document:
        document = document["topology"]
    if not isinstance(document, Mapping):
        raise TopologyDocumentError(
            "topology: expected a JSON object with `version`, `regions`, ..."
        )
    version = document.get("version")
    if type(version) is not int or version != TOPOLOGY_VERSION:  # `true == 1` in Python
        raise TopologyDocumentError(
            f"topology: unsupported version {version!r} (this opsctl reads version "
            f"{TOPOLOGY_VERSION})"
        )
    app = _require_str(document, "app", "topology")
    zone = zone_id(_require_str(document, "hostedZoneId", "topology"))
    records = _parse_records(document)
    regions = _parse_regions(document)
    _require_distinct(records, regions)
    _require_watched_from_the_other(regions)
    alarm_region = _optional_str(document, "alarmRegion", "topology") or ALARM_REGION
    dashboard_url = _optional_str(document, "dashboardUrl", "topology")
    return Topology(
        app=app,
        hosted_zone_id=zone,
        records=tuple(records),
        alarm_region=alarm_region,
        regions=(regions[0], regions[1]),
        out_of_service=_parse_out_of_service(document, regions[1]),
        name_servers=_parse_name_servers(document),
        dashboard_url=dashboard_url,
        health_check=_parse_health_check(document),
        https_port=_parse_https_port(document),
    )
