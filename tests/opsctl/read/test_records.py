"""The weighted records as read: one pair of weights across every record name and type, weights
within Route 53's range, and each record pointing at the Region the topology assigns it."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import pytest

from opsctl.errors import RecordsError
from opsctl.model import Weights
from opsctl.read.records import RecordState, alias_mismatches, read_records
from opsctl.topology import parse_topology
from stack_topology import Topology
from tests.opsctl.world import World
from tests.support.stack import alias_target, weighted_record


@pytest.fixture
def state(world: World) -> RecordState:
    return read_records(world.client("route53"), world.topology)


def test_records_that_disagree_between_a_and_aaaa(world: World) -> None:
    changes = []
    for region, weight in (("us-east-1", 0), ("us-west-2", 100)):
        record = weighted_record(region, weight)
        record["Type"] = "AAAA"
        changes.append({"Action": "CREATE", "ResourceRecordSet": record})
    world.client("route53").change_resource_record_sets(
        HostedZoneId=world.topology.hosted_zone_id, ChangeBatch={"Changes": changes}
    )
    document = dict(world.topology_document)
    document["records"] = [*document["records"], {"name": "auth.example.com.", "type": "AAAA"}]
    topology: Topology = parse_topology(document)
    with pytest.raises(RecordsError, match="disagree on weights"):
        read_records(world.client("route53"), topology)


def test_weights_outside_0_255_and_both_zero_are_refused(
    stubbed_route53: Any, world: World
) -> None:
    client, stubber = stubbed_route53
    records = [
        {
            "Name": "auth.example.com.",
            "Type": "A",
            "SetIdentifier": region,
            "Weight": weight,
            "AliasTarget": {"HostedZoneId": "Z1", "DNSName": "d.", "EvaluateTargetHealth": False},
        }
        for region, weight in (("us-east-1", 300), ("us-west-2", 0))
    ]
    # Real Route 53 cannot hold weight 300; moto accepts it. The check guards against both.
    stubber.add_response(
        "list_resource_record_sets",
        {"ResourceRecordSets": records, "IsTruncated": False, "MaxItems": "100"},
    )
    with pytest.raises(RecordsError, match="weight 300, outside 0-255"):
        read_records(client, world.topology)
    with pytest.raises(RecordsError, match="both weighted records have weight 0"):
        Weights(0, 0).require_shiftable()


# Who serves is judged from what the records point to ------------------------------------------


def _without_alias_targets(document: dict[str, Any]) -> dict[str, Any]:
    stripped = copy.deepcopy(document)
    for region in stripped["regions"].values():
        region.pop("aliasTarget", None)
    return stripped


def test_records_pointing_at_their_own_regions_are_consistent(world: World) -> None:
    state = read_records(world.client("route53"), world.topology)
    assert alias_mismatches(state, world.topology) == ()
    # A topology without aliasTarget: the Region's name in the alias name decides.
    older = parse_topology(_without_alias_targets(world.topology_document))
    assert alias_mismatches(state, older) == ()


@pytest.mark.parametrize("with_alias_targets", [True, False])
def test_a_record_aliased_to_the_other_regions_domain_is_a_mismatch(
    world: World, with_alias_targets: bool
) -> None:
    world.point_record_at("primary", "us-west-2")
    document = world.topology_document
    topology = parse_topology(document if with_alias_targets else _without_alias_targets(document))
    state = read_records(world.client("route53"), topology)
    expected = alias_target("us-east-1") if with_alias_targets else "a name in us-east-1"
    assert alias_mismatches(state, topology) == (
        f"the primary A record (us-east-1) points at {alias_target('us-west-2')}, the "
        f"secondary's (us-west-2), not {expected}",
    )


def test_a_topology_with_swapped_set_identifiers_is_two_mismatches(world: World) -> None:
    document = copy.deepcopy(world.topology_document)
    regions = document["regions"]
    regions["primary"]["setIdentifier"], regions["secondary"]["setIdentifier"] = (
        regions["secondary"]["setIdentifier"],
        regions["primary"]["setIdentifier"],
    )
    topology = parse_topology(document)
    state = read_records(world.client("route53"), topology)
    assert state.weights == Weights(0, 100)  # by set identifier, the "secondary" serves...
    mismatches = alias_mismatches(state, topology)  # ...but its record points at us-east-1
    assert sorted(line.split(" points at ")[0] for line in mismatches) == [
        "the primary A record (us-west-2)",
        "the secondary A record (us-east-1)",
    ]


def test_a_record_that_is_not_an_alias_cannot_be_checked(state: RecordState, world: World) -> None:
    plain = dict(state.records[0].raw)
    del plain["AliasTarget"]
    plain["ResourceRecords"], plain["TTL"] = [{"Value": "192.0.2.1"}], 60
    records = (replace(state.records[0], raw=plain), *state.records[1:])
    (line,) = alias_mismatches(replace(state, records=records), world.topology)
    assert line.endswith("is not an alias record, so where it points cannot be checked")
