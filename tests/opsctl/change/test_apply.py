"""What apply_shift decides, called directly against the emulator's world: when it changes nothing,
how it paces and audits the steps it applies, and where it stops (a conflict, degradation, a batch
Route 53 rejected, a read-back that does not come)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from botocore.stub import Stubber

from opsctl.change.apply import ShiftOptions, ShiftResult, apply_shift
from opsctl.change.audit import AuditLog
from opsctl.change.plan import ShiftPlan, plan_failover, plan_fallback
from opsctl.errors import AwsError, ConflictError, OpsctlError
from opsctl.model import Approval, Weights
from tests.opsctl.samples import FakeClock
from tests.opsctl.world import World

ON_THE_SECONDARY = Weights(0, 100)
GRADUAL = [10, 50, 100]


def apply(
    world: World, plan: ShiftPlan, approval: Approval | None = None, **options: Any
) -> ShiftResult:
    return apply_shift(
        world.clients(),
        world.topology,
        plan,
        approval or Approval("INC-42"),
        AuditLog(world.audit_path),
        ShiftOptions(**options),
    )


def gradual_fallback(world: World) -> ShiftPlan:
    world.set_weights(ON_THE_SECONDARY.primary, ON_THE_SECONDARY.secondary)
    return plan_fallback(world.clients(), world.topology, GRADUAL)


def test_a_plan_with_nothing_to_do_changes_and_audits_nothing(world: World) -> None:
    plan = plan_fallback(world.clients(), world.topology)  # all traffic is on the primary
    result = apply(world, plan)
    assert (result.steps, result.final, result.completed) == ((), Weights(100, 0), True)
    assert world.audit_lines() == []


def test_a_failover_is_one_step_audited_as_its_intent_then_its_outcome(world: World) -> None:
    fake = FakeClock(now_value=100.0)
    plan = plan_failover(world.clients(), world.topology)
    result = apply(world, plan, Approval("INC-42", approved_at=90.0), clock=fake.clock())
    (step,) = result.steps
    assert (step.before, step.after) == (Weights(100, 0), ON_THE_SECONDARY)
    assert step.approval_to_insync_seconds == 10.0  # measured from the approval, on its clock
    assert (result.final, result.completed) == (ON_THE_SECONDARY, True)
    assert world.weights() == ON_THE_SECONDARY
    intent, outcome = world.audit_lines()
    assert (intent["phase"], intent["reason"], intent["step"]) == ("intent", "INC-42", None)
    assert (outcome["id"], outcome["changeId"], outcome["insync"]) == (
        intent["id"],
        step.change_id,
        True,
    )


def test_an_audit_log_that_cannot_be_written_refuses_before_the_change(world: World) -> None:
    world.audit_path.mkdir()  # a directory: no line can be appended
    plan = plan_failover(world.clients(), world.topology)
    with pytest.raises(OpsctlError, match=r"cannot write the audit log .*; nothing changed"):
        apply(world, plan)
    assert world.weights() == Weights(100, 0)


def test_records_changed_since_the_plan_are_a_conflict_and_nothing_is_written(
    world: World,
) -> None:
    plan = plan_failover(world.clients(), world.topology)
    world.set_weights(30, 70)  # another operator got there first
    with pytest.raises(ConflictError, match=r"changed since the plan.*; nothing changed"):
        apply(world, plan)
    assert world.weights() == Weights(30, 70)
    assert world.audit_lines() == []


def test_a_gradual_fallback_waits_the_interval_before_each_later_step_and_numbers_them(
    world: World,
) -> None:
    fake = FakeClock()
    result = apply(world, gradual_fallback(world), interval=30.0, clock=fake.clock())
    assert [step.after.primary for step in result.steps] == GRADUAL
    assert fake.sleeps == [30.0, 30.0]  # none before the first step
    assert [line["step"] for line in world.audit_outcomes()] == ["1/3", "2/3", "3/3"]
    assert world.weights() == Weights(100, 0)


def test_degradation_before_a_later_step_stops_leaving_the_last_safe_weights(
    world: World,
) -> None:
    def primary_buckles(status: str, waited: float) -> None:
        world.set_alarm("primary", "ALARM")  # under its first 10%

    result = apply(world, gradual_fallback(world), on_poll=primary_buckles)
    assert not result.completed
    assert result.stopped_reason is not None
    assert result.stopped_reason.startswith("health-alarm: ALARM")
    assert result.final == world.weights() == Weights(10, 90)
    assert result.abort_report is not None
    assert result.abort_report.endswith(
        "not applied: step 2/3, step 3/3; weights now (read back): primary 10 / secondary 90"
    )
    assert [line["step"] for line in world.audit_outcomes()] == ["1/3"]


def test_records_changed_between_steps_stop_before_the_next_one_is_submitted(
    world: World,
) -> None:
    def someone_else_writes(index: int, target: Weights) -> None:
        if index == 1:
            world.set_weights(30, 70)

    with pytest.raises(ConflictError) as conflict:
        apply(world, gradual_fallback(world), on_step=someone_else_writes)
    assert conflict.value.message.startswith(
        "the weighted records changed after step 1/3 (expected primary 10 / secondary 90, found "
        "primary 30 / secondary 70); step 2/3 was not submitted. Run `opsctl status`; applied: "
        "step 1/3 primary 0 / secondary 100 -> primary 10 / secondary 90 (change "
    )
    assert world.weights() == Weights(30, 70)
    assert [line["step"] for line in world.audit_outcomes()] == ["1/3"]


def test_a_batch_route53_rejects_is_audited_as_not_applied(world: World) -> None:
    clients = world.clients()
    plan = plan_failover(clients, world.topology)
    with Stubber(clients.route53_changes()) as route53_changes:
        route53_changes.add_client_error(
            "change_resource_record_sets",
            "InvalidChangeBatch",
            "[Tried to delete resource record set [name='auth.example.com.', type='A', "
            "set-identifier='us-east-1'] but the values provided do not match the current values]",
            400,
        )
        with pytest.raises(ConflictError, match="Route 53 rejected the batch"):
            apply_shift(
                clients, world.topology, plan, Approval("INC-42"), AuditLog(world.audit_path)
            )
    (outcome,) = world.audit_outcomes()
    assert (outcome["applied"], outcome["changeId"]) == (False, None)
    assert "Route 53 rejected the batch, so it changed nothing" in outcome["detail"]
    assert world.weights() == Weights(100, 0)


def test_an_abort_says_so_when_the_weights_cannot_be_read_back(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Route 53 stops answering right after step 1: the report is bounded and says it could not read.
    monkeypatch.setattr("opsctl.change.outcome.READ_BACK_TIMEOUT", 0.2)

    def gate_then_route53_hangs(*_: Any) -> str | None:
        def hang(*_: Any) -> Any:
            threading.Event().wait(5)

        monkeypatch.setattr("opsctl.change.outcome.read_records", hang)
        raise AwsError("cannot reach AWS while reading the weighted records")

    monkeypatch.setattr("opsctl.change.apply._degradation", gate_then_route53_hangs)
    with pytest.raises(AwsError) as raised:
        apply(world, gradual_fallback(world))
    assert raised.value.message.endswith(
        "not applied: step 2/3, step 3/3; the weights could not be read back (no answer within "
        "0.2s while reading the weighted records); run `opsctl status`"
    )
