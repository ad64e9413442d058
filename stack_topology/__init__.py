"""The topology document: what the Pulumi program exports and opsctl acts on (docs/contracts.md).

Standard library only, so both `infra/` (which writes the document) and `opsctl/` (which reads it,
without the Pulumi program) import it; the Lambda package carries a copy of it
(`infra.packaging.functions_archive`), from which `functions/` read the words they share (the
failure switch's values, the revoked tokens' partition).
"""

from stack_topology.document import (
    TopologyDocumentError,
    fqdn,
    parse_document,
    parse_name_server,
    to_document,
    zone_id,
)
from stack_topology.jsonvalue import json_field, to_json_value
from stack_topology.model import (
    ALARM_REGION,
    DNS_PORT,
    HTTPS_PORT,
    REVOKED_PARTITION,
    ROLES,
    TOPOLOGY_VERSION,
    AppNames,
    FailureSwitch,
    HealthCheckTiming,
    NameServer,
    OutOfService,
    RecordRef,
    RegionTopology,
    Role,
    Topology,
    Watch,
    per_role,
)

__all__ = [
    "ALARM_REGION",
    "DNS_PORT",
    "HTTPS_PORT",
    "REVOKED_PARTITION",
    "ROLES",
    "TOPOLOGY_VERSION",
    "AppNames",
    "FailureSwitch",
    "HealthCheckTiming",
    "NameServer",
    "OutOfService",
    "RecordRef",
    "RegionTopology",
    "Role",
    "Topology",
    "TopologyDocumentError",
    "Watch",
    "fqdn",
    "json_field",
    "parse_document",
    "parse_name_server",
    "per_role",
    "to_document",
    "to_json_value",
    "zone_id",
]
