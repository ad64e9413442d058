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
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from opsctl.aws import translate_aws_errors
from opsctl.errors import TopologyError
from opsctl.files import read_regular_file
from stack_topology import (
    ALARM_REGION,
    ROLES,
    TOPOLOGY_VERSION,
    Topology,
    TopologyDocumentError,
    fqdn,
    parse_document,
)

# Route 53 weights and the 0-255 range AWS enforces.
MAX_WEIGHT = 255
# A topology is a few KiB; anything far bigger is the wrong file (or a device).
MAX_TOPOLOGY_BYTES = 1 << 20


def parse_topology(document: Any) -> Topology:
    """Validate a topology object (or a stack-output document holding one) into a Topology."""
    try:
        return parse_document(document)
    except TopologyDocumentError as error:
        raise TopologyError(str(error)) from None


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
    primary_check = checks[by_role["primary"]["healthCheckId"]].get("HealthCheckConfig", {})
    zones = {by_role[role].pop("_zone") for role in ROLES}
    record_names = {fqdn(by_role[role].pop("_record")) for role in ROLES}
    if len(zones) != 1 or len(record_names) != 1:
        raise TopologyError(f"health checks of App={app} disagree on HostedZoneId/RecordName tags")
    return parse_topology(
        {
            "version": TOPOLOGY_VERSION,
            "app": app,
            "hostedZoneId": zones.pop(),
            "records": [{"name": record_names.pop(), "type": "A"}],
            "alarmRegion": ALARM_REGION,
            "regions": by_role,
            # Route 53's defaults where the check does not say (GetHealthCheck always does).
            "healthCheck": {
                "requestInterval": primary_check.get("RequestInterval", 30),
                "failureThreshold": primary_check.get("FailureThreshold", 3),
            },
        }
    )
