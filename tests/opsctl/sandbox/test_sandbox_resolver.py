"""The sandbox resolver answers the shared hostname from the weighted records in the emulator."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import boto3
import pytest

from opsctl.sandbox.resolver import ResolutionError, SandboxResolver

RECORD = "auth.example.com."
HOST_MAP = {
    "d-east.execute-api.us-east-1.amazonaws.com": "127.0.0.1:4001",
    "d-west.execute-api.us-west-2.amazonaws.com": "127.0.0.1:4002",
}


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


def answers(resolver: SandboxResolver, n: int = 60) -> Counter[str]:
    return Counter(resolver.resolve("auth.example.com").base_url for _ in range(n))


def test_weight_100_0_always_answers_the_primary(zone: tuple[Any, str]) -> None:
    route53, zone_id = zone
    set_weights(route53, zone_id, 100, 0)
    resolver = SandboxResolver(route53, zone_id, "A", HOST_MAP, random.Random(7))
    assert answers(resolver) == Counter({"http://127.0.0.1:4001": 60})
    assert resolver.resolve("auth.example.com").host_header == "auth.example.com"


def test_weights_are_reread_on_every_lookup_and_split_proportionally(zone: tuple[Any, str]) -> None:
    route53, zone_id = zone
    set_weights(route53, zone_id, 100, 0)
    resolver = SandboxResolver(route53, zone_id, "A", HOST_MAP, random.Random(7))
    set_weights(route53, zone_id, 50, 50)
    split = answers(resolver, 200)
    assert 60 < split["http://127.0.0.1:4001"] < 140
    set_weights(route53, zone_id, 0, 100)
    assert answers(resolver) == Counter({"http://127.0.0.1:4002": 60})


def test_all_zero_weights_split_equally(zone: tuple[Any, str]) -> None:
    route53, zone_id = zone
    set_weights(route53, zone_id, 0, 0)
    split = answers(SandboxResolver(route53, zone_id, "A", HOST_MAP, random.Random(7)), 100)
    assert set(split) == {"http://127.0.0.1:4001", "http://127.0.0.1:4002"}


def test_unknown_target_or_name_is_a_resolution_error(zone: tuple[Any, str]) -> None:
    route53, zone_id = zone
    set_weights(route53, zone_id, 0, 100, west_target="d-elsewhere")
    resolver = SandboxResolver(route53, zone_id, "A", HOST_MAP)
    with pytest.raises(ResolutionError, match="not a sandbox front"):
        resolver.resolve("auth.example.com")
    with pytest.raises(ResolutionError, match="no weighted records"):
        resolver.resolve("other.example.com")
