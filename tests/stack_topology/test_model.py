"""The topology model: roles, the names derived from the app, lookups by role, the JSON form."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from enum import StrEnum

import pytest

from stack_topology import (
    AppNames,
    NameServer,
    RecordRef,
    RegionTopology,
    Role,
    Topology,
    TopologyDocumentError,
    Watch,
    json_field,
    parse_document,
    to_document,
    to_json_value,
)

APP = "multi-region-authorizer-primary"


def _region(role: Role, region: str) -> RegionTopology:
    return RegionTopology(
        role=role,
        region=region,
        set_identifier=region,
        health_check_id=f"hc-{role}",
        alarm_name=f"{APP}-{role}-health",
        api_url=f"https://api.{region}.example.com/prod",
        health_url=f"https://api.{region}.example.com/prod/health",
        failure_switch=f"/{APP}/health/failure-switch",
    )


TOPOLOGY = Topology(
    app=APP,
    hosted_zone_id="Z0123456789ABC",
    records=(RecordRef(name="auth.example.com.", type="A"),),
    alarm_region="us-east-1",
    regions=(_region(Role.PRIMARY, "us-east-1"), _region(Role.SECONDARY, "us-west-2")),
    name_servers=(NameServer("ns-1.awsdns-01.org"), NameServer("127.0.0.1", 5353)),
)


def test_each_role_knows_the_other_and_picks_its_own_of_a_pair() -> None:
    assert Role.PRIMARY.other is Role.SECONDARY
    assert Role.SECONDARY.other is Role.PRIMARY
    assert Role.PRIMARY.pick("a", "b") == "a"
    assert Role.SECONDARY.pick("a", "b") == "b"
    # The role is its name wherever it is written: JSON, f-strings, comparisons with text.
    assert json.dumps({Role.PRIMARY: Role.SECONDARY}) == '{"primary": "secondary"}'
    assert f"{Role.SECONDARY}" == "secondary" and Role("primary") == "primary"


def test_the_derived_names_are_spelled_as_the_contract_says() -> None:
    names = AppNames(APP)
    assert names.table_name == f"{APP}-state"
    assert names.failure_switch_parameter == f"/{APP}/health/failure-switch"
    assert names.health_alarm_name(Role.SECONDARY) == f"{APP}-secondary-health"
    assert names.impaired_alarm_name(Role.PRIMARY) == f"{APP}-primary-impaired"
    assert names.out_of_service_alarm_name == f"{APP}-primary-out-of-service"
    assert TOPOLOGY.names == names


def test_regions_are_found_by_role_and_by_set_identifier() -> None:
    assert TOPOLOGY.role(Role.SECONDARY).region == "us-west-2"
    assert TOPOLOGY.role("primary") is TOPOLOGY.primary
    assert TOPOLOGY.other("primary") is TOPOLOGY.secondary
    assert TOPOLOGY.role_of_set_identifier("us-west-2") is Role.SECONDARY
    assert TOPOLOGY.role_of_set_identifier("eu-west-1") is None
    with pytest.raises(ValueError, match="tertiary"):
        TOPOLOGY.role("tertiary")


def test_a_topology_holds_the_primary_then_the_secondary() -> None:
    with pytest.raises(ValueError, match="primary's and the secondary's"):
        replace(TOPOLOGY, regions=(TOPOLOGY.secondary, TOPOLOGY.primary))


def test_the_document_is_the_contract_json_and_reads_back_the_same() -> None:
    document = to_document(TOPOLOGY)
    assert list(document) == [
        "version",
        "app",
        "hostedZoneId",
        "records",
        "alarmRegion",
        "regions",
        "nameServers",
    ]
    assert document["regions"]["primary"] == {
        "region": "us-east-1",
        "setIdentifier": "us-east-1",
        "healthCheckId": "hc-primary",
        "alarmName": f"{APP}-primary-health",
        "apiUrl": "https://api.us-east-1.example.com/prod",
        "healthUrl": "https://api.us-east-1.example.com/prod/health",
        "failureSwitch": f"/{APP}/health/failure-switch",
    }
    assert document["nameServers"] == ["ns-1.awsdns-01.org", "127.0.0.1:5353"]
    assert parse_document(json.loads(json.dumps(document))) == TOPOLOGY


class Colour(StrEnum):
    RED = "red"


@dataclass(frozen=True)
class Row:
    role: Role
    p99_latency_ms: float | None
    colour: Colour = Colour.RED
    note: str = field(default="", metadata=json_field(omit_empty=True))
    alarm: str | None = field(default=None, metadata=json_field(key="alarmState"))


def test_dataclasses_become_json_by_their_fields() -> None:
    assert to_json_value([Row(Role.PRIMARY, None), Row(Role.SECONDARY, 1.5, note="slow")]) == [
        {"role": "primary", "p99LatencyMs": None, "colour": "red", "alarmState": None},
        {
            "role": "secondary",
            "p99LatencyMs": 1.5,
            "colour": "red",
            "note": "slow",
            "alarmState": None,
        },
    ]


def test_a_regions_watch_is_optional_read_back_and_must_come_from_the_other_region() -> None:
    watched = replace(
        TOPOLOGY,
        regions=(
            replace(TOPOLOGY.primary, watch=Watch("us-west-2", f"{APP}-primary-unreachable")),
            replace(TOPOLOGY.secondary, watch=Watch("us-east-1", f"{APP}-secondary-unreachable")),
        ),
    )
    document = to_document(watched)
    assert document["regions"]["primary"]["watch"] == {
        "region": "us-west-2",
        "alarmName": f"{APP}-primary-unreachable",
    }
    assert parse_document(document) == watched
    # Written before the watch existed: no key, no watch.
    assert "watch" not in to_document(TOPOLOGY)["regions"]["primary"]
    assert parse_document(to_document(TOPOLOGY)).primary.watch is None
    # A Region watched from inside itself would fall silent in its own outage.
    document["regions"]["primary"]["watch"]["region"] = "us-east-1"
    with pytest.raises(TopologyDocumentError, match=r"regions.primary.watch.region is us-east-1"):
        parse_document(document)
    document["regions"]["primary"]["watch"] = {"region": "us-west-2"}
    with pytest.raises(TopologyDocumentError, match=r"regions.primary.watch.alarmName"):
        parse_document(document)
