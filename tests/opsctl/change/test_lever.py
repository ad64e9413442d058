"""Failing over without us-east-1: the data-plane lever, end to end through the CLI.

The fault proxy refuses every request signed for us-east-1 (Route 53's control plane, us-east-1
CloudWatch and STS's global endpoint go with it); the DataPlane fixture evaluates the lever alarm
like CloudWatch and answers the shared name like Route 53's name servers."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opsctl.change.apply import DEFAULT_INSYNC_TIMEOUT
from opsctl.change.audit import AuditLog
from opsctl.change.routing import LeverPlan, apply_lever, plan_failover_via
from opsctl.cli.app import app
from opsctl.model import Approval, Clock, Weights
from opsctl.sandbox.faults.proxy import Fault, FaultProxy
from tests.opsctl.conftest import (
    APP,
    LEVER_METRIC,
    LEVER_NAMESPACE,
    REGIONS,
    DataPlane,
    World,
    assert_one_line_error,
    invoke,
)

PRIMARY = REGIONS["primary"]
SECONDARY = REGIONS["secondary"]


def _engaged_earlier(world: World, minutes: int = 3) -> None:
    """A lever failover made minutes ago (the alarm took it then)."""
    _engaged_at(world, datetime.now(UTC) - timedelta(minutes=minutes))


def _engaged_at(world: World, moment: datetime) -> None:
    world.client("cloudwatch", REGIONS["secondary"]).put_metric_data(
        Namespace=LEVER_NAMESPACE,
        MetricData=[
            {
                "MetricName": LEVER_METRIC,
                "Dimensions": [{"Name": "App", "Value": APP}],
                "Timestamp": moment,
                "Value": 1.0,
            }
        ],
    )
    world.set_lever_alarm("ALARM")


def _dns(runner: CliRunner, world: World) -> dict[str, int]:
    result = invoke(runner, world, "status", "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)["dns"]["answers"]


def test_status_with_us_east_1_refused_shows_the_secondary_view(
    runner: CliRunner, world: World, dataplane: DataPlane, fault_proxy: FaultProxy
) -> None:
    fault_proxy.set_fault(PRIMARY, Fault.REFUSE)
    world.set_front("primary", 503)
    result = invoke(runner, world, "status", "--json")
    assert result.exit_code == 0, result.stderr
    status = json.loads(result.stdout)
    assert {"records", "health", "alarms", "checkers:primary", "switch:primary"} <= set(
        status["unreadable"]
    )
    assert "switch:secondary" not in status["unreadable"]
    assert status["lever"]["state"] == "released"
    assert status["dns"]["answers"] == {"primary": 8}
    primary, secondary = status["regions"]
    assert primary["weight"] is None and primary["probe"]["status"] == 503
    assert secondary["failureSwitch"] == "healthy" and secondary["probe"]["ok"] is True
    assert status["serving"] == "primary"
    assert status["headline"].startswith(
        "primary (us-east-1) serves all traffic, but primary (us-east-1) is unhealthy"
    )
    assert "partial data: unreadable in us-east-1: weights" in status["headline"]
    assert status["advice"] == 'opsctl failover --approve --reason "..."'
    table = invoke(runner, world, "status")
    assert table.exit_code == 0, table.stderr
    assert "unknown" in table.stdout and "lever: released" in table.stdout
    assert "Traceback" not in table.stdout + table.stderr


def test_status_with_us_east_1_black_holed_still_answers(
    runner: CliRunner, world: World, fault_proxy: FaultProxy, read_deadline: float
) -> None:
    fault_proxy.set_fault(PRIMARY, Fault.HANG)
    result = invoke(runner, world, "status", "--json")
    assert result.exit_code == 0, result.stderr
    status = json.loads(result.stdout)
    assert "records" in status["unreadable"]
    assert status["lever"]["state"] == "released"
    assert status["regions"][1]["failureSwitch"] == "healthy"


def test_a_role_assuming_profile_reads_the_secondary_view_with_us_east_1_black_holed(
    runner: CliRunner,
    world: World,
    dataplane: DataPlane,
    fault_proxy: FaultProxy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The most common operator setup: a role assumed from a source profile's keys. botocore
    # would make that AssumeRole through the Region of opsctl's first client (Route 53's).
    config = tmp_path / "aws-config"
    config.write_text(
        "[profile keys]\naws_access_key_id = AKIAOPERATOR\naws_secret_access_key = secret\n\n"
        "[profile operator]\nrole_arn = arn:aws:iam::123456789012:role/operator\n"
        "source_profile = keys\nregion = us-east-1\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("OPSCTL_READ_DEADLINE", "3.5")  # production's
    warm = invoke(runner, world, "status", "--json", "--profile", "operator")  # imports done
    assert warm.exit_code == 0, warm.stderr
    fault_proxy.set_fault(PRIMARY, Fault.HANG)
    started = time.monotonic()
    result = invoke(runner, world, "status", "--json", "--profile", "operator")
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.stderr
    status = json.loads(result.stdout)
    assert "records" in status["unreadable"] and "lever" not in status["unreadable"]
    assert status["lever"]["state"] == "released" and status["lever"]["alarm"] == "OK"
    assert status["regions"][1]["failureSwitch"] == "healthy"
    # The deadline plus setup: about 4 s on an idle machine (credentials 0.3-0.5 s, clients about
    # 0.5 s). The bound leaves room for a heavily loaded test machine and still fails a wait on
    # the SDK's own timeouts (3 x (3 + 10) s).
    assert elapsed < 15.0


def test_credentials_that_cannot_be_resolved_in_time_are_one_line(
    runner: CliRunner,
    world: World,
    fault_proxy: FaultProxy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = tmp_path / "aws-config"
    config.write_text(
        "[profile keys]\naws_access_key_id = AKIAOPERATOR\naws_secret_access_key = secret\n\n"
        "[profile operator]\nrole_arn = arn:aws:iam::123456789012:role/operator\n"
        "source_profile = keys\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("OPSCTL_READ_DEADLINE", "1")
    fault_proxy.set_fault(REGIONS["secondary"], Fault.HANG)
    result = invoke(runner, world, "status", "--profile", "operator")
    assert_one_line_error(
        result, 1, "the AWS credentials could not be resolved through us-west-2 within 1s"
    )


def test_failover_auto_engages_the_lever_when_the_control_plane_is_down(
    runner: CliRunner, world: World, dataplane: DataPlane, fault_proxy: FaultProxy
) -> None:
    fault_proxy.set_fault(PRIMARY, Fault.REFUSE)
    plan = invoke(runner, world, "failover", "--json")
    assert plan.exit_code == 3, plan.stderr
    planned = json.loads(plan.stdout)["plan"]
    assert planned["via"] == "dataplane" and planned["leverAction"] == "engage"
    assert planned["reason"].startswith("Route 53's control plane does not answer")
    # The secondary is judged by its own signals: us-east-1's health metric is only a warning.
    checks = {c["name"]: c["result"] for c in planned["preflight"]["checks"]}
    assert checks["health-check"] == "warn" and checks["failure-switch"] == "pass"

    result = invoke(
        runner,
        world,
        "failover",
        "--approve",
        "--reason",
        "INC-9 us-east-1 dark",
        "--timeout",
        "30",
    )
    assert result.exit_code == 0, (result.stderr, dataplane.last_error)
    assert result.exit_code == 0, result.stderr
    assert "lever engaged" in result.stdout
    assert "DNS: 8/8 answers: secondary 8" in result.stdout
    assert "approval to alarm ALARM:" in result.stderr
    assert "approval to DNS answers:" in result.stderr
    assert world.lever_alarm() == "ALARM"
    assert world.weights() == Weights(100, 0)  # the weights were never touched
    (record,) = world.audit_outcomes()
    assert record["action"] == "failover" and record["step"] == "lever" and record["applied"]
    assert (record["before"], record["after"]) == ({"lever": "released"}, {"lever": "engaged"})
    assert record["actorArn"].startswith("arn:aws")  # STS in us-west-2 answered
    history = runner.invoke(app, ["history"])
    assert "failover lever" in history.stdout

    again = invoke(runner, world, "failover", "--approve", "--reason", "INC-9 again")
    assert again.exit_code == 0, again.stderr
    assert "the data-plane lever is engaged" in again.stderr
    assert len(world.audit_outcomes()) == 1


def test_failover_via_weights_without_the_control_plane_is_refused(
    runner: CliRunner, world: World, dataplane: DataPlane, fault_proxy: FaultProxy
) -> None:
    fault_proxy.set_fault(PRIMARY, Fault.REFUSE)
    result = invoke(runner, world, "failover", "--via", "weights", "--approve", "--reason", "x")
    assert_one_line_error(result, 1, "Route 53's control plane does not answer")
    assert "--via dataplane" in result.stderr
    assert world.lever_alarm() == "OK" and world.audit_lines() == []


def test_failover_auto_uses_the_weights_when_the_control_plane_answers(
    runner: CliRunner, world: World, dataplane: DataPlane
) -> None:
    result = invoke(runner, world, "failover", "--approve", "--reason", "INC-9")
    assert result.exit_code == 0, result.stderr
    assert world.weights() == Weights(0, 100)
    assert world.lever_alarm() == "OK"


def test_fallback_after_a_lever_failover_reconciles_the_weights_then_releases(
    runner: CliRunner, world: World, dataplane: DataPlane
) -> None:
    _engaged_earlier(world)
    plan = invoke(runner, world, "fallback", "--json")
    assert plan.exit_code == 3, plan.stderr
    steps = json.loads(plan.stdout)["plan"]["steps"]
    assert steps[0].startswith("weights primary 100 / secondary 0 -> primary 0 / secondary 100")
    assert steps[1].startswith("release the lever")
    assert steps[2] == "weights primary 100 / secondary 0"

    result = invoke(runner, world, "fallback", "--approve", "--reason", "INC-9 resolved")
    assert result.exit_code == 0, result.stderr
    assert world.weights() == Weights(100, 0)
    assert world.lever_alarm() == "OK"
    assert [(r["action"], r["after"]) for r in world.audit_outcomes()] == [
        ("fallback", {"primary": 0, "secondary": 100}),
        ("fallback", {"lever": "released"}),
        ("fallback", {"primary": 100, "secondary": 0}),
    ]
    assert _dns(runner, world) == {"primary": 8}
    nothing = invoke(runner, world, "fallback", "--approve", "--reason", "again")
    assert nothing.exit_code == 0, nothing.stderr
    assert "nothing to do" in nothing.stderr
    assert len(world.audit_outcomes()) == 3


def test_fallback_via_dataplane_without_the_control_plane_releases_the_lever(
    runner: CliRunner, world: World, dataplane: DataPlane, fault_proxy: FaultProxy
) -> None:
    _engaged_earlier(world)
    fault_proxy.set_fault(PRIMARY, Fault.REFUSE)
    plan = invoke(runner, world, "fallback", "--via", "dataplane")
    assert plan.exit_code == 3, plan.stderr
    # The weights cannot be read: the plan says traffic goes where they send it.
    assert "traffic goes where the weights send it (they cannot be read now" in plan.stdout
    # The primary's own signals are in us-east-1 too: the preflight refuses until overridden.
    refused = invoke(runner, world, "fallback", "--via", "dataplane", "--approve", "--reason", "ok")
    assert_one_line_error(refused, 4, "preflight refused fallback to primary")
    assert world.lever_alarm() == "ALARM"
    result = invoke(
        runner,
        world,
        "fallback",
        "--via",
        "dataplane",
        "--approve",
        "--force",
        "--reason",
        "ok",
        "--timeout",
        "30",
    )
    assert result.exit_code == 0, result.stderr
    assert "DNS: 8/8 answers: primary 8" in result.stdout
    assert world.lever_alarm() == "OK"
    (record,) = world.audit_outcomes()
    assert (record["action"], record["after"]) == ("fallback", {"lever": "released"})


def test_fallback_with_nothing_to_undo_is_a_noop(
    runner: CliRunner, world: World, dataplane: DataPlane
) -> None:
    for via in ("auto", "dataplane"):
        result = invoke(runner, world, "fallback", "--via", via, "--approve", "--reason", "x")
        assert result.exit_code == 0, result.stderr
        assert "nothing to do" in result.stderr
    assert world.audit_lines() == []


def test_readiness_and_history_work_with_the_primary_down(
    runner: CliRunner, world: World, fault_proxy: FaultProxy
) -> None:
    fault_proxy.set_fault(PRIMARY, Fault.REFUSE)
    readiness = invoke(runner, world, "readiness", "--json")
    assert readiness.exit_code in (0, 4), readiness.stderr
    checks = {c["name"]: c["result"] for c in json.loads(readiness.stdout)["checks"]}
    assert checks["health-check"] == "warn"
    history = runner.invoke(app, ["history", "--json"])
    assert history.exit_code == 0, history.stderr


# The secondary's Region dark after a failover by the weights: the way back must still work ---


def _lever_check_health(world: World, healthy: bool) -> None:
    """Route 53's HealthCheckStatus for the lever's own check (it keeps its last known status
    while the lever's alarm cannot be evaluated)."""
    assert world.topology.out_of_service is not None
    check_id = world.topology.out_of_service.health_check_id
    world.client("cloudwatch").put_metric_data(
        Namespace="AWS/Route53",
        MetricData=[
            {
                "MetricName": "HealthCheckStatus",
                "Dimensions": [{"Name": "HealthCheckId", "Value": check_id}],
                "Value": 1.0 if healthy else 0.0,
            }
        ],
    )


@pytest.mark.parametrize("fault", [Fault.REFUSE, Fault.HANG])
def test_fallback_by_the_weights_works_with_the_secondary_region_dark(
    runner: CliRunner,
    world: World,
    fault_proxy: FaultProxy,
    monkeypatch: pytest.MonkeyPatch,
    fault: Fault,
) -> None:
    # A held Region costs this per round of reads (two here); it leaves a loaded machine (the
    # whole suite on two workers) time to answer the other Region.
    monkeypatch.setenv("OPSCTL_READ_DEADLINE", "15")
    world.set_weights(0, 100)  # a failover by the weights, then the secondary's Region went dark
    _lever_check_health(world, healthy=True)
    fault_proxy.set_fault(SECONDARY, fault)

    result = invoke(
        runner, world, "fallback", "--approve", "--reason", "INC-9 secondary dark", "--json"
    )
    assert result.exit_code == 0, result.stderr
    (note,) = json.loads(result.stdout)["plan"]["notes"]
    assert note.startswith("the lever reads released: its alarm could not be read (")
    assert "the audit log records no lever change" in note
    assert "Route 53 sees the lever's health check healthy" in note
    assert world.weights() == Weights(100, 0)


def test_fallback_with_the_lever_unreadable_and_audited_engaged_needs_via_weights(
    runner: CliRunner, world: World, fault_proxy: FaultProxy
) -> None:
    world.set_weights(0, 100)
    fault_proxy.set_fault(SECONDARY, Fault.REFUSE)
    world.audit_path.write_text(
        json.dumps(
            {
                "id": "e1",
                "phase": "outcome",
                "time": "2026-12-01T03:00:00Z",
                "action": "failover",
                "app": APP,
                "reason": "INC-8",
                "before": {"lever": "released"},
                "after": {"lever": "engaged"},
                "step": "lever",
                "applied": True,
                "changeId": "cloudwatch:us-west-2:PrimaryOutOfService=1@2026-12-01T03:00:00Z",
            }
        )
        + "\n"
    )
    refused = invoke(runner, world, "fallback", "--approve", "--reason", "INC-8 back")
    assert_one_line_error(refused, 1, "the data-plane lever's state is engaged (its alarm could")
    assert "`--via weights` moves the weights anyway; nothing changed" in refused.stderr
    assert world.weights() == Weights(0, 100)

    result = invoke(
        runner, world, "fallback", "--via", "weights", "--approve", "--reason", "INC-8 back"
    )
    assert result.exit_code == 0, result.stderr
    assert "traffic follows the weights only while the lever is released" in result.stdout
    assert world.weights() == Weights(100, 0)


def test_failover_via_weights_moves_the_weights_while_the_lever_is_engaged(
    runner: CliRunner, world: World, dataplane: DataPlane
) -> None:
    _engaged_earlier(world)
    result = invoke(runner, world, "failover", "--via", "weights", "--approve", "--reason", "x")
    assert result.exit_code == 0, result.stderr
    assert "nothing to do" not in result.stderr
    assert world.weights() == Weights(0, 100)
    assert world.lever_alarm() == "ALARM"


@pytest.mark.parametrize(
    ("weights", "goes", "dns"),
    [
        ((0, 100), "no traffic moves (the weights send all of it to the secondary)", "secondary 8"),
        ((50, 50), "traffic goes where the weights send it (primary 50 / secondary 50)", "primary"),
    ],
)
def test_a_lever_release_says_where_the_weights_send_traffic_and_confirms_that(
    runner: CliRunner,
    world: World,
    dataplane: DataPlane,
    weights: tuple[int, int],
    goes: str,
    dns: str,
) -> None:
    """Weights changed while the lever was engaged: a release alone sends traffic where they do,
    and the confirmation waits for that, not for a DNS state that cannot come."""
    _engaged_earlier(world)
    world.set_weights(*weights)
    plan = invoke(runner, world, "fallback", "--via", "dataplane", "--json")
    assert plan.exit_code == 3, plan.stderr
    assert json.loads(plan.stdout)["plan"]["steps"] == [f"release the lever: {goes}"]
    result = invoke(
        runner,
        world,
        "fallback",
        "--via",
        "dataplane",
        "--approve",
        "--reason",
        "x",
        "--timeout",
        "30",
    )
    assert result.exit_code == 0, result.stderr
    assert dns in result.stdout.split("DNS: ", 1)[1]
    assert world.lever_alarm() == "OK"


# The lever path reports what it applied, as the weights path does ------------------------------


def _engaged_this_minute(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """A lever engage published 10 s into this minute, with opsctl's lever reading the clock
    20 s into it: the release needs a later minute, 40 s away, however slowly the machine runs
    the command (a real clock could cross the minute mid-test)."""
    minute = datetime.now(UTC).replace(second=0, microsecond=0)
    _engaged_at(world, minute + timedelta(seconds=10))
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

    monkeypatch.setattr("opsctl.change.routing._poll", interrupted)
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

    monkeypatch.setattr("opsctl.change.routing.Clock", lambda: Clock(sleep=sleep_until_interrupted))
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
    _engaged_earlier(world, minutes=0)  # another operator's engage lands after our plan
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
    monkeypatch.setattr("opsctl.change.routing.REASSERT_INTERVAL", 0.3)  # a minute, scaled
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
    monkeypatch.setattr("opsctl.change.routing.REASSERT_INTERVAL", 0.3)
    fault_proxy.set_fault(PRIMARY, Fault.REFUSE)
    dataplane.lose_engage_datapoints(1)
    _engaged_earlier(world)  # the alarm is in ALARM, but Route 53 missed the datapoint
    assert "secondary" not in _dns(runner, world)

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
    _engaged_earlier(world)
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
