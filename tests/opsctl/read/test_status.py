"""`opsctl status`: the table, the JSON contract, the sanity headline, and failed reads."""

from __future__ import annotations

import json
import re
import time

import boto3
import pytest
from typer.testing import CliRunner

from opsctl.cli import read_commands
from tests.opsctl.running import invoke
from tests.opsctl.world import World
from tests.support.stack import RECORD_NAME, alias_target, weighted_record

STATUS_KEYS = {
    "recordName",
    "serving",
    "consistent",
    "headline",
    "advice",
    "regions",
    "aliasMismatches",
    "lever",
    "dns",
    "unreadable",
    "errors",
}
REGION_KEYS = {
    "role",
    "region",
    "setIdentifier",
    "weight",
    "share",
    "healthy",
    "checkersHealthy",
    "checkersTotal",
    "alarm",
    "alarmSince",
    "failureSwitch",
    "impairedAlarm",
    "impairedAlarmSince",
    "probe",
    "watch",
}


def status_json(runner: CliRunner, world: World) -> dict:
    result = invoke(runner, world, "status", "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_json_shape_when_all_is_well(runner: CliRunner, world: World) -> None:
    status = status_json(runner, world)
    assert set(status) == STATUS_KEYS
    assert status["recordName"] == RECORD_NAME
    assert status["serving"] == "primary"
    assert status["consistent"] is True
    assert status["advice"] is None
    assert status["errors"] == []
    primary, secondary = status["regions"]
    assert set(primary) == REGION_KEYS
    assert (primary["role"], primary["region"], primary["weight"], primary["share"]) == (
        "primary",
        "us-east-1",
        100,
        1.0,
    )
    assert (secondary["role"], secondary["weight"], secondary["share"]) == ("secondary", 0, 0.0)
    for region in (primary, secondary):
        assert region["healthy"] is True
        # moto's GetHealthCheckStatus always reports one healthy checker.
        assert (region["checkersHealthy"], region["checkersTotal"]) == (1, 1)
        assert region["alarm"] == "OK"
        assert region["alarmSince"].endswith("Z")
        assert region["failureSwitch"] == "healthy"
        assert region["impairedAlarm"] == "OK"


def test_alarm_since_is_the_last_change_of_state_not_of_its_reason(
    runner: CliRunner, world: World
) -> None:
    world.set_alarm("primary", "ALARM")
    since = status_json(runner, world)["regions"][0]["alarmSince"]
    time.sleep(1.1)  # the timestamps have a resolution of one second
    world.set_alarm("primary", "ALARM")  # a new evaluation, the same state
    assert status_json(runner, world)["regions"][0]["alarmSince"] == since


def test_table_shows_each_region_and_a_sane_headline(runner: CliRunner, world: World) -> None:
    result = invoke(runner, world, "status")
    assert result.exit_code == 0, result.stderr
    assert "primary (us-east-1) serves all traffic; healthy" in result.stdout
    for text in ("us-east-1", "us-west-2", "100%", "healthy (1/1)"):
        assert text in result.stdout
    assert re.search(r"\bOK \d+[smhd]\b", result.stdout)  # the alarm's state, and for how long
    assert "\x1b[" not in result.stdout  # not a terminal: no colour codes


def test_all_traffic_on_an_unhealthy_primary_is_a_red_line_with_the_command(
    runner: CliRunner, world: World
) -> None:
    world.set_health("primary", False)
    world.set_alarm("primary", "ALARM")
    world.set_switch("primary", "failing")
    status = status_json(runner, world)
    assert status["consistent"] is False
    assert status["headline"] == (
        "primary (us-east-1) serves all traffic, but primary (us-east-1) is unhealthy"
    )
    assert status["advice"] == 'opsctl failover --approve --reason "..."'
    primary = status["regions"][0]
    assert (primary["healthy"], primary["alarm"], primary["failureSwitch"]) == (
        False,
        "ALARM",
        "failing",
    )
    table = invoke(runner, world, "status")
    assert "UNHEALTHY" in table.stdout
    assert '-> opsctl failover --approve --reason "..."' in table.stdout


def test_secondary_serving_and_unhealthy_advises_fallback(runner: CliRunner, world: World) -> None:
    world.set_weights(0, 100)
    world.set_impaired("secondary", "ALARM")
    status = status_json(runner, world)
    assert status["serving"] == "secondary"
    assert status["advice"] == 'opsctl fallback --approve --reason "..."'


def test_both_regions_degraded_advises_not_to_shift(runner: CliRunner, world: World) -> None:
    world.set_health("primary", False)
    world.set_health("secondary", False)
    assert status_json(runner, world)["advice"].startswith("both Regions look degraded")


def test_split_and_all_zero_weights(runner: CliRunner, world: World) -> None:
    world.set_weights(10, 90)
    split = status_json(runner, world)
    assert (split["serving"], split["consistent"]) == ("split", True)
    assert split["headline"] == "traffic is split: primary 10% / secondary 90%; healthy"
    world.set_weights(0, 0)
    none = status_json(runner, world)
    assert (none["serving"], none["consistent"]) == ("none", False)
    assert [r["share"] for r in none["regions"]] == [0.5, 0.5]


def test_missing_health_data_and_missing_switch_are_unknown(
    runner: CliRunner, world: World
) -> None:
    document = json.loads(world.topology_path.read_text())
    document["regions"]["secondary"]["healthCheckId"] = "00000000-no-such-check"
    document["regions"]["secondary"]["failureSwitch"] = "/nowhere/failure-switch"
    world.topology_path.write_text(json.dumps(document))
    status = status_json(runner, world)
    secondary = status["regions"][1]
    assert secondary["healthy"] is None
    assert secondary["failureSwitch"] is None
    # GetHealthCheckStatus on an unknown id fails: reported, not fatal.
    assert secondary["checkersTotal"] is None
    assert any("00000000-no-such-check" in line for line in status["errors"])
    world.set_weights(0, 100)
    serving_unknown = status_json(runner, world)
    # Traffic on a Region whose health cannot be read is not called healthy.
    assert serving_unknown["headline"] == (
        "secondary (us-west-2) serves all traffic; health of secondary (us-west-2) unknown "
        "(no HealthCheckStatus data) [partial data: unreadable in us-east-1: secondary's health "
        "checkers; judged from weights, lever]"
    )


def _add_record(world: World, record: dict) -> None:
    boto3.client("route53", endpoint_url=world.endpoint_url).change_resource_record_sets(
        HostedZoneId=world.topology.hosted_zone_id,
        ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": record}]},
    )


def test_unknown_set_identifier_is_refused(runner: CliRunner, world: World) -> None:
    stray = weighted_record("us-west-2", 5)
    stray["SetIdentifier"] = "eu-west-1"
    _add_record(world, stray)
    result = invoke(runner, world, "status")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"opsctl: error: {RECORD_NAME} A has an unexpected set identifier 'eu-west-1' "
        "(expected us-east-1, us-west-2)"
    )


def test_missing_records_are_refused(runner: CliRunner, world: World) -> None:
    document = json.loads(world.topology_path.read_text())
    document["records"] = [{"name": "login.example.com.", "type": "A"}]
    world.topology_path.write_text(json.dumps(document))
    result = invoke(runner, world, "status")
    assert result.exit_code == 1
    assert "no login.example.com. A records in hosted zone" in result.stderr


def test_watch_json_prints_one_line_per_refresh_until_interrupted(
    runner: CliRunner, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    sleeps: list[float] = []

    def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 1:
            world.set_health("primary", False)  # the second refresh must see the change
        else:
            raise KeyboardInterrupt

    monkeypatch.setattr(read_commands, "sleep", fake_sleep)
    result = invoke(runner, world, "status", "--json", "--watch", "5")
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["consistent"] for line in lines] == [True, False]
    assert sleeps == [5.0, 5.0]


def test_watch_table_refreshes_in_place(
    runner: CliRunner, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(read_commands, "sleep", interrupt)
    result = invoke(runner, world, "status", "--watch", "2")
    assert result.exit_code == 0, result.stderr
    assert "serves all traffic" in result.stdout


def test_a_record_pointing_at_the_other_region_is_a_loud_inconsistency(
    runner: CliRunner, world: World
) -> None:
    # By set identifier the primary serves; its record sends that traffic to us-west-2's domain.
    world.point_record_at("primary", "us-west-2")
    status = status_json(runner, world)
    mismatch = (
        f"the primary A record (us-east-1) points at {alias_target('us-west-2')}, the "
        f"secondary's (us-west-2), not {alias_target('us-east-1')}"
    )
    assert status["consistent"] is False
    assert status["aliasMismatches"] == [mismatch]
    assert status["headline"] == (
        "INCONSISTENT: the records do not point where the topology says, so the weights do not "
        f"tell who serves: {mismatch}"
    )
    assert "before shifting" in status["advice"]
    table = invoke(runner, world, "status")
    assert table.exit_code == 0
    assert " ".join(table.stdout.split()).startswith(status["headline"])  # wrapped to the width


def test_a_read_that_fails_unforeseen_is_an_unreadable_source_with_its_reason(
    runner: CliRunner, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever a source returns that opsctl did not foresee costs that source, not the command."""

    def odd_answer(*_: object) -> str:
        raise ValueError("Invalid IPv6 URL")

    monkeypatch.setattr("opsctl.read.status.read_failure_switch", odd_answer)
    result = invoke(runner, world, "status", "--json")
    assert result.exit_code == 0, result.stderr
    status = json.loads(result.stdout)
    assert {"switch:primary", "switch:secondary"} <= set(status["unreadable"])
    assert (
        "reading switch:primary failed: unexpected ValueError: Invalid IPv6 URL" in status["errors"]
    )
    assert status["serving"] == "primary"
