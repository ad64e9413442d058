"""What opsctl acts on: the stack's `topology` output, loaded from a file, Pulumi, or tags.

Sources, in the order the CLI tries them: `--topology FILE` (the topology object, or the whole
`pulumi stack output --json` document holding it under `topology`), `--stack NAME` (runs the Pulumi
CLI), `OPSCTL_TOPOLOGY` (a file, like --topology), and finally discovery from the tags on the
Route 53 health checks, so an operator can act during an incident without the Pulumi backend.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from opsctl.aws import translate_aws_errors
from opsctl.errors import TopologyError
from opsctl.files import read_regular_file

TOPOLOGY_VERSION = 1
ROLES: tuple[str, str] = ("primary", "secondary")
# Route 53 weights and the 0-255 range AWS enforces.
MAX_WEIGHT = 255
# A topology is a few KiB; anything far bigger is the wrong file (or a device).
MAX_TOPOLOGY_BYTES = 1 << 20


@dataclass(frozen=True)
class RecordRef:
    """One record name/type that carries the weighted pair (alias A, maybe AAAA too)."""

    name: str
    type: str


@dataclass(frozen=True)
class RegionTopology:
    role: str
    region: str
    set_identifier: str
    health_check_id: str
    alarm_name: str
    failure_switch: str
    api_url: str = ""
    health_url: str = ""
    # The Region's composite "Region impaired" alarm (in that Region); None when not deployed.
    impaired_alarm_name: str | None = None
    # The Regional domain name the weighted record's alias points at (lower case, no trailing
    # dot); None in topologies written before it was part of the output.
    alias_target: str | None = None


@dataclass(frozen=True)
class OutOfService:
    """The data-plane lever: a metric in the secondary Region whose alarm fails the primary's
    record health check, so DNS answers the secondary without a Route 53 control-plane call."""

    region: str
    namespace: str
    metric_name: str
    dimensions: dict[str, str] = field(hash=False)
    alarm_name: str
    # The CLOUDWATCH_METRIC health check on the alarm; None when the output does not name it.
    health_check_id: str | None = None


DNS_PORT = 53


@dataclass(frozen=True)
class NameServer:
    """One of the hosted zone's authoritative servers (the sandbox serves on a loopback port)."""

    host: str
    port: int = DNS_PORT

    def __str__(self) -> str:
        if self.port == DNS_PORT:
            return self.host
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class Topology:
    app: str
    hosted_zone_id: str
    records: tuple[RecordRef, ...]
    alarm_region: str
    primary: RegionTopology
    secondary: RegionTopology
    dashboard_url: str | None = None
    # The lever and the zone's name servers; None / () in topologies written before them.
    out_of_service: OutOfService | None = None
    name_servers: tuple[NameServer, ...] = ()

    @property
    def regions(self) -> tuple[RegionTopology, RegionTopology]:
        return (self.primary, self.secondary)

    @property
    def record_name(self) -> str:
        return self.records[0].name

    def role(self, role: str) -> RegionTopology:
        return self.primary if role == "primary" else self.secondary

    def other(self, role: str) -> RegionTopology:
        return self.secondary if role == "primary" else self.primary

    def role_of_set_identifier(self, set_identifier: str) -> str | None:
        for region in self.regions:
            if region.set_identifier == set_identifier:
                return region.role
        return None


def _fqdn(name: str) -> str:
    return name if name.endswith(".") else name + "."


def _zone_id(raw: str) -> str:
    return raw.rsplit("/", 1)[-1]


def _require_str(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise TopologyError(f"topology: {where}.{key} is missing or not a non-empty string")
    return value


def _optional_str(obj: Mapping[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise TopologyError(f"topology: {where}.{key} must be a string")
    return value or None


def _require_distinct(
    records: list[RecordRef], primary: RegionTopology, secondary: RegionTopology
) -> None:
    """Each record once, and what tells the two Regions apart not shared by both: acting on a
    record twice, or judging both Regions by one health check, would be wrong silently."""
    seen: set[tuple[str, str]] = set()
    for ref in records:
        key = (ref.name.lower(), ref.type)
        if key in seen:
            raise TopologyError(f"topology: records lists {ref.name} {ref.type} twice")
        seen.add(key)
    for key, label in (
        ("set_identifier", "setIdentifier"),
        ("health_check_id", "healthCheckId"),
    ):
        if getattr(primary, key) == getattr(secondary, key):
            raise TopologyError(f"topology: primary and secondary share one {label}")


def _alias_target(raw: str | None) -> str | None:
    # Route 53 returns alias DNS names with a trailing dot; the output may not have one.
    return (raw or "").rstrip(".").lower() or None


def _parse_name_server(raw: Any, where: str) -> NameServer:
    if not isinstance(raw, str) or not raw.strip():
        raise TopologyError(f'topology: {where} must be a non-empty "host" or "host:port"')
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
        raise TopologyError(f"topology: {where} has an invalid port: {raw!r}")
    return NameServer(host=host, port=int(port_text))


def _parse_name_servers(document: Mapping[str, Any]) -> tuple[NameServer, ...]:
    raw = document.get("nameServers")
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise TopologyError('topology: nameServers must be a list of "host" or "host:port"')
    return tuple(
        _parse_name_server(server, f"nameServers[{index}]") for index, server in enumerate(raw)
    )


def _parse_out_of_service(
    document: Mapping[str, Any], secondary: RegionTopology
) -> OutOfService | None:
    raw = document.get("outOfService")
    if raw is None:
        return None
    where = "outOfService"
    if not isinstance(raw, Mapping):
        raise TopologyError(f"topology: {where} must be an object")
    dimensions = raw.get("dimensions")
    if not isinstance(dimensions, Mapping) or not all(
        isinstance(key, str) and key and isinstance(value, str) and value
        for key, value in dimensions.items()
    ):
        raise TopologyError(f"topology: {where}.dimensions must be an object of non-empty strings")
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
        raise TopologyError(
            f"topology: {where}.region is {lever.region}, expected the secondary Region "
            f"{secondary.region}"
        )
    return lever


def parse_topology(document: Any) -> Topology:
    """Validate a topology object (or a stack-output document holding one) into a Topology."""
    if isinstance(document, Mapping) and "topology" in document and "regions" not in document:
        document = document["topology"]
    if not isinstance(document, Mapping):
        raise TopologyError("topology: expected a JSON object with `version`, `regions`, ...")
    version = document.get("version")
    if type(version) is not int or version != TOPOLOGY_VERSION:  # `true == 1` in Python
        raise TopologyError(
            f"topology: unsupported version {version!r} (this opsctl reads version "
            f"{TOPOLOGY_VERSION})"
        )
    app = _require_str(document, "app", "topology")
    zone = _zone_id(_require_str(document, "hostedZoneId", "topology"))
    raw_records = document.get("records")
    if not isinstance(raw_records, list) or not raw_records:
        raise TopologyError("topology: records must be a non-empty list of {name, type}")
    records = []
    for index, raw in enumerate(raw_records):
        if not isinstance(raw, Mapping):
            raise TopologyError(f"topology: records[{index}] must be an object")
        where = f"records[{index}]"
        records.append(
            RecordRef(
                name=_fqdn(_require_str(raw, "name", where)),
                type=_require_str(raw, "type", where).upper(),
            )
        )
    regions = document.get("regions")
    if not isinstance(regions, Mapping):
        raise TopologyError("topology: regions must be an object with primary and secondary")
    parsed = {}
    for role in ROLES:
        raw_region = regions.get(role)
        if not isinstance(raw_region, Mapping):
            raise TopologyError(f"topology: regions.{role} is missing")
        where = f"regions.{role}"
        parsed[role] = RegionTopology(
            role=role,
            region=_require_str(raw_region, "region", where),
            set_identifier=_require_str(raw_region, "setIdentifier", where),
            health_check_id=_require_str(raw_region, "healthCheckId", where),
            alarm_name=_require_str(raw_region, "alarmName", where),
            failure_switch=_require_str(raw_region, "failureSwitch", where),
            api_url=_optional_str(raw_region, "apiUrl", where) or "",
            health_url=_optional_str(raw_region, "healthUrl", where) or "",
            impaired_alarm_name=_optional_str(raw_region, "impairedAlarmName", where),
            alias_target=_alias_target(_optional_str(raw_region, "aliasTarget", where)),
        )
    extra_roles = sorted(set(regions) - set(ROLES))
    if extra_roles:
        raise TopologyError(f"topology: unknown roles in regions: {', '.join(extra_roles)}")
    _require_distinct(records, parsed["primary"], parsed["secondary"])
    return Topology(
        app=app,
        hosted_zone_id=zone,
        records=tuple(records),
        alarm_region=_optional_str(document, "alarmRegion", "topology") or "us-east-1",
        primary=parsed["primary"],
        secondary=parsed["secondary"],
        dashboard_url=_optional_str(document, "dashboardUrl", "topology"),
        out_of_service=_parse_out_of_service(document, parsed["secondary"]),
        name_servers=_parse_name_servers(document),
    )


def topology_to_json(topology: Topology) -> dict[str, Any]:
    """The contract's JSON form (what the stack outputs), e.g. to save a discovered topology."""

    def region(r: RegionTopology) -> dict[str, Any]:
        out: dict[str, Any] = {
            "region": r.region,
            "setIdentifier": r.set_identifier,
            "healthCheckId": r.health_check_id,
            "alarmName": r.alarm_name,
            "apiUrl": r.api_url,
            "healthUrl": r.health_url,
            "failureSwitch": r.failure_switch,
        }
        if r.impaired_alarm_name:
            out["impairedAlarmName"] = r.impaired_alarm_name
        if r.alias_target:
            out["aliasTarget"] = r.alias_target
        return out

    out: dict[str, Any] = {
        "version": TOPOLOGY_VERSION,
        "app": topology.app,
        "hostedZoneId": topology.hosted_zone_id,
        "records": [{"name": r.name, "type": r.type} for r in topology.records],
        "alarmRegion": topology.alarm_region,
        "regions": {r.role: region(r) for r in topology.regions},
    }
    if topology.dashboard_url:
        out["dashboardUrl"] = topology.dashboard_url
    lever = topology.out_of_service
    if lever is not None:
        out["outOfService"] = {
            "region": lever.region,
            "namespace": lever.namespace,
            "metricName": lever.metric_name,
            "dimensions": dict(lever.dimensions),
            "alarmName": lever.alarm_name,
            **({"healthCheckId": lever.health_check_id} if lever.health_check_id else {}),
        }
    if topology.name_servers:
        out["nameServers"] = [str(server) for server in topology.name_servers]
    return out


def load_topology_file(path: Path) -> Topology:
    text = read_regular_file(
        path, what="topology file", max_bytes=MAX_TOPOLOGY_BYTES, error=TopologyError
    )
    return parse_topology(_parse_json(text, f"topology file {path}"))


def _parse_json(text: str, source: str) -> Any:
    """json.loads with every failure as one TopologyError line (nesting too deep for the parser,
    a number too long to convert, as well as plain syntax errors)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise TopologyError(f"{source} is not valid JSON: {error}") from None
    except (ValueError, RecursionError) as error:
        why = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        raise TopologyError(f"{source} is not valid JSON: {why}") from None


def load_topology_from_stack(stack: str, cwd: Path | None = None) -> Topology:
    """Run `pulumi stack output --json` for the stack (needs the Pulumi CLI and its backend)."""
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise TopologyError(
            "the Pulumi CLI is not installed: use --topology FILE, or omit --stack to discover "
            "the topology from the health-check tags"
        )
    try:
        completed = subprocess.run(
            [pulumi, "stack", "output", "--json", "--stack", stack],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=cwd,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise TopologyError(f"`pulumi stack output` for stack {stack} timed out") from None
    if completed.returncode != 0:
        lines = completed.stderr.strip().splitlines() or ["no error output"]
        raise TopologyError(f"`pulumi stack output` for stack {stack} failed: {lines[-1]}")
    document = _parse_json(completed.stdout, f"`pulumi stack output` for stack {stack}")
    if not isinstance(document, Mapping) or "topology" not in document:
        raise TopologyError(f"stack {stack} has no `topology` output")
    return parse_topology(document)


# Discovery -------------------------------------------------------------------------------------

_TAG_BATCH = 10  # ListTagsForResources takes at most 10 ids per call.


def _health_checks(route53: Any) -> list[dict[str, Any]]:
    checks: list[dict[str, Any]] = []
    for page in route53.get_paginator("list_health_checks").paginate():
        checks.extend(page.get("HealthChecks", []))
    return checks


def _tags_by_health_check(route53: Any, ids: list[str]) -> dict[str, dict[str, str]]:
    tags: dict[str, dict[str, str]] = {}
    for start in range(0, len(ids), _TAG_BATCH):
        response = route53.list_tags_for_resources(
            ResourceType="healthcheck", ResourceIds=ids[start : start + _TAG_BATCH]
        )
        for tag_set in response.get("ResourceTagSets", []):
            tags[tag_set["ResourceId"]] = {t["Key"]: t["Value"] for t in tag_set.get("Tags", [])}
    return tags


def _health_url(config: Mapping[str, Any]) -> str:
    host = config.get("FullyQualifiedDomainName") or config.get("IPAddress") or ""
    if not host:
        return ""
    scheme = "https" if str(config.get("Type", "")).startswith("HTTPS") else "http"
    port = config.get("Port")
    default_port = 443 if scheme == "https" else 80
    netloc = host if port in (None, default_port) else f"{host}:{port}"
    return f"{scheme}://{netloc}{config.get('ResourcePath', '')}"


def _api_url(health_url: str) -> str:
    parts = urlsplit(health_url)
    if parts.path.endswith("/health"):
        return health_url[: -len("/health")]
    return ""


_ENDPOINT_CHECK_TYPES = frozenset({"HTTP", "HTTPS", "HTTP_STR_MATCH", "HTTPS_STR_MATCH", "TCP"})
_DISCOVERY_TAGS = (
    "Role",
    "Region",
    "HostedZoneId",
    "RecordName",
    "SetIdentifier",
    "AlarmName",
    "FailureSwitch",
)


def discover_topology(route53: Any, app: str | None = None) -> Topology:
    """Build the topology from the tags the program puts on its health checks (contracts.md)."""
    with translate_aws_errors("listing Route 53 health checks for discovery"):
        checks = {check["Id"]: check for check in _health_checks(route53)}
        tags = _tags_by_health_check(route53, list(checks))
    tagged = {hc_id: t for hc_id, t in tags.items() if t.get("App")}
    apps = sorted({t["App"] for t in tagged.values()})
    if app is None:
        if not apps:
            raise TopologyError(
                "no topology given and no Route 53 health check carries an App tag: "
                "use --topology FILE or --stack NAME"
            )
        if len(apps) > 1:
            raise TopologyError(f"several apps found by tags ({', '.join(apps)}): choose --app")
        app = apps[0]
    elif app not in apps:
        found = ", ".join(apps) or "none"
        raise TopologyError(f"no health checks tagged App={app} (apps found: {found})")
    by_role: dict[str, dict[str, Any]] = {}
    for hc_id, hc_tags in tagged.items():
        # The lever's CLOUDWATCH_METRIC check (and the CALCULATED one combining it with the HTTPS
        # check) carry the app's tags too; a Region is found by its endpoint check.
        check_type = checks[hc_id].get("HealthCheckConfig", {}).get("Type")
        if hc_tags["App"] != app or check_type not in _ENDPOINT_CHECK_TYPES:
            continue
        role = hc_tags.get("Role")
        if role not in ROLES:
            raise TopologyError(f"health check {hc_id} (App={app}) has Role tag {role!r}")
        if role in by_role:
            raise TopologyError(f"two health checks tagged App={app} Role={role}")
        missing = [key for key in _DISCOVERY_TAGS if not hc_tags.get(key)]
        if missing:
            raise TopologyError(f"health check {hc_id} lacks tags: {', '.join(missing)}")
        health_url = _health_url(checks[hc_id].get("HealthCheckConfig", {}))
        by_role[role] = {
            "region": hc_tags["Region"],
            "setIdentifier": hc_tags["SetIdentifier"],
            "healthCheckId": hc_id,
            "alarmName": hc_tags["AlarmName"],
            "failureSwitch": hc_tags["FailureSwitch"],
            "healthUrl": health_url,
            "apiUrl": _api_url(health_url),
            "impairedAlarmName": hc_tags.get("ImpairedAlarmName"),
            "_zone": hc_tags["HostedZoneId"],
            "_record": hc_tags["RecordName"],
        }
    missing_roles = [role for role in ROLES if role not in by_role]
    if missing_roles:
        raise TopologyError(f"no health check tagged App={app} Role={missing_roles[0]}")
    zones = {by_role[role].pop("_zone") for role in ROLES}
    record_names = {_fqdn(by_role[role].pop("_record")) for role in ROLES}
    if len(zones) != 1 or len(record_names) != 1:
        raise TopologyError(f"health checks of App={app} disagree on HostedZoneId/RecordName tags")
    return parse_topology(
        {
            "version": TOPOLOGY_VERSION,
            "app": app,
            "hostedZoneId": zones.pop(),
            "records": [{"name": record_names.pop(), "type": "A"}],
            "alarmRegion": "us-east-1",
            "regions": by_role,
        }
    )
