"""The functions every Region runs: one row of `FUNCTION_SPECS` each, plain data.

The row says everything that differs between functions: the code, the timeout, what the
function may touch (its table partitions, the failure switch), which environment it needs and
whether AWS FIS may target it. `infra.settings.model`, `infra.settings.environment` and
`infra.settings.limits` derive the functions' names, environments and limits from it;
`infra.components.regional_functions` declares them. A new function is a new row (and its package
under `functions/`). No Pulumi here: config reads it before any resource exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stack_topology import REVOKED_PARTITION

# The global table's partitions each function may touch (`dynamodb:LeadingKeys`), as the
# functions spell them (tests/infra check them against functions/): revocations are written
# only by operators (`opsctl revoke`), never by a function.
HEALTH_PROBE_PARTITION = "health"
API_PARTITIONS = ("session#*",)

# The alias API Gateway invokes the authorizer through; provisioned concurrency lives on it.
AUTHORIZER_ALIAS = "live"
# The peer watcher's metrics (functions/watcher/metric.py spells it too; tests/infra check).
WATCH_NAMESPACE = "MultiRegionAuthorizer/Watch"
PEER_HEALTHY_METRIC = "PeerHealthy"


@dataclass(frozen=True)
class TableAccess:
    """What a function may do on its Region's replica of the table, and on which partitions."""

    actions: tuple[str, ...]
    partitions: tuple[str, ...]
    # `StringLike` when a partition is a pattern (`session#*`).
    match: str = "StringEquals"

    def condition(self) -> dict[str, Any]:
        """The IAM condition that holds every request to these partitions."""
        return {f"ForAllValues:{self.match}": {"dynamodb:LeadingKeys": list(self.partitions)}}


@dataclass(frozen=True)
class FunctionSpec:
    """One function of every Region: the code it runs and all it may touch."""

    name: str  # names the function `<app>-<name>`, its role and its log group
    handler: str
    timeout_seconds: int
    # None: no table access at all (and no TABLE_NAME).
    table_access: TableAccess | None
    # Gets the identity provider's settings (AUTH_ISSUERS, AUTH_AUDIENCE, AUTH_JWKS_*).
    verifies_tokens: bool = False
    # May read the Region's failure switch, named in FAILURE_SWITCH_PARAMETER.
    reads_failure_switch: bool = False
    # With `faultInjection`, the primary's copy gets the FIS extension and is an FIS target.
    fault_injection_target: bool = False
    # Published and invoked through this alias (provisioned concurrency is configured on it).
    alias: str | None = None
    # May invoke the authorizer's alias (and only it), named in AUTHORIZER_ALIAS_ARN: the
    # health function's canary.
    invokes_authorizer: bool = False
    # May PutMetricData into this CloudWatch namespace (and no other).
    metric_namespace: str | None = None
    # Watches the other Region: declared by `infra.components.watch` once the other Region's API
    # exists (its custom domain is what it reaches), invoked by a schedule, not by API Gateway.
    watches_peer: bool = False


FUNCTION_SPECS: tuple[FunctionSpec, ...] = (
    FunctionSpec(
        name="authorizer",
        handler="functions.authorizer.app.handler",
        timeout_seconds=5,
        # Only the revocation partition, only reads.
        table_access=TableAccess(("dynamodb:Query",), (REVOKED_PARTITION,)),
        verifies_tokens=True,
        alias=AUTHORIZER_ALIAS,
    ),
    FunctionSpec(
        name="api",
        handler="functions.api.app.handler",
        timeout_seconds=10,
        # Sessions (each its own idempotency record); never the revocation list.
        table_access=TableAccess(
            ("dynamodb:GetItem", "dynamodb:PutItem"),
            API_PARTITIONS,
            match="StringLike",
        ),
        fault_injection_target=True,
    ),
    FunctionSpec(
        name="health",
        handler="functions.health.app.handler",
        # Route 53 gives an HTTPS check 2 s to answer; the health function must stay well inside.
        timeout_seconds=3,
        # A one-item read probe on the table, the failure switch, the authorizer's canary.
        table_access=TableAccess(("dynamodb:GetItem",), (HEALTH_PROBE_PARTITION,)),
        verifies_tokens=True,  # reports whether signing keys are loadable
        reads_failure_switch=True,
        invokes_authorizer=True,
        fault_injection_target=True,
    ),
    FunctionSpec(
        name="watcher",
        handler="functions.watcher.app.handler",
        # Its GET of the peer has one 4 s deadline; then one PutMetricData.
        timeout_seconds=10,
        table_access=None,
        metric_namespace=WATCH_NAMESPACE,
        watches_peer=True,
    ),
)
SPEC_BY_NAME = {spec.name: spec for spec in FUNCTION_SPECS}
