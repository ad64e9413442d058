"""failover / fallback through the CLI against the emulator: plan, approval, preflight, --force,
no-op, conflict, INSYNC wait, misrouted records, and the audit trail (a gradual fallback:
test_gradual_fallback.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from opsctl.change import apply as shiftapply
from opsctl.change import outcome as shiftoutcome
from opsctl.errors import ChangeUnconfirmedError
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
