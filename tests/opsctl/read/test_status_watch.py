"""Each Region watched from the other: status's "seen from" row and `regions[].watch`, the
headline, readiness and the failover plan, also with us-east-1 dark."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from opsctl.sandbox.faults.proxy import Fault, FaultProxy
from tests.opsctl.dataplane import DataPlane
from tests.opsctl.running import invoke
from tests.opsctl.world import World
from tests.support.stack import APP, REGIONS

PRIMARY, SECONDARY = REGIONS["primary"], REGIONS["secondary"]


def status_json(runner: CliRunner, world: World) -> dict:
    result = invoke(runner, world, "status", "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_each_region_carries_the_other_regions_view_of_it(runner: CliRunner, world: World) -> None:
    world.add_watches()
    primary, secondary = status_json(runner, world)["regions"]
    assert primary["watch"]["region"] == SECONDARY
    assert secondary["watch"]["region"] == PRIMARY
    for region in (primary, secondary):
        assert set(region["watch"]) == {"region", "alarm", "since"}
        assert region["watch"]["alarm"] == "OK"
        assert region["watch"]["since"].endswith("Z")
    table = invoke(runner, world, "status")
    assert table.exit_code == 0, table.stderr
    (row,) = [line for line in table.stdout.splitlines() if "seen from" in line]
    assert f"{SECONDARY}: OK" in row and f"{PRIMARY}: OK" in row


def test_without_a_watch_in_the_topology_watch_is_null_and_no_row(
    runner: CliRunner, world: World
) -> None:
    primary, secondary = status_json(runner, world)["regions"]
    assert primary["watch"] is None and secondary["watch"] is None
    assert "seen from" not in invoke(runner, world, "status").stdout


def test_the_primary_unreachable_from_the_secondary_is_the_headline_and_advice(
    runner: CliRunner, world: World
) -> None:
    world.add_watches()
    world.set_watch("primary", "ALARM")
    status = status_json(runner, world)
    assert status["consistent"] is False
    assert status["headline"].startswith(
        f"primary ({PRIMARY}) serves all traffic, but primary ({PRIMARY}) has been unreachable "
        f"from {SECONDARY} for "
    )
    assert status["advice"] == 'opsctl failover --approve --reason "..."'
    assert status["regions"][0]["watch"]["alarm"] == "ALARM"
    table = invoke(runner, world, "status").stdout
    (row,) = [line for line in table.splitlines() if "seen from" in line]
    assert f"{SECONDARY}: ALARM" in row


def test_with_us_east_1_dark_the_secondarys_view_says_the_primary_is_unreachable(
    runner: CliRunner,
    world: World,
    dataplane: DataPlane,
    fault_proxy: FaultProxy,
    read_deadline: float,
) -> None:
    world.add_watches()
    world.set_watch("primary", "ALARM")
    fault_proxy.set_fault(PRIMARY, Fault.REFUSE)
    status = status_json(runner, world)
    # Route 53's metrics and alarms are in us-east-1: unreadable. The watch is read in us-west-2.
    assert {"health", "alarms", "watch:secondary"} <= set(status["unreadable"])
    assert "watch:primary" not in status["unreadable"]
    primary, secondary = status["regions"]
    assert primary["watch"]["alarm"] == "ALARM" and primary["watch"]["region"] == SECONDARY
    assert secondary["watch"] == {"region": PRIMARY, "alarm": None, "since": None}
    assert f"has been unreachable from {SECONDARY} for " in status["headline"]

    # The failover plan (by the lever: the control plane is down) shows the secondary's view.
    plan = invoke(runner, world, "failover", "--json")
    assert plan.exit_code == 3, plan.stderr
    checks = {c["name"]: c for c in json.loads(plan.stdout)["plan"]["preflight"]["checks"]}
    view = checks["view-of-other"]
    assert view["result"] == "pass"
    assert view["value"].startswith(f"the primary has been unreachable from {SECONDARY} for ")
    # The secondary as the primary's watcher sees it: that alarm is in the dark Region.
    assert checks["custom-domain"]["result"] == "warn"
    assert checks["custom-domain"]["value"] == "unknown"


def test_readiness_fails_a_target_the_other_region_cannot_reach(
    runner: CliRunner, world: World
) -> None:
    world.add_watches()
    result = invoke(runner, world, "readiness", "--json")
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["custom-domain"] == {
        "name": "custom-domain",
        "result": "pass",
        "value": f"reached from {PRIMARY}",
        "detail": "",
    }
    assert checks["view-of-other"]["value"] == f"the primary is reachable from {SECONDARY}"
    # The standby's custom domain broken (its mapping or certificate): seen from the primary.
    world.set_watch("secondary", "ALARM")
    result = invoke(runner, world, "readiness", "--json")
    assert result.exit_code == 4, result.stderr  # a check fails
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["custom-domain"]["result"] == "fail"
    assert checks["custom-domain"]["value"].startswith(f"unreachable from {PRIMARY} for ")
    assert APP in world.topology.secondary.watch.alarm_name
