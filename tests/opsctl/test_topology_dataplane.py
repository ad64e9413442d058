"""The topology's data-plane additions: the lever (`outOfService`), the zone's `nameServers` and
each Region's `aliasTarget` are parsed, optional, validated, and written back unchanged."""

from __future__ import annotations

import json
from typing import Any

import pytest

from opsctl.errors import TopologyError
from opsctl.topology import parse_topology
from stack_topology import NameServer, OutOfService, to_document
from tests.opsctl.world import World
from tests.support.stack import APP, LEVER_ALARM, alias_target


def _document(world: World) -> dict[str, Any]:
    return json.loads(json.dumps(world.topology_document))


def test_the_lever_and_alias_targets_are_typed_fields(world: World) -> None:
    topology = world.topology
    assert topology.out_of_service == OutOfService(
        region="us-west-2",
        namespace="MultiRegionAuthorizer/Lever",
        metric_name="PrimaryOutOfService",
        dimensions={"App": APP},
        alarm_name=LEVER_ALARM,
        health_check_id=world.topology_document["outOfService"]["healthCheckId"],
    )
    assert topology.primary.alias_target == alias_target("us-east-1")
    assert topology.secondary.alias_target == alias_target("us-west-2")


def test_a_topology_without_the_additions_still_loads(world: World) -> None:
    document = _document(world)
    del document["outOfService"]
    for region in document["regions"].values():
        del region["aliasTarget"]
    topology = parse_topology(document)
    assert topology.out_of_service is None
    assert topology.name_servers == ()
    assert topology.primary.alias_target is None
    assert "outOfService" not in to_document(topology)
    assert "nameServers" not in to_document(topology)


def test_name_servers_take_host_or_host_port(world: World) -> None:
    document = _document(world)
    document["nameServers"] = [
        "ns-1.awsdns-01.org",
        "127.0.0.1:5353",
        "[::1]:5300",
        "2600:9000:5300::1",
    ]
    assert parse_topology(document).name_servers == (
        NameServer("ns-1.awsdns-01.org", 53),
        NameServer("127.0.0.1", 5353),
        NameServer("::1", 5300),
        NameServer("2600:9000:5300::1", 53),
    )


def test_alias_targets_lose_a_trailing_dot_and_case(world: World) -> None:
    document = _document(world)
    document["regions"]["primary"]["aliasTarget"] = "D-ABC.execute-api.us-east-1.amazonaws.com."
    topology = parse_topology(document)
    assert topology.primary.alias_target == "d-abc.execute-api.us-east-1.amazonaws.com"


def test_round_trip_with_every_addition(world: World) -> None:
    document = _document(world)
    document["nameServers"] = ["ns-1.awsdns-01.org", "127.0.0.1:5353", "[::1]:5300"]
    topology = parse_topology(document)
    written = to_document(topology)
    assert written["nameServers"] == document["nameServers"]
    assert written["outOfService"] == document["outOfService"]
    assert written["regions"]["secondary"]["aliasTarget"] == alias_target("us-west-2")
    assert parse_topology(written) == topology


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(outOfService="us-west-2"), "outOfService must be an object"),
        (lambda d: d["outOfService"].pop("alarmName"), "outOfService.alarmName is missing"),
        (lambda d: d["outOfService"].pop("metricName"), "outOfService.metricName is missing"),
        (
            lambda d: d["outOfService"].update(dimensions={"App": 7}),
            "outOfService.dimensions must be an object of non-empty strings",
        ),
        (
            lambda d: d["outOfService"].update(region="us-east-1"),
            "outOfService.region is us-east-1, expected the secondary Region us-west-2",
        ),
        (lambda d: d.update(nameServers="ns-1.awsdns-01.org"), "nameServers must be a list"),
        (lambda d: d.update(nameServers=[""]), r"nameServers\[0\] must be a non-empty"),
        (lambda d: d.update(nameServers=["ns:99999"]), r"nameServers\[0\] has an invalid port"),
        (lambda d: d.update(nameServers=["ns:dns"]), r"nameServers\[0\] has an invalid port"),
        (
            lambda d: d["regions"]["primary"].update(aliasTarget=5),
            "regions.primary.aliasTarget must be a string",
        ),
    ],
)
def test_invalid_additions_are_one_clear_error(world: World, mutate, message: str) -> None:
    document = _document(world)
    mutate(document)
    with pytest.raises(TopologyError, match=message):
        parse_topology(document)
