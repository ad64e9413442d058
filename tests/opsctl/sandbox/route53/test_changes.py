"""The faithful Route 53 change layer over moto: Route 53's batch semantics, atomically."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

RECORD = "auth.example.com."


def weighted(set_identifier: str, weight: int, target: str) -> dict[str, Any]:
    return {
        "Name": RECORD,
        "Type": "A",
        "SetIdentifier": set_identifier,
        "Weight": weight,
        "AliasTarget": {
            "HostedZoneId": "Z1UJRXOUMOOFQ8",
            "DNSName": f"d-{target}.execute-api.{set_identifier}.amazonaws.com",
            "EvaluateTargetHealth": False,
        },
    }


def change(action: str, record: dict[str, Any]) -> dict[str, Any]:
    return {"Action": action, "ResourceRecordSet": record}


@pytest.fixture
def route53(aws_endpoint: str) -> Any:
    return boto3.client("route53", region_name="us-east-1")


@pytest.fixture
def zone_id(route53: Any) -> str:
    zone = route53.create_hosted_zone(Name="example.com", CallerReference="emulator-test")
    zone_id = zone["HostedZone"]["Id"]
    route53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={
            "Changes": [
                change("CREATE", weighted("us-east-1", 100, "primary")),
                change("CREATE", weighted("us-west-2", 0, "secondary")),
            ]
        },
    )
    return zone_id


def weights(route53: Any, zone_id: str) -> dict[str, int]:
    records = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    return {r["SetIdentifier"]: r["Weight"] for r in records if r["Type"] == "A"}


def swap(route53: Any, zone_id: str, old: tuple[int, int], new: tuple[int, int]) -> dict[str, Any]:
    """A failover-style compare-and-swap: DELETE both current records, CREATE both new ones."""
    return route53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={
            "Comment": "swap",
            "Changes": [
                change("DELETE", weighted("us-east-1", old[0], "primary")),
                change("DELETE", weighted("us-west-2", old[1], "secondary")),
                change("CREATE", weighted("us-east-1", new[0], "primary")),
                change("CREATE", weighted("us-west-2", new[1], "secondary")),
            ],
        },
    )


def test_failover_then_fallback_back_to_an_earlier_state_is_accepted(route53, zone_id) -> None:
    # moto alone refuses the second swap: its CREATE repeats one from the zone's journal.
    swap(route53, zone_id, (100, 0), (0, 100))
    assert weights(route53, zone_id) == {"us-east-1": 0, "us-west-2": 100}

    swap(route53, zone_id, (0, 100), (100, 0))
    assert weights(route53, zone_id) == {"us-east-1": 100, "us-west-2": 0}


def test_delete_with_stale_weight_rejects_the_whole_batch(route53, zone_id) -> None:
    swap(route53, zone_id, (100, 0), (0, 100))

    with pytest.raises(ClientError) as raised:
        swap(route53, zone_id, (100, 0), (50, 50))

    error = raised.value.response["Error"]
    assert error["Code"] == "InvalidChangeBatch"
    assert "do not match the current values" in error["Message"]
    assert "set-identifier='us-east-1'" in error["Message"]
    assert weights(route53, zone_id) == {"us-east-1": 0, "us-west-2": 100}


def test_delete_by_set_identifier_removes_only_the_matching_record(route53, zone_id) -> None:
    route53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={
            "Changes": [
                change("CREATE", {**weighted("us-east-1", 7, "other"), "Name": "api.example.com."})
            ]
        },
    )

    route53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={"Changes": [change("DELETE", weighted("us-east-1", 100, "primary"))]},
    )

    records = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    remaining = {(r["Name"], r["SetIdentifier"]) for r in records if r["Type"] == "A"}
    assert remaining == {(RECORD, "us-west-2"), ("api.example.com.", "us-east-1")}


def test_create_of_an_existing_record_fails_and_applies_nothing(route53, zone_id) -> None:
    with pytest.raises(ClientError) as raised:
        route53.change_resource_record_sets(
            HostedZoneId=zone_id,
            ChangeBatch={
                "Changes": [
                    change("DELETE", weighted("us-west-2", 0, "secondary")),
                    change("CREATE", weighted("us-east-1", 100, "primary")),
                ]
            },
        )

    assert raised.value.response["Error"]["Code"] == "InvalidChangeBatch"
    assert "already exists" in raised.value.response["Error"]["Message"]
    assert weights(route53, zone_id) == {"us-east-1": 100, "us-west-2": 0}


def test_delete_of_a_missing_record_is_reported_as_not_found(route53, zone_id) -> None:
    with pytest.raises(ClientError) as raised:
        route53.change_resource_record_sets(
            HostedZoneId=zone_id,
            ChangeBatch={"Changes": [change("DELETE", weighted("eu-west-1", 0, "third"))]},
        )

    assert "but it was not found" in raised.value.response["Error"]["Message"]


def test_weight_over_255_is_invalid_input(route53, zone_id) -> None:
    with pytest.raises(ClientError) as raised:
        route53.change_resource_record_sets(
            HostedZoneId=zone_id,
            ChangeBatch={"Changes": [change("UPSERT", weighted("us-east-1", 256, "primary"))]},
        )

    assert raised.value.response["Error"]["Code"] == "InvalidInput"
    assert weights(route53, zone_id) == {"us-east-1": 100, "us-west-2": 0}


def test_upsert_replaces_in_place(route53, zone_id) -> None:
    route53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={"Changes": [change("UPSERT", weighted("us-west-2", 10, "secondary"))]},
    )

    assert weights(route53, zone_id) == {"us-east-1": 100, "us-west-2": 10}


def test_each_change_gets_its_own_id_and_reports_its_comment(route53, zone_id) -> None:
    first = swap(route53, zone_id, (100, 0), (0, 100))["ChangeInfo"]
    second = swap(route53, zone_id, (0, 100), (100, 0))["ChangeInfo"]

    assert first["Id"] != second["Id"]
    assert first["Comment"] == "swap"
    assert route53.get_change(Id=first["Id"])["ChangeInfo"]["Status"] == "INSYNC"


def test_change_stays_pending_for_the_propagation_delay(route53, zone_id, emulator) -> None:
    emulator.route53.propagation_seconds = 3600
    try:
        info = swap(route53, zone_id, (100, 0), (0, 100))["ChangeInfo"]
    finally:
        emulator.route53.propagation_seconds = 0

    assert info["Status"] == "PENDING"
    assert route53.get_change(Id=info["Id"])["ChangeInfo"]["Status"] == "PENDING"


def test_unknown_change_id_is_no_such_change(route53, zone_id) -> None:
    with pytest.raises(ClientError) as raised:
        route53.get_change(Id="/change/CDOESNOTEXIST")

    assert raised.value.response["Error"]["Code"] == "NoSuchChange"
