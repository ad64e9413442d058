"""The data-plane lever, end to end through the CLI: what it reports having applied, and how it
keeps asserting the engage until Route 53's name servers confirm it (Route 53 follows the metric's
data stream, and may miss a datapoint).

The DataPlane fixture evaluates the lever alarm like CloudWatch and answers the shared name like
Route 53's name servers."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta, tzinfo

import pytest
from typer.testing import CliRunner

from opsctl.change.apply import DEFAULT_INSYNC_TIMEOUT
from opsctl.change.audit import AuditLog
from opsctl.change.lever_apply import apply_lever
from opsctl.change.lever_plan import LeverPlan
from opsctl.change.routing import plan_failover_via
from opsctl.model import Approval, Clock, Weights
from opsctl.sandbox.faults.proxy import Fault, FaultProxy
from tests.opsctl.dataplane import DataPlane
from tests.opsctl.running import assert_one_line_error, dns_answers, invoke
from tests.opsctl.world import World
from tests.support.stack import REGIONS

PRIMARY = REGIONS["primary"]
SECONDARY = REGIONS["secondary"]


# The lever path reports what it applied, as the weights path does ------------------------------


def _engaged_this_minute(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """A lever engage published 10 s into this minute, with opsctl's lever reading the clock
    20 s into it: the release needs a later minute, 40 s away, however slowly the machine runs
    the command (a real clock could cross the minute mid-test)."""
    minute = datetime.now(UTC).replace(second=0, microsecond=0)
    world.engage_lever(minute + timedelta(seconds=10))
    frozen = minute + timedelta(seconds=20)

    class FrozenClock(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> datetime:
            return frozen

    monkeypatch.setattr("opsctl.change.lever.datetime", FrozenClock)


def test_a_release_that_cannot_fit_in_the_timeout_is_refused_before_the_weights_move(
    runner: CliRunner, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _engaged_this_minute(world, monkeypatch)
    result = invoke(runner, world, "fallback", "--approve", "--reason", "x", "--timeout", "1")
    assert_one_line_error(
        result, 1, "the lever was engaged this minute; releasing it needs a later minute ("
    )
    assert result.stderr.rstrip().endswith("more than --timeout 1s; nothing changed")
    assert world.weights() == Weights(100, 0)
    assert world.audit_lines() == []


def test_ctrl_c_while_confirming_says_the_lever_was_engaged_and_audited(
    runner: CliRunner, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*_: object) -> float:
        raise KeyboardInterrupt

    monkeypatch.setattr("opsctl.change.lever_confirm.LeverMove.poll", interrupted)
    result = invoke(runner, world, "failover", "--via", "dataplane", "--approve", "--reason", "x")
    (record,) = world.audit_outcomes()
    assert record["applied"] is True
    assert_one_line_error(
        result,
        130,
        f"interrupted: applied: the lever engaged ({record['changeId']}) (in the audit log "
        f"{world.audit_path})",
    )


def test_ctrl_c_waiting_for_the_release_minute_reports_the_reconciled_weights(
    runner: CliRunner, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Interrupted before the release was published: no release intent is left without an
    outcome, and the weights already moved are named."""
    _engaged_this_minute(world, monkeypatch)

    def sleep_until_interrupted(seconds: float) -> None:
        if seconds > 0.5:  # the wait for the next minute
            raise KeyboardInterrupt
        time.sleep(seconds)

    monkeypatch.setattr(
        "opsctl.change.lever_apply.Clock", lambda: Clock(sleep=sleep_until_interrupted)
    )
    result = invoke(runner, world, "fallback", "--approve", "--reason", "x", "--timeout", "120")
    (reconciled,) = world.audit_outcomes()
    assert reconciled["after"] == {"primary": 0, "secondary": 100}
    assert len(world.audit_lines()) == 2  # the reconcile's intent and outcome, nothing else
    assert_one_line_error(
        result,
        130,
        "interrupted: applied: weights primary 100 / secondary 0 -> primary 0 / secondary 100 "
        f"(change {reconciled['changeId']}) (in the audit log {world.audit_path})",
    )
    assert world.weights() == Weights(0, 100)
    assert world.lever_alarm() == "ALARM"


def test_of_two_engages_at_once_the_second_publishes_nothing_and_is_audited_as_a_noop(
    world: World,
) -> None:
    clients = world.clients()
    plan = plan_failover_via(clients, world.topology, "dataplane")
    assert isinstance(plan, LeverPlan) and plan.lever.state == "released"
    world.engage_lever(datetime.now(UTC))  # another operator's engage lands after our plan
    result = apply_lever(
        clients, world.topology, plan, Approval(reason="x"), AuditLog(world.audit_path), timeout=5
    )
    assert result.published is False and result.change_id == ""
    (record,) = world.audit_outcomes()
    assert record["applied"] is False
    assert record["detail"].startswith("the lever was already engaged (since ")
    assert record["detail"].endswith("): nothing published")


# Route 53 follows the metric's data stream: the lever is asserted until DNS confirms it -------


def test_a_lost_first_datapoint_is_asserted_again_and_still_confirmed(
    runner: CliRunner,
    world: World,
    dataplane: DataPlane,
    fault_proxy: FaultProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("opsctl.change.lever_confirm.REASSERT_INTERVAL", 0.3)  # a minute, scaled
    fault_proxy.set_fault(PRIMARY, Fault.REFUSE)
    dataplane.lose_engage_datapoints(1)  # CloudWatch has it; Route 53 never sees it
    result = invoke(
        runner, world, "failover", "--approve", "--reason", "INC-11", "--timeout", "30", "--json"
    )
    assert result.exit_code == 0, (result.stderr, dataplane.last_error)
    outcome = json.loads(result.stdout)["result"]
    assert outcome["reasserted"] >= 1
    # Every answer names the secondary; a query the loaded name server dropped is no answer.
    answers = outcome["dns"]["answers"]
    assert answers["secondary"] >= 1 and set(answers) <= {"secondary", "failed"}, answers
    (record,) = world.audit_outcomes()  # one audited engage; asserting it again is part of it
    assert record["applied"] and record["after"] == {"lever": "engaged"}


def test_failover_with_the_lever_engaged_but_dns_on_the_primary_asserts_it_again(
    runner: CliRunner,
    world: World,
    dataplane: DataPlane,
    fault_proxy: FaultProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("opsctl.change.lever_confirm.REASSERT_INTERVAL", 0.3)
    fault_proxy.set_fault(PRIMARY, Fault.REFUSE)
    dataplane.lose_engage_datapoints(1)
    world.engage_lever()  # the alarm is in ALARM, but Route 53 missed the datapoint
    assert "secondary" not in dns_answers(runner, world)

    plan = invoke(runner, world, "failover", "--json")
    assert plan.exit_code == 3, plan.stderr  # not "nothing to do"
    planned = json.loads(plan.stdout)["plan"]
    assert planned["reason"].startswith("the lever is engaged but DNS still answers ")
    assert planned["steps"][0].startswith("assert the engaged lever again")

    result = invoke(runner, world, "failover", "--approve", "--reason", "INC-12", "--timeout", "30")
    assert result.exit_code == 0, (result.stderr, dataplane.last_error)
    assert "DNS: 8/8 answers: secondary 8" in result.stdout
    (record,) = world.audit_outcomes()
    assert (record["before"], record["after"]) == ({"lever": "engaged"}, {"lever": "engaged"})
    assert record["applied"] is True  # published, not deduplicated away


def test_the_lever_plan_states_the_time_to_effect_and_the_default_timeout_covers_it(
    runner: CliRunner, world: World, dataplane: DataPlane, fault_proxy: FaultProxy
) -> None:
    fault_proxy.set_fault(PRIMARY, Fault.REFUSE)
    plan = invoke(runner, world, "failover", "--json")
    assert plan.exit_code == 3, plan.stderr
    # No failure threshold x interval: the alarm, then Route 53's evaluation of the stream.
    expected = json.loads(plan.stdout)["plan"]["expectedSeconds"]
    assert expected == {"alarm": [60, 120], "nameServers": [120, 240], "resolvers": [180, 300]}
    assert expected["nameServers"][1] <= DEFAULT_INSYNC_TIMEOUT
    table = invoke(runner, world, "failover")
    assert "expected: on AWS the alarm follows in 1-2 min" in table.stdout
    assert "the name servers answer after 2-4 min" in table.stdout


def test_fallback_gives_the_primary_no_weight_before_route53_sees_the_lever_released(
    runner: CliRunner, world: World, dataplane: DataPlane
) -> None:
    world.engage_lever()
    deadline = time.monotonic() + 10
    while dataplane.lever_check_healthy:  # Route 53 has taken the engage
        assert time.monotonic() < deadline
        time.sleep(0.05)
    dataplane.hold_route53_view()  # from here Route 53's evaluation trails the alarm
    seen: list[Weights] = []

    def let_route53_follow_later() -> None:
        while world.lever_alarm() != "OK":  # released: CloudWatch's alarm has followed
            time.sleep(0.05)
        time.sleep(1.5)  # Route 53 still sees the lever's check unhealthy
        seen.append(world.weights())
        dataplane.let_route53_view_follow()

    follower = threading.Thread(target=let_route53_follow_later, daemon=True)
    follower.start()
    result = invoke(runner, world, "fallback", "--approve", "--reason", "INC-13", "--timeout", "60")
    assert result.exit_code == 0, result.stderr
    follower.join(timeout=5)
    assert seen == [Weights(0, 100)]  # the alarm said OK, Route 53 did not yet: no primary weight
    assert world.weights() == Weights(100, 0)


@pytest.mark.parametrize("control_plane", [False, True])
def test_name_servers_unreachable_from_here_are_noticed_at_once_and_said(
    runner: CliRunner,
    world: World,
    dataplane: DataPlane,
    fault_proxy: FaultProxy,
    control_plane: bool,
) -> None:
    # A corporate network that lets DNS through to its own resolvers only.
    world.set_topology({**world.topology_document, "nameServers": ["127.0.0.1:9"]})
    if not control_plane:
        fault_proxy.set_fault(PRIMARY, Fault.REFUSE)
    started = time.monotonic()
    result = invoke(
        runner,
        world,
        "failover",
        "--via",
        "dataplane",
        "--approve",
        "--reason",
        "INC-14",
        "--timeout",
        "60",
        "--json",
    )
    assert result.exit_code == 0, (result.stderr, dataplane.last_error)
    assert time.monotonic() - started < 40  # not the whole --timeout
    unconfirmed = json.loads(result.stdout)["result"]["dnsUnconfirmed"]
    assert unconfirmed.startswith("DNS unconfirmed: name servers unreachable from here")
    # With the control plane up, Route 53's own view of the lever's check confirms it.
    assert ("Route 53 sees the lever's health check unhealthy" in unconfirmed) is control_plane
