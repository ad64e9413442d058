"""The weighted records as Route 53 holds them: the pair of each record name and type, read
and validated, their weights, and whether each points at the Region the topology assigns it.
`opsctl.change.route53` changes them from exactly what this reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opsctl.aws import translate_aws_errors
from opsctl.errors import RecordsError
from opsctl.model import Weights
from opsctl.topology import MAX_WEIGHT
from stack_topology import ROLES, RecordRef, RegionTopology, Role, Topology


@dataclass(frozen=True)
class WeightedRecord:
    ref: RecordRef
    role: Role
    weight: int
    # The record exactly as Route 53 returned it: the DELETE half of the compare-and-swap.
    raw: dict[str, Any] = field(compare=False, repr=False)

    @property
    def alias_target(self) -> str | None:
        """The alias target's DNS name (lower case, no trailing dot); None for a plain record."""
        name = (self.raw.get("AliasTarget") or {}).get("DNSName")
        return str(name).rstrip(".").lower() if name else None


@dataclass(frozen=True)
class RecordState:
    """The weighted records as read, all agreeing on one pair of weights."""

    weights: Weights
    records: tuple[WeightedRecord, ...]


def _same_name(a: str, b: str) -> bool:
    return a.rstrip(".").lower() == b.rstrip(".").lower()


def _list_record(route53: Any, zone_id: str, ref: RecordRef) -> list[dict[str, Any]]:
    """All record sets of one name/type (a weighted set may span pages)."""
    found: list[dict[str, Any]] = []
    params: dict[str, Any] = {
        "HostedZoneId": zone_id,
        "StartRecordName": ref.name,
        "StartRecordType": ref.type,
    }
    while True:
        page = route53.list_resource_record_sets(**params)
        for record in page.get("ResourceRecordSets", []):
            if not (_same_name(record["Name"], ref.name) and record["Type"] == ref.type):
                return found
            found.append(record)
        if not page.get("IsTruncated"):
            return found
        params = {
            "HostedZoneId": zone_id,
            "StartRecordName": page["NextRecordName"],
            "StartRecordType": page["NextRecordType"],
        }
        if page.get("NextRecordIdentifier"):
            params["StartRecordIdentifier"] = page["NextRecordIdentifier"]


def _parse_pair(
    topology: Topology, ref: RecordRef, raw: list[dict[str, Any]]
) -> list[WeightedRecord]:
    label = f"{ref.name} {ref.type}"
    if not raw:
        raise RecordsError(f"no {label} records in hosted zone {topology.hosted_zone_id}")
    expected = {r.set_identifier: r.role for r in topology.regions}
    pair: list[WeightedRecord] = []
    for record in raw:
        set_id = record.get("SetIdentifier")
        if set_id is None or "Weight" not in record:
            raise RecordsError(f"{label} is not a weighted record (no SetIdentifier/Weight)")
        if set_id not in expected:
            raise RecordsError(
                f"{label} has an unexpected set identifier {set_id!r} "
                f"(expected {', '.join(sorted(expected))})"
            )
        weight = int(record["Weight"])
        if not 0 <= weight <= MAX_WEIGHT:
            raise RecordsError(f"{label} {set_id} has weight {weight}, outside 0-{MAX_WEIGHT}")
        pair.append(WeightedRecord(ref=ref, role=expected[set_id], weight=weight, raw=record))
    for role in ROLES:
        if not any(r.role == role for r in pair):
            set_id = topology.role(role).set_identifier
            raise RecordsError(f"{label} has no {role} record (set identifier {set_id})")
    return pair


def read_records(route53: Any, topology: Topology) -> RecordState:
    """Read and validate every weighted record of the topology; raise RecordsError if odd."""
    records: list[WeightedRecord] = []
    with translate_aws_errors("reading the weighted records"):
        for ref in topology.records:
            records.extend(
                _parse_pair(topology, ref, _list_record(route53, topology.hosted_zone_id, ref))
            )
    by_ref: dict[RecordRef, Weights] = {}
    for ref in topology.records:
        of_ref = {r.role: r.weight for r in records if r.ref == ref}
        by_ref[ref] = Weights(primary=of_ref[Role.PRIMARY], secondary=of_ref[Role.SECONDARY])
    distinct = set(by_ref.values())
    if len(distinct) > 1:
        detail = "; ".join(f"{ref.type}: {w}" for ref, w in by_ref.items())
        raise RecordsError(f"the weighted records disagree on weights ({detail})")
    return RecordState(weights=distinct.pop(), records=tuple(records))


def _points_at(region: RegionTopology, alias_target: str) -> bool:
    """The topology's aliasTarget for the Region when it has one, else the Region's name as one
    label of the alias name (`d-1.execute-api.us-east-1.amazonaws.com`)."""
    if region.alias_target:
        return alias_target == region.alias_target
    return region.region in alias_target.split(".")


def alias_mismatches(state: RecordState, topology: Topology) -> tuple[str, ...]:
    """Records that do not point at the Region the topology assigns their set identifier.

    The weights say which set identifier gets traffic; the alias target says where that traffic
    goes. A record aliased to the other Region's domain (or a topology with the set identifiers
    swapped) would make "the primary serves" mean the secondary serves: each such record is one
    line here, and opsctl calls the state inconsistent and refuses to shift it.
    """
    found: list[str] = []
    for record in state.records:
        region = topology.role(record.role)
        label = f"the {record.role} {record.ref.type} record ({region.set_identifier})"
        target = record.alias_target
        if target is None:
            found.append(f"{label} is not an alias record, so where it points cannot be checked")
            continue
        if _points_at(region, target):
            continue
        expected = region.alias_target or f"a name in {region.region}"
        other = topology.other(record.role)
        whose = f", the {other.role}'s ({other.region})" if _points_at(other, target) else ""
        found.append(f"{label} points at {target}{whose}, not {expected}")
    return tuple(found)
