"""The sandbox resolver answers the shared hostname from the weighted records in the emulator."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import boto3
import pytest

from opsctl.read.dns_answers import read_dns, zone_answer, zone_servers
from opsctl.sandbox.route53.answers import (
    DataPlaneResolver,
    WeightedAnswer,
    choose_weighted,
    considered,
    dns_lookup,
)
from opsctl.sandbox.route53.name_server import DnsAnswer, DnsServer
from stack_topology import parse_document
from tests.support.fronts import HttpsFronts
from tests.support.stack import REGIONS, alias_target, topology_document

RECORD = "auth.example.com."
RECORD_NAME = "auth.example.com"


def weighted(region: str, weight: int, target: str) -> dict[str, Any]:
    return {
        "Action": "UPSERT",
        "ResourceRecordSet": {
            "Name": RECORD,
            "Type": "A",
            "SetIdentifier": region,
            "Weight": weight,
            "AliasTarget": {
                "HostedZoneId": "Z1UJRXOUMOOFQ8",
                "DNSName": f"{target}.execute-api.{region}.amazonaws.com",
                "EvaluateTargetHealth": False,
            },
        },
    }


@pytest.fixture
def zone(aws_endpoint: str) -> tuple[Any, str]:
    route53 = boto3.client("route53", region_name="us-east-1")
    zone_id = route53.create_hosted_zone(Name="example.com", CallerReference="resolver")[
        "HostedZone"
    ]["Id"]
    return route53, zone_id


def set_weights(
    route53: Any, zone_id: str, east: int, west: int, west_target: str = "d-west"
) -> None:
    route53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={
            "Changes": [
                weighted("us-east-1", east, "d-east"),
                weighted("us-west-2", west, west_target),
            ]
        },
    )


# Route 53's data plane: the rules for weighted records with health checks.

PRIMARY = WeightedAnswer("us-east-1", 100, "d-east", "hc-primary")
SECONDARY = WeightedAnswer("us-west-2", 0, "d-west")  # no health check: always healthy


def regions(answers: list[WeightedAnswer]) -> list[str]:
    return [answer.set_identifier for answer in answers]


def test_healthy_non_zero_weights_are_answered() -> None:
    assert regions(considered([PRIMARY, SECONDARY], lambda _: True)) == ["us-east-1"]


def test_zero_weight_records_are_considered_when_every_weighted_one_is_unhealthy() -> None:
    # The lever engaged: the primary's health check fails, weights untouched (100/0).
    assert regions(considered([PRIMARY, SECONDARY], lambda _: False)) == ["us-west-2"]


def test_a_record_without_a_health_check_is_always_healthy() -> None:
    split = [WeightedAnswer("a", 50, "d-a"), WeightedAnswer("b", 50, "d-b", "hc-b")]
    assert regions(considered(split, lambda _: False)) == ["a"]


def test_when_none_is_healthy_all_are_treated_as_healthy() -> None:
    both = [PRIMARY, WeightedAnswer("us-west-2", 0, "d-west", "hc-secondary")]
    assert regions(considered(both, lambda _: False)) == ["us-east-1", "us-west-2"]
    # ... and then the weights decide again: the weight-0 record is not chosen.
    rng = random.Random(7)
    chosen = {
        choose_weighted(considered(both, lambda _: False), rng).set_identifier for _ in range(50)
    }
    assert chosen == {"us-east-1"}


def test_healthy_zero_weight_records_split_equally() -> None:
    zeros = [WeightedAnswer("a", 0, "d-a"), WeightedAnswer("b", 0, "d-b")]
    only_zero = [WeightedAnswer("w", 10, "d-w", "hc-w"), *zeros]
    rng = random.Random(7)
    picked = Counter(
        choose_weighted(considered(only_zero, lambda _: False), rng).set_identifier
        for _ in range(200)
    )
    assert set(picked) == {"a", "b"} and min(picked.values()) > 60


class FakeDataPlane:
    def __init__(self, records: list[dict[str, Any]], unhealthy: set[str]) -> None:
        self._records = records
        self.unhealthy = unhealthy

    def records(self, hosted_zone_id: str, name: str, record_type: str) -> list[dict[str, Any]]:
        return self._records

    def healthy(self, health_check_id: str) -> bool:
        return health_check_id not in self.unhealthy


def test_the_data_plane_resolver_and_dns_lookup_answer_by_health(
    zone: tuple[Any, str], emulator: Any
) -> None:
    # The stack's shape: the lever's health check on the primary's record, none on the secondary.
    route53, zone_id = zone
    primary = weighted("us-east-1", 100, "d-east")
    primary["ResourceRecordSet"]["HealthCheckId"] = "hc-lever"
    route53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={"Changes": [primary, weighted("us-west-2", 0, "d-west")]},
    )
    records = emulator.data_plane.records(zone_id.rsplit("/", 1)[-1], "auth.example.com", "A")
    data_plane = FakeDataPlane(records, unhealthy=set())
    fronts = {
        "d-east.execute-api.us-east-1.amazonaws.com": "127.0.0.2:8443",
        "d-west.execute-api.us-west-2.amazonaws.com": "127.0.0.6:8443",
    }
    doors = {
        "127.0.0.2:8443": ["127.0.0.3:8443", "127.0.0.4:8443"],
        "127.0.0.6:8443": ["127.0.0.7:8443", "127.0.0.8:8443"],
    }
    resolver = DataPlaneResolver(data_plane, "Z", "A")
    lookup = dns_lookup(resolver, "auth.example.com", fronts, doors, 3)
    # The shared name rotates through its Region's front doors ...
    assert [lookup("auth.example.com") for _ in range(3)] == [
        DnsAnswer("127.0.0.3", 3),
        DnsAnswer("127.0.0.4", 3),
        DnsAnswer("127.0.0.3", 3),
    ]
    data_plane.unhealthy.add("hc-lever")  # the lever engaged: weights untouched
    assert lookup("auth.example.com") == DnsAnswer("127.0.0.7", 3)
    # ... and a lookup of the alias target never returns one of them (API Gateway's addresses
    # are dynamic and shared: only the answered address can tell its Region).
    assert lookup("d-east.execute-api.us-east-1.amazonaws.com") == DnsAnswer("127.0.0.2", 3)
    assert lookup("elsewhere.example.com") is None


def test_in_the_sandbox_only_asking_the_answered_address_tells_its_region(
    https_fronts: HttpsFronts,
) -> None:
    """The sandbox's DNS as opsctl meets it: matching the shared name's answers against a lookup
    of each aliasTarget (the old way) names no Region; asking each answered address does."""
    records = [
        {
            "Name": RECORD_NAME,
            "Type": "A",
            "SetIdentifier": region,
            "Weight": 100 if role == "primary" else 0,
            "AliasTarget": {"DNSName": alias_target(region) + ".", "HostedZoneId": "Z"},
        }
        for role, region in REGIONS.items()
    ]
    port = https_fronts.port
    host_map = {
        alias_target(region): f"{https_fronts.own[role]}:{port}" for role, region in REGIONS.items()
    }
    doors = {
        f"{https_fronts.own[role]}:{port}": [f"{door}:{port}" for door in https_fronts.doors[role]]
        for role in REGIONS
    }
    resolver = DataPlaneResolver(FakeDataPlane(records, unhealthy=set()), "Z", "A")
    lookup = dns_lookup(resolver, RECORD_NAME, host_map, doors, ttl=1)
    with DnsServer(lookup, "example.com.") as server:
        document = topology_document(nameServers=[server.address], httpsPort=port)
        topology = parse_document(document)
        answers = read_dns(topology)
        servers = zone_servers(topology, 1.0)
        targets = {
            role: set(zone_answer(alias_target(region), servers, "A", 1.0))
            for role, region in REGIONS.items()
        }
    assert all(targets.values())  # each aliasTarget resolves ...
    # ... to addresses the shared name is never answered with: the old way names no Region.
    assert not any(target & set(answers.addresses) for target in targets.values())
    assert answers.counts == {"primary": 8}
    assert len(answers.addresses) > 1  # rotating front doors, each asked
