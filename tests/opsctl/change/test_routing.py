"""Failing over and back without us-east-1: which way a change goes (the weights or the data-plane
lever), end to end through the CLI, including the way back with the secondary's Region dark.

The fault proxy refuses every request signed for us-east-1 (Route 53's control plane, us-east-1
CloudWatch and STS's global endpoint go with it); the DataPlane fixture evaluates the lever alarm
like CloudWatch and answers the shared name like Route 53's name servers."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from opsctl.cli.app import app
from opsctl.model import Weights
from opsctl.sandbox.faults.proxy import Fault, FaultProxy
from tests.opsctl.dataplane import DataPlane
from tests.opsctl.running import assert_one_line_error, dns_answers, invoke
from tests.opsctl.world import World
from tests.support.stack import APP, REGIONS

PRIMARY = REGIONS["primary"]
SECONDARY = REGIONS["secondary"]


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
    world.engage_lever()
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
    assert dns_answers(runner, world) == {"primary": 8}
    nothing = invoke(runner, world, "fallback", "--approve", "--reason", "again")
    assert nothing.exit_code == 0, nothing.stderr
    assert "nothing to do" in nothing.stderr
    assert len(world.audit_outcomes()) == 3


def test_fallback_via_dataplane_without_the_control_plane_releases_the_lever(
    runner: CliRunner, world: World, dataplane: DataPlane, fault_proxy: FaultProxy
) -> None:
    world.engage_lever()
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
    world.engage_lever()
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
    world.engage_lever()
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
