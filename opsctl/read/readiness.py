"""Can a Region take all traffic now? `assess_readiness`, for `opsctl readiness` and the shift
preflight, reads the status, both Regions' capacity and the zone at once and judges them: the
Region's own signals (`opsctl.read.region_checks`), its capacity against the other's
(`opsctl.read.capacity_checks`), the records' alias targets, and what recovery without us-east-1
depends on (the operator's credentials, the zone's accelerated recovery).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opsctl.aws import AwsClients
from opsctl.read.capacity import CapacityReadings, read_capacity
from opsctl.read.capacity_checks import DEFAULT_MAX_REPLICATION_LATENCY_MS, capacity_checks
from opsctl.read.concurrent_reads import gather, read_deadline
from opsctl.read.readiness_report import FAIL, PASS, WARN, Check, ReadinessReport
from opsctl.read.recovery_checks import accelerated_recovery_check, credentials_check
from opsctl.read.region_checks import region_checks
from opsctl.read.signals import read_accelerated_recovery
from opsctl.read.status import read_status
from opsctl.read.status_report import StatusReport
from stack_topology import Topology


def _alias_targets(status: StatusReport) -> Check:
    """Shifting weights only moves traffic where the topology says when each record points at
    its own Region: a misrouted record would send the shifted traffic elsewhere."""
    if status.alias_mismatches:
        return Check(
            "alias-targets",
            FAIL,
            "; ".join(status.alias_mismatches),
            "the records do not point where the topology says",
        )
    if status.weights is None:  # Route 53's control plane unreadable (an us-east-1 outage)
        return Check(
            "alias-targets",
            WARN,
            "unknown",
            "the weighted records could not be read, so where they point was not checked",
        )
    return Check("alias-targets", PASS, "each record points at its own Region")


def assess_readiness(
    clients: AwsClients,
    topology: Topology,
    role: str,
    status: StatusReport | None = None,
    max_replication_latency_ms: float = DEFAULT_MAX_REPLICATION_LATENCY_MS,
) -> ReadinessReport:
    """All readiness checks for `role` taking all traffic; reuses `status` when already read."""
    status = status or read_status(clients, topology)
    target = topology.role(role)
    checks = (*region_checks(status, target), _alias_targets(status))
    route53 = clients.route53()
    tasks: dict[str, Callable[[], Any]] = {
        "capacity": lambda: read_capacity(
            clients, target, topology.other(role), topology.names.table_name
        ),
        "zone": lambda: read_accelerated_recovery(route53, topology.hosted_zone_id),
    }
    # read_capacity waits read_deadline() for its own reads and returns what it has.
    reads = gather(tasks, read_deadline() + 1.0)
    # read_capacity gathers itself, so only an overrun of this outer bound (a starved machine)
    # leaves no readings: then every capacity check is unknown, never a crash.
    capacity_read = reads["capacity"]
    readings: CapacityReadings | None = capacity_read.value
    if readings is None:
        assert capacity_read.error is not None  # gather gives a value or the error instead
        readings = CapacityReadings.unread(topology.names.table_name, capacity_read.error)
    capacity = capacity_checks(
        readings, max_replication_latency_ms, (target.region, topology.other(role).region)
    )
    recovery = (
        credentials_check(clients.sso_region, clients.credentials_region, topology.primary.region),
        accelerated_recovery_check(reads["zone"]),
    )
    return ReadinessReport(role=role, region=target.region, checks=checks + capacity + recovery)
