"""`opsctl status`: weights, lever, health, alarms, failure switches and DNS answers, read at once.

Every source is read concurrently under one short deadline. A source that cannot be read (its
Region is down, or Route 53's control plane in us-east-1 is) is listed in `unreadable` and its
fields stay None; the report still says who serves, from what it could read, and says that the
judgement rests on partial data.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from opsctl.aws import AwsClients
from opsctl.errors import AwsUnreachable
from opsctl.model import Weights
from opsctl.read.concurrent_reads import gather, read_deadline
from opsctl.read.dns_answers import read_dns, zone_servers
from opsctl.read.health_probe import HEALTH_PROBE_TIMEOUT, HealthProbe, probe_health_url
from opsctl.read.lever_state import read_lever_state
from opsctl.read.records import RecordState, alias_mismatches, read_records
from opsctl.read.region_status import RegionStatus, WatchView
from opsctl.read.signals import (
    AlarmState,
    CheckerCounts,
    read_alarms,
    read_checker_counts,
    read_failure_switch,
    read_health_metrics,
)
from opsctl.read.signing import HealthSigner
from opsctl.read.status_report import StatusReport
from stack_topology import RegionTopology, Topology


def _region_status(
    topology: RegionTopology,
    weights: Weights | None,
    health: dict[str, bool | None] | None,
    checkers: CheckerCounts | None,
    alarms: dict[str, AlarmState] | None,
    switch: str | None,
    impaired: AlarmState | None,
    probe: HealthProbe | None,
    watch: AlarmState | None,
) -> RegionStatus:
    alarm = (alarms or {}).get(topology.alarm_name)
    watch_view = None
    if topology.watch is not None:
        watch_view = WatchView(
            topology.watch.region,
            watch.state if watch else None,
            watch.since if watch else None,
        )
    return RegionStatus(
        role=topology.role,
        region=topology.region,
        set_identifier=topology.set_identifier,
        weight=weights.of(topology.role) if weights else None,
        share=weights.share(topology.role) if weights else None,
        healthy=(health or {}).get(topology.health_check_id),
        checkers_healthy=checkers.healthy if checkers else None,
        checkers_total=checkers.total if checkers else None,
        alarm=alarm.state if alarm else None,
        alarm_since=alarm.since if alarm else None,
        alarm_missing_data=alarm.missing_data if alarm else False,
        failure_switch=switch,
        impaired_alarm=impaired.state if impaired else None,
        impaired_alarm_since=impaired.since if impaired else None,
        probe=probe,
        watch=watch_view,
    )


def read_status(
    clients: AwsClients, topology: Topology, deadline: float | None = None
) -> StatusReport:
    """Every read runs concurrently under `deadline` (default read_deadline()): wall time is
    one round trip when AWS answers, and at most the deadline when a Region does not.

    Weighted records that are readable but malformed raise RecordsError; any read that fails or
    does not answer in time leaves its fields None and is listed in `unreadable`, because during
    an incident one Region (or Route 53's control plane) may be down and the operator still needs
    the rest.
    """
    deadline = read_deadline() if deadline is None else deadline
    route53 = clients.route53()
    alarm_cloudwatch = clients.client("cloudwatch", topology.alarm_region)
    # Clients are created here, up front, so the threads only make calls.
    ssm = {r.role: clients.client("ssm", r.region) for r in topology.regions}
    regional_cloudwatch = {r.role: clients.client("cloudwatch", r.region) for r in topology.regions}
    watching_cloudwatch = {
        r.role: clients.client("cloudwatch", r.watch.region) for r in topology.regions if r.watch
    }
    lever = topology.out_of_service
    signer = HealthSigner(clients.frozen_credentials)

    health_check_ids = [r.health_check_id for r in topology.regions]
    lever_check_id = lever.health_check_id if lever else None
    if lever_check_id:
        health_check_ids.append(lever_check_id)

    tasks: dict[str, Callable[[], Any]] = {
        "records": lambda: read_records(route53, topology),
        "health": lambda: read_health_metrics(alarm_cloudwatch, health_check_ids),
        "alarms": lambda: read_alarms(alarm_cloudwatch, [r.alarm_name for r in topology.regions]),
    }
    if lever is not None:
        lever_cloudwatch = clients.client("cloudwatch", lever.region)
        tasks["lever"] = lambda: read_lever_state(lever_cloudwatch, lever, datetime.now(UTC))
    if topology.name_servers:
        tasks["dns"] = lambda: read_dns(topology, signer, deadline=max(0.5, deadline - 0.2))

    def reads_of(region: RegionTopology) -> dict[str, Callable[[], Any]]:
        role = region.role
        reads: dict[str, Callable[[], Any]] = {
            "checkers": lambda: read_checker_counts(route53, region.health_check_id),
            "switch": lambda: read_failure_switch(ssm[role], region.failure_switch),
        }
        if impaired := region.impaired_alarm_name:
            reads["impaired"] = lambda: read_alarms(regional_cloudwatch[role], [impaired])[impaired]
        if region.watch is not None:
            # Read in the watching Region: what pages about this Region when it is dark.
            watch_alarm = region.watch.alarm_name
            reads["watch"] = lambda: read_alarms(watching_cloudwatch[role], [watch_alarm])[
                watch_alarm
            ]
        if health_url := region.health_url:
            reads["probe"] = lambda: probe_health_url(
                health_url,
                region.region,
                signer,
                min(HEALTH_PROBE_TIMEOUT, deadline),
                zone_servers(topology, HEALTH_PROBE_TIMEOUT) if topology.name_servers else (),
            )
        return reads

    for region in topology.regions:
        tasks.update({f"{read}:{region.role}": task for read, task in reads_of(region).items()})
    outcomes = gather(tasks, deadline)

    records = outcomes["records"]
    aws_reads = [key for key in outcomes if key != "dns" and not key.startswith("probe:")]
    # Partial data is for an outage. Records that are wrong, an error AWS answered with (access
    # denied, no such zone) or no credentials are the operator's to fix, and so is an AWS that
    # answers nothing at all (a wrong endpoint, no network): one line, exit 1.
    if records.error is not None and (
        not isinstance(records.error, AwsUnreachable)
        or all(outcomes[key].error for key in aws_reads)
    ):
        raise records.error
    state: RecordState | None = records.value
    weights = state.weights if state else None

    def value(key: str) -> Any:
        return outcomes[key].value if key in outcomes else None

    regions = tuple(
        _region_status(
            region,
            weights,
            value("health"),
            value(f"checkers:{region.role}"),
            value("alarms"),
            value(f"switch:{region.role}"),
            value(f"impaired:{region.role}"),
            value(f"probe:{region.role}"),
            value(f"watch:{region.role}"),
        )
        for region in topology.regions
    )
    failed = {key: outcome.error for key, outcome in outcomes.items() if outcome.error}
    return StatusReport(
        record_name=topology.record_name,
        weights=weights,
        regions=(regions[0], regions[1]),
        errors=tuple(error.message for error in failed.values()),
        alias_mismatches=alias_mismatches(state, topology) if state else (),
        unreadable=tuple(failed),
        lever=value("lever"),
        dns=value("dns"),
        records_error=records.error,
        alarm_region=topology.alarm_region,
        lever_check_healthy=(value("health") or {}).get(lever_check_id),
        read_at=datetime.now(UTC),
    )
