"""`opsctl drill` before it changes anything: the steady-state guard and the marker (exit 4, one
line naming what is off, nothing changed), and the plan without --approve (exit 3)."""

from __future__ import annotations

import json
import time

import pytest
from typer.testing import CliRunner

from opsctl.drill.guard import DrillMarker
from opsctl.model import Weights
from tests.opsctl.running import assert_one_line_error, invoke
from tests.opsctl.world import World

TOKEN = ("--token", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJkcmlsbCJ9.sig")


def unchanged(world: World) -> None:
    assert world.weights() == Weights(100, 0)
    assert world.switch("primary") == "healthy"
    assert world.audit_lines() == []


def marker_value(world: World) -> str | None:
    ssm = world.client("ssm", "us-west-2")
    try:
        return str(
            ssm.get_parameter(Name=world.topology.names.drill_marker_parameter)["Parameter"][
                "Value"
            ]
        )
    except ssm.exceptions.ParameterNotFound:
        return None


def test_in_steady_state_the_plan_is_shown_and_nothing_runs_without_approval(
    runner: CliRunner, world: World
) -> None:
    result = invoke(runner, world, "drill", *TOKEN)
    assert result.exit_code == 3, result.stderr
    assert "flip the primary's (us-east-1) failure switch to `failing`" in result.stdout
    assert "fall back in steps 10%, 50%, 100%" in result.stdout
    assert "plan only: nothing changed" in result.stderr
    unchanged(world)
    assert marker_value(world) is None


@pytest.mark.parametrize(
    ("arrange", "named"),
    [
        (lambda w: w.set_weights(50, 50), "weights are primary 50 / secondary 50"),
        (lambda w: w.set_lever_alarm("ALARM"), "the data-plane lever is"),
        (lambda w: w.set_alarm("secondary", "ALARM"), "secondary (us-west-2) is"),
    ],
    ids=["split-50-50", "lever-engaged", "secondary-alarm"],
)
def test_a_stack_out_of_steady_state_is_refused_and_left_alone(
    runner: CliRunner, world: World, arrange: object, named: str
) -> None:
    arrange(world)
    before = world.weights()
    result = invoke(runner, world, "drill", "--approve", "--reason", "game day", *TOKEN)
    assert_one_line_error(result, 4, "not in steady state:")
    assert named in result.stderr
    assert world.weights() == before
    assert world.switch("primary") == "healthy"
    assert world.audit_lines() == []
    assert marker_value(world) is None


def test_a_drill_already_running_is_refused(runner: CliRunner, world: World) -> None:
    marker = DrillMarker(world.clients(), world.topology)
    marker.acquire("drill-other", "arn:aws:iam::123456789012:user/ada", 600)
    held = marker_value(world)
    result = invoke(runner, world, "drill", "--approve", "--reason", "game day", *TOKEN)
    assert_one_line_error(result, 4, "drill drill-other is running")
    assert "arn:aws:iam::123456789012:user/ada" in result.stderr
    unchanged(world)
    assert marker_value(world) == held  # the other drill's marker is not touched


def test_a_marker_past_its_time_is_taken_over_and_released(world: World) -> None:
    marker = DrillMarker(world.clients(), world.topology)
    ssm = world.client("ssm", "us-west-2")
    stale = {"drillId": "drill-dead", "actor": "ada", "started": "2026-12-01T00:00:00Z",
             "expires": time.time() - 1}  # fmt: skip
    ssm.put_parameter(Name=marker.name, Value=json.dumps(stale), Type="String")
    taken = marker.acquire("drill-new", "bob", 600)
    assert taken is not None and taken.drill_id == "drill-dead"
    assert json.loads(marker_value(world) or "{}")["drillId"] == "drill-new"
    marker.release("drill-other")  # not its marker: left
    assert marker_value(world) is not None
    marker.release("drill-new")
    assert marker_value(world) is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--approve",), "--reason is required with --approve"),
        ((), "the players need a token"),
        (("--token", "a", "--token-file", "/nonexistent"), "the players need a token"),
        (("--scenario", "region-outage", *TOKEN), "--scenario region-outage needs the sandbox"),
        (("--steps", "50,10", *TOKEN), ""),
        (("--sandbox", *TOKEN), "--sandbox plays through the sandbox's DNS"),
    ],
)
def test_bad_input_is_one_line_exit_2_before_anything_is_read(
    runner: CliRunner, world: World, args: tuple[str, ...], message: str
) -> None:
    result = invoke(runner, world, "drill", *args)
    assert_one_line_error(result, 2, message)
    unchanged(world)
