"""A gradual fallback (--steps, --interval) through the CLI against the emulator: every step
walked, the health gate between steps stopping on degradation with the last safe weights, the
dwell it needs by default, and --steps on its own."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from opsctl.change import apply as shiftapply
from opsctl.change import plan as shift
from opsctl.errors import AwsError, InputError
from opsctl.model import Weights
from tests.opsctl.running import assert_one_line_error, invoke
from tests.opsctl.world import World
from tests.support.stack import REGIONS

# Steps back to back: the emulator's health signals need no dwell (a shorter --interval than the
# topology's health checks need is refused unless forced).
NO_DWELL = ("--interval", "0", "--force")


def test_gradual_fallback_walks_every_step(runner: CliRunner, world: World) -> None:
    world.set_weights(0, 100)
    result = invoke(
        runner, world, "fallback", "--steps", "10,50,100", *NO_DWELL, "--approve", "--reason",
        "ok", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    steps = json.loads(result.stdout)["result"]["steps"]
    assert [s["after"]["primary"] for s in steps] == [10, 50, 100]
    assert [line["step"] for line in world.audit_outcomes()] == ["1/3", "2/3", "3/3"]
    assert world.weights() == Weights(100, 0)


def test_gradual_fallback_stops_on_degradation_leaving_the_last_safe_weights(
    runner: CliRunner, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.set_weights(0, 100)
    real_submit = shiftapply.submit_change

    def submit_then_primary_degrades(*args: Any, **kwargs: Any) -> str:
        change_id = real_submit(*args, **kwargs)
        world.set_alarm("primary", "ALARM")  # the primary buckles under its first 10%
        return change_id

    monkeypatch.setattr(shiftapply, "submit_change", submit_then_primary_degrades)
    result = invoke(
        runner, world, "fallback", "--steps", "10,50,100", *NO_DWELL, "--approve",
        "--reason", "recovered",
    )  # fmt: skip
    assert result.exit_code == 4
    assert "stopped on degradation of the primary (us-east-1): health-alarm: ALARM" in result.stderr
    assert (
        "applied: step 1/3 primary 0 / secondary 100 -> primary 10 / secondary 90 (change "
    ) in result.stderr
    assert (
        "not applied: step 2/3, step 3/3; weights now (read back): primary 10 / secondary 90"
    ) in result.stderr
    assert world.weights() == Weights(10, 90)
    assert len(world.audit_outcomes()) == 1


def test_fallback_resumes_after_a_stopped_gradual_fallback(runner: CliRunner, world: World) -> None:
    world.set_weights(10, 90)
    result = invoke(runner, world, "fallback", "--steps", "10,50,100", "--json")
    assert result.exit_code == 3
    assert [s["primary"] for s in json.loads(result.stdout)["plan"]["steps"]] == [50, 100]


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ("10,abc", "comma-separated integers"),
        ("0,100", "between 1 and 100"),
        ("50,10,100", "must increase"),
        ("10,50", "must end at 100"),
    ],
)
def test_bad_steps_are_usage_errors(
    runner: CliRunner, world: World, steps: str, message: str
) -> None:
    result = invoke(runner, world, "fallback", "--steps", steps)
    assert result.exit_code == 2
    assert message in result.stderr


def test_gradual_fallback_waits_the_interval_between_steps(runner: CliRunner, world: World) -> None:
    world.set_weights(0, 100)
    result = invoke(
        runner, world, "fallback", "--steps", "50,100", "--interval", "0.5", "--force",
        "--approve", "--reason", "ok", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    first, second = json.loads(result.stdout)["result"]["steps"]
    gap = second["approvalToInsyncSeconds"] - first["approvalToInsyncSeconds"]
    assert gap >= 0.5


def _fallback_in_steps(runner: CliRunner, world: World) -> Any:
    return invoke(
        runner, world, "fallback", "--steps", "10,50,100", *NO_DWELL, "--approve", "--reason",
        "recovered",
    )  # fmt: skip


def _between_steps(monkeypatch: pytest.MonkeyPatch, action: Any) -> None:
    """Run `action` in the health gate before step 2 (after step 1 was applied)."""

    def gate(clients: Any, topology: Any, role: str) -> str | None:
        return action()

    monkeypatch.setattr(shiftapply, "_degradation", gate)


APPLIED_STEP_1 = "applied: step 1/3 primary 0 / secondary 100 -> primary 10 / secondary 90 (change "


def test_an_aws_error_in_the_health_gate_reports_the_applied_step_and_weights(
    runner: CliRunner, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.set_weights(0, 100)

    def gate_fails() -> None:
        raise AwsError("AWS did not answer in time while reading the HealthCheckStatus metric")

    _between_steps(monkeypatch, gate_fails)
    result = _fallback_in_steps(runner, world)
    assert_one_line_error(result, 1, "AWS did not answer in time while reading the Health")
    assert APPLIED_STEP_1 in result.stderr
    assert "weights now (read back): primary 10 / secondary 90" in result.stderr
    assert world.weights() == Weights(10, 90)


def test_ctrl_c_in_the_health_gate_reports_the_applied_step_and_weights(
    runner: CliRunner, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.set_weights(0, 100)

    def operator_presses_ctrl_c() -> None:
        raise KeyboardInterrupt

    _between_steps(monkeypatch, operator_presses_ctrl_c)
    result = _fallback_in_steps(runner, world)
    assert_one_line_error(result, 130, "interrupted: " + APPLIED_STEP_1)
    assert result.stderr.rstrip().endswith(
        "not applied: step 2/3, step 3/3; weights now (read back): primary 10 / secondary 90"
    )


# --steps on its own ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "steps"),
    [("100", (100,)), ("10,50,100", (10, 50, 100)), (" 1, 99 ,100", (1, 99, 100))],
)
def test_steps_parse_to_the_primary_share_per_step(raw: str, steps: tuple[int, ...]) -> None:
    assert shift.parse_steps(raw) == steps


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "--steps must be comma-separated integers"),
        ("10,,100", "--steps must be comma-separated integers"),
        ("-10,100", "--steps must be comma-separated integers"),
        ("1000000,100", "--steps must be comma-separated integers"),
        ("0,100", "--steps values must be between 1 and 100"),
        ("50,101", "--steps values must be between 1 and 100"),
        ("50,50,100", "--steps must increase"),
        ("60,40,100", "--steps must increase"),
        ("10,50", "--steps must end at 100"),
    ],
)
def test_bad_steps_are_refused_with_what_is_wrong(raw: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as refused:
        shift.parse_steps(raw)
    assert refused.value.exit_code == 2


def test_a_gradual_fallback_dwells_by_default_for_what_the_health_gate_needs(
    runner: CliRunner, world: World
) -> None:
    """--steps 10,100 once went from 10% to 100% in seconds, before any health signal could
    reflect the first step: the dwell defaults to the health checks' time to notice plus the
    metric's period, is in the plan, and a shorter --interval needs --force."""
    world.set_weights(0, 100)
    world.set_topology(
        {**world.topology_document, "healthCheck": {"requestInterval": 10, "failureThreshold": 2}}
    )
    plan = invoke(runner, world, "fallback", "--steps", "10,100")
    assert plan.exit_code == 3, plan.stderr
    assert (
        "dwell between steps: 80s by default (health checks every 10s x 2 failures + the 60s "
        "HealthCheckStatus period)"
    ) in plan.stdout
    planned = invoke(runner, world, "fallback", "--steps", "10,100", "--json")
    assert json.loads(planned.stdout)["plan"]["dwellSeconds"] == 80
    short = invoke(
        runner, world, "fallback", "--steps", "10,100", "--interval", "5", "--approve",
        "--reason", "x",
    )  # fmt: skip
    assert_one_line_error(
        short,
        4,
        "--interval 5s is shorter than the 80s the health gate needs to see a step (health "
        "checks every 10s x 2 failures + the 60s HealthCheckStatus period); nothing changed "
        "(--force overrides)",
    )
    assert world.weights() == Weights(0, 100) and world.audit_lines() == []


def test_a_refused_fallback_says_what_to_wait_for(runner: CliRunner, world: World) -> None:
    """The primary is back but its health has not cleared yet: the refusal says what to wait for
    and how to see it, not only that --force would override it."""
    world.set_weights(0, 100)
    world.set_health("primary", False)
    refused = invoke(runner, world, "fallback", "--approve", "--reason", "INC-1 resolved")
    assert_one_line_error(refused, 4, "preflight refused fallback to primary: health-check")
    # Which signal, in which Region, where to see it.
    assert (
        f"Wait until `opsctl status` shows the health of primary ({REGIONS['primary']}) as "
        "healthy (its Route 53 health check, healthy for a whole minute)"
    ) in refused.stderr
    assert "then run it again (`opsctl readiness --role primary` shows each check)" in (
        refused.stderr
    )
    assert world.weights() == Weights(0, 100)
