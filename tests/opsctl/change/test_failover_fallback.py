"""failover / fallback through the CLI against the emulator: plan, approval, preflight, --force,
no-op, conflict, INSYNC wait, gradual fallback stopping on degradation, and the audit trail."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from opsctl.change import apply as shiftapply
from opsctl.change import outcome as shiftoutcome
from opsctl.change import plan as shift
from opsctl.errors import AwsError, ChangeUnconfirmedError, InputError
from opsctl.model import Weights
from opsctl.sandbox.emulator import Emulator
from opsctl.sandbox.faults.proxy import Fault, FaultProxy
from tests.opsctl.dataplane import DataPlane
from tests.opsctl.running import assert_one_line_error, invoke
from tests.opsctl.world import World
from tests.support.stack import REGIONS

# Steps back to back: the emulator's health signals need no dwell (a shorter --interval than the
# topology's health checks need is refused unless forced).
NO_DWELL = ("--interval", "0", "--force")


def test_plan_only_exits_3_and_changes_nothing(runner: CliRunner, world: World) -> None:
    result = invoke(runner, world, "failover")
    assert result.exit_code == 3
    assert "failover plan: all traffic to secondary" in result.stdout
    assert "health-check" in result.stdout and "PASS" in result.stdout
    assert "plan only: nothing changed" in result.stderr
    assert world.weights() == Weights(100, 0)
    assert world.audit_lines() == []


def test_plan_json(runner: CliRunner, world: World) -> None:
    result = invoke(runner, world, "failover", "--json")
    assert result.exit_code == 3
    plan = json.loads(result.stdout)["plan"]
    assert plan["action"] == "failover"
    assert plan["current"] == {"primary": 100, "secondary": 0}
    assert plan["steps"] == [{"primary": 0, "secondary": 100}]
    assert plan["preflight"]["ready"] is True
    checks = {c["name"]: c["result"] for c in plan["preflight"]["checks"]}
    assert list(checks) == [
        "health-check",
        "health-alarm",
        "impaired-alarm",
        "failure-switch",
        "alias-targets",
        "lambda-concurrency-quota",
        "authorizer-concurrency",
        "api-throttling",
        "table-replicas",
        "replication-latency",
        "credentials",
        "accelerated-recovery",
    ]
    assert {checks[name] for name in list(checks)[:5]} == {"pass"}  # the target's own signals
    assert checks["table-replicas"] == "pass"
    # The world has no REST APIs or replication metrics, which cannot be verified: a warning.
    # (test_readiness covers each capacity check passing and failing.)
    for name in ("authorizer-concurrency", "api-throttling", "replication-latency"):
        assert checks[name] == "warn"


def test_approved_failover_swaps_weights_waits_and_audits(
    runner: CliRunner, world: World, emulator: Emulator
) -> None:
    emulator.route53.propagation_seconds = 0.3  # GetChange says PENDING first, like Route 53
    try:
        result = invoke(runner, world, "failover", "--approve", "--reason", "INC-42 5xx", "--json")
    finally:
        emulator.route53.propagation_seconds = 0.0
    assert result.exit_code == 0, result.stderr
    assert world.weights() == Weights(0, 100)
    outcome = json.loads(result.stdout)["result"]
    step = outcome["steps"][0]
    assert outcome["completed"] is True
    # Propagation runs from when the emulator took the change; the wait starts once its answer
    # is back, a round trip later: PENDING was seen for most of the 0.3 s.
    assert step["insyncSeconds"] >= 0.2
    assert step["approvalToInsyncSeconds"] >= step["insyncSeconds"]
    assert "approval to INSYNC:" in result.stderr
    (line,) = world.audit_outcomes()
    assert line["action"] == "failover"
    assert line["reason"] == "INC-42 5xx"
    assert line["before"] == {"primary": 100, "secondary": 0}
    assert line["after"] == {"primary": 0, "secondary": 100}
    assert line["changeId"] == step["changeId"]
    assert line["actorArn"].startswith("arn:aws:")
    assert line["localUser"]
    assert line["forced"] is False
    # The same who/why/from->to is in the change batch Comment, which CloudTrail keeps.
    comment = emulator.route53.get(step["changeId"]).comment
    assert "opsctl failover by arn:aws:" in comment
    assert "primary 100 / secondary 0 -> primary 0 / secondary 100; INC-42 5xx" in comment


def test_already_on_the_target_is_a_no_op(runner: CliRunner, world: World) -> None:
    world.set_weights(0, 100)
    result = invoke(runner, world, "failover", "--approve", "--reason", "again")
    assert result.exit_code == 0
    assert "all traffic is already on the secondary (us-west-2); nothing to do" in result.stderr
    assert world.audit_lines() == []
    plain = invoke(runner, world, "fallback", "--approve", "--reason", "x")
    assert plain.exit_code == 0  # fallback from secondary is real work


def test_approve_without_reason_is_a_usage_error(runner: CliRunner, world: World) -> None:
    result = invoke(runner, world, "failover", "--approve")
    assert result.exit_code == 2
    assert "--reason is required with --approve" in result.stderr
    assert world.weights() == Weights(100, 0)


@pytest.mark.parametrize(
    ("degrade", "check"),
    [
        (lambda w: w.set_health("secondary", False), "health-check: unhealthy"),
        (lambda w: w.set_alarm("secondary", "ALARM"), "health-alarm: ALARM"),
        (lambda w: w.set_impaired("secondary", "ALARM"), "impaired-alarm: ALARM"),
        (lambda w: w.set_switch("secondary", "failing"), "failure-switch: failing"),
    ],
)
def test_preflight_refuses_an_unready_target(
    runner: CliRunner, world: World, degrade, check: str
) -> None:
    degrade(world)
    result = invoke(runner, world, "failover", "--approve", "--reason", "INC-1")
    assert result.exit_code == 4
    assert check in result.stderr
    assert "nothing changed. " in result.stderr and "--force overrides" in result.stderr
    assert world.weights() == Weights(100, 0)
    assert world.audit_lines() == []


def test_force_overrides_the_preflight_and_is_audited(runner: CliRunner, world: World) -> None:
    world.set_health("secondary", False)
    result = invoke(runner, world, "failover", "--approve", "--force", "--reason", "INC-2")
    assert result.exit_code == 0, result.stderr
    assert world.weights() == Weights(0, 100)
    assert "--force overrode: health-check" in result.stderr
    (line,) = world.audit_outcomes()
    assert (line["forced"], line["overridden"]) == (True, ["health-check"])


def test_insufficient_data_alarm_is_a_warning_not_a_refusal(
    runner: CliRunner, world: World
) -> None:
    world.set_alarm("secondary", "INSUFFICIENT_DATA")
    # --json has no table: the warning goes to stderr.
    as_json = invoke(runner, world, "failover", "--json")
    assert as_json.exit_code == 3, as_json.stderr
    assert "warning: health-alarm: INSUFFICIENT_DATA" in as_json.stderr
    result = invoke(runner, world, "failover", "--approve", "--reason", "INC-3")
    assert result.exit_code == 0, result.stderr
    # Shown once, in the preflight table, not again on stderr.
    assert "INSUFFICIENT_DATA" in result.stdout
    assert "warning: health-alarm" not in result.stderr


def test_conflict_at_the_cas_exits_5(
    runner: CliRunner, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_read = shiftapply.read_records

    def read_then_someone_writes(route53: Any, topology: Any) -> Any:
        state = real_read(route53, topology)
        world.set_weights(100, 1)  # lands between our re-read and our batch
        return state

    monkeypatch.setattr(shiftapply, "read_records", read_then_someone_writes)
    result = invoke(runner, world, "failover", "--approve", "--reason", "race")
    assert result.exit_code == 5
    assert "changed since opsctl read them" in result.stderr
    assert world.weights() == Weights(100, 1)
    (line,) = world.audit_outcomes()
    assert line["applied"] is False
    assert "changed since opsctl read them" in line["detail"]


@pytest.mark.parametrize(
    ("applied", "outcome"),
    [
        (
            True,
            "; the records now show primary 0 / secondary 100: the change was applied "
            "(audited without a change id; INSYNC was not awaited); applied: primary 100 / "
            "secondary 0 -> primary 0 / secondary 100 (change unconfirmed); weights now (read "
            "back): primary 0 / secondary 100",
        ),
        (False, "; the records still show primary 100 / secondary 0: not applied so far"),
    ],
)
def test_a_change_route53_did_not_confirm_is_settled_by_rereading(
    runner: CliRunner,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    applied: bool,
    outcome: str,
) -> None:
    real_submit = shiftapply.submit_change
    lost = "Route 53 did not answer the change request (Read timeout on endpoint URL)"

    def submit_losing_the_answer(*args: Any, **kwargs: Any) -> str:
        if applied:
            real_submit(*args, **kwargs)
        raise ChangeUnconfirmedError(lost)

    monkeypatch.setattr(shiftapply, "submit_change", submit_losing_the_answer)
    result = invoke(runner, world, "failover", "--approve", "--reason", "INC-7")
    assert_one_line_error(result, 1, lost + outcome)
    if applied:
        assert world.weights() == Weights(0, 100)
    (line,) = world.audit_outcomes()
    assert (line["applied"], line["reason"]) == (applied, "INC-7")
    # The outcome line says what the re-read found (the abort report is for the operator).
    assert line["detail"].startswith((lost + outcome).split("; applied: ")[0])
    if applied:
        assert world.weights() == Weights(0, 100)
        assert line["changeId"] == shiftoutcome.UNCONFIRMED_CHANGE_ID
        assert line["after"] == {"primary": 0, "secondary": 100}
    else:
        assert world.weights() == Weights(100, 0)
        assert line["changeId"] is None


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


def test_all_zero_weights_are_refused_before_any_change(runner: CliRunner, world: World) -> None:
    world.set_weights(0, 0)
    result = invoke(runner, world, "failover", "--approve", "--reason", "x")
    assert result.exit_code == 1
    assert "both weighted records have weight 0" in result.stderr
    assert world.weights() == Weights(0, 0)


def test_insync_timeout_exits_1_and_still_audits(
    runner: CliRunner, world: World, emulator: Emulator
) -> None:
    emulator.route53.propagation_seconds = 30
    try:
        result = invoke(
            runner, world, "failover", "--approve", "--reason", "slow", "--timeout", "1"
        )
    finally:
        emulator.route53.propagation_seconds = 0.0
    assert result.exit_code == 1
    assert "was applied but is still PENDING after 1s" in result.stderr
    (line,) = world.audit_outcomes()
    assert line["insyncSeconds"] is None
    assert world.weights() == Weights(0, 100)


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


@pytest.mark.parametrize("applied", [True, False])
def test_ctrl_c_while_the_change_is_in_flight_rereads_and_audits_what_it_finds(
    runner: CliRunner, world: World, monkeypatch: pytest.MonkeyPatch, applied: bool
) -> None:
    real_submit = shiftapply.submit_change

    def submit_then_ctrl_c(*args: Any, **kwargs: Any) -> str:
        if applied:  # Route 53 got the batch; the answer never arrived
            real_submit(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(shiftapply, "submit_change", submit_then_ctrl_c)
    result = invoke(runner, world, "failover", "--approve", "--reason", "INC-8")
    prefix = (
        "interrupted: while submitting primary 100 / secondary 0 -> primary 0 / secondary 100: "
    )
    if applied:
        assert_one_line_error(
            result,
            130,
            prefix + "the records now show primary 0 / secondary 100: the change was applied "
            "(audited without a change id; INSYNC was not awaited); applied: primary 100 / "
            "secondary 0 -> primary 0 / secondary 100 (change unconfirmed); weights now (read "
            "back): primary 0 / secondary 100",
        )
    else:
        assert_one_line_error(
            result, 130, prefix + "the records still show primary 100 / secondary 0: not applied"
        )
    (line,) = world.audit_outcomes()
    assert line["applied"] is applied
    assert line["detail"].startswith("interrupted (SIGINT) while submitting; the records ")
    if applied:
        assert (line["changeId"], line["after"]) == (
            shiftoutcome.UNCONFIRMED_CHANGE_ID,
            {"primary": 0, "secondary": 100},
        )


MISROUTED = (
    "alias-targets: the primary A record (us-east-1) points at "
    "d-uswest2.execute-api.us-west-2.amazonaws.com, the secondary's (us-west-2), not "
    "d-useast1.execute-api.us-east-1.amazonaws.com"
)


@pytest.mark.parametrize(
    ("command", "weights"), [("failover", Weights(100, 0)), ("fallback", Weights(0, 100))]
)
def test_a_misrouted_record_refuses_the_shift_unless_forced(
    runner: CliRunner, world: World, command: str, weights: Weights
) -> None:
    world.set_weights(weights.primary, weights.secondary)
    world.point_record_at("primary", "us-west-2")
    refused = invoke(runner, world, command, "--approve", "--reason", "INC-5")
    assert_one_line_error(refused, 4, f"preflight refused {command} to ")
    assert MISROUTED in refused.stderr
    assert "nothing changed. " in refused.stderr and "--force overrides" in refused.stderr
    assert world.weights() == weights
    forced = invoke(runner, world, command, "--approve", "--force", "--reason", "INC-5")
    assert forced.exit_code == 0, forced.stderr
    assert world.weights() != weights
    (line,) = world.audit_outcomes()
    assert (line["forced"], line["overridden"]) == (True, ["alias-targets"])


def test_where_unreadable_records_point_is_a_warning_not_a_pass(
    runner: CliRunner, world: World, dataplane: DataPlane, fault_proxy: FaultProxy
) -> None:
    fault_proxy.set_fault(REGIONS["primary"], Fault.REFUSE)  # Route 53's control plane with it
    plan = invoke(runner, world, "failover", "--json")
    assert plan.exit_code == 3, plan.stderr
    checks = {c["name"]: c for c in json.loads(plan.stdout)["plan"]["preflight"]["checks"]}
    assert (checks["alias-targets"]["result"], checks["alias-targets"]["value"]) == (
        "warn",
        "unknown",
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
