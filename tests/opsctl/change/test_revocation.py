"""`opsctl revoke` and `opsctl revocations`: a token revoked through the same plan -> approve ->
apply flow and audit as every change, written where the authorizers read it."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from functions.authorizer.store import load_revoked_token_ids
from opsctl.change import revocation as revocation_core
from opsctl.change.revocation import iso, parse_until
from tests.opsctl.running import assert_one_line_error, invoke
from tests.opsctl.world import World
from tests.support.stack import APP

TABLE = f"{APP}-state"
JTI = "3f2a9c0e-5b7d-4e21-9a1c-0d8e7f6a5b4c"


def exp_in(hours: float) -> int:
    return int(time.time() + hours * 3600)


def revoke(runner: CliRunner, world: World, *args: str) -> Result:
    return invoke(runner, world, "revoke", *args)


def item(world: World, region: str, jti: str = JTI) -> dict[str, Any] | None:
    found = world.client("dynamodb", region).get_item(
        TableName=TABLE, Key={"pk": {"S": "revoked"}, "sk": {"S": jti}}
    )
    return found.get("Item")


def test_without_approval_shows_the_plan_and_changes_nothing(
    runner: CliRunner, world: World
) -> None:
    until = exp_in(2)
    result = revoke(runner, world, JTI, "--until", str(until))
    assert result.exit_code == 3, result.stderr
    assert f"token {JTI}: not revoked -> revoked until {iso(until)}" in result.stdout
    assert f"{TABLE} in us-east-1" in result.stdout
    assert item(world, "us-east-1") is None
    assert world.audit_lines() == []


def test_an_approved_revocation_is_what_the_authorizer_reads_and_is_audited(
    runner: CliRunner, world: World
) -> None:
    until = exp_in(2)
    result = revoke(
        runner, world, JTI, "--until", iso(until), "--approve", "--reason", "INC-7 leaked", "--json"
    )
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["result"]["changeId"] == f"dynamodb:us-east-1:{TABLE}:revoked/{JTI}"
    written = item(world, "us-east-1")
    assert written is not None
    assert written["expiresAt"] == {"N": str(until)}
    assert written["reason"] == {"S": "INC-7 leaked"}
    # The authorizer's own loader (functions/authorizer/store.py) finds it.
    assert JTI in load_revoked_token_ids(world.client("dynamodb", "us-east-1"), TABLE)
    (line,) = world.audit_outcomes()
    assert (line["action"], line["applied"], line["reason"]) == ("revoke", True, "INC-7 leaked")
    assert (line["before"], line["after"]) == ({JTI: None}, {JTI: until})

    listed = invoke(runner, world, "revocations", "--json")
    assert listed.exit_code == 0, listed.stderr
    (entry,) = json.loads(listed.stdout)["revocations"]
    assert (entry["jti"], entry["expiresAt"], entry["reason"]) == (JTI, until, "INC-7 leaked")
    table = invoke(runner, world, "revocations")
    assert JTI in table.stdout and iso(until) in table.stdout


def test_revoking_again_as_long_is_a_no_op_and_longer_extends(
    runner: CliRunner, world: World
) -> None:
    until = exp_in(1)
    assert (
        revoke(runner, world, JTI, "--until", str(until), "--approve", "--reason", "a").exit_code
        == 0
    )
    again = revoke(runner, world, JTI, "--until", str(until), "--approve", "--reason", "b")
    assert again.exit_code == 0
    assert "is already revoked until" in again.stderr and "nothing to do" in again.stderr
    longer = exp_in(3)
    extended = revoke(runner, world, JTI, "--until", str(longer), "--approve", "--reason", "c")
    assert extended.exit_code == 0, extended.stderr
    assert item(world, "us-east-1")["expiresAt"] == {"N": str(longer)}
    assert [line["after"] for line in world.audit_outcomes()] == [{JTI: until}, {JTI: longer}]


def test_the_secondary_replica_is_written_with_role_secondary(
    runner: CliRunner, world: World
) -> None:
    until = exp_in(1)
    result = revoke(
        runner,
        world,
        JTI,
        "--until",
        str(until),
        "--role",
        "secondary",
        "--approve",
        "--reason",
        "x",
    )
    assert result.exit_code == 0, result.stderr
    assert item(world, "us-west-2") is not None
    assert item(world, "us-east-1") is None


def test_a_revocation_written_since_the_plan_is_a_conflict(
    runner: CliRunner, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another operator revokes the same token between our plan and our write: the conditional
    put refuses (exit 5), theirs stays, and the audit says ours was not applied."""
    theirs = exp_in(5)
    real_actor = revocation_core.current_actor

    def actor_then_someone_writes(clients: Any, region: str) -> Any:
        world.client("dynamodb", region).put_item(
            TableName=TABLE,
            Item={
                "pk": {"S": "revoked"},
                "sk": {"S": JTI},
                "expiresAt": {"N": str(theirs)},
            },
        )
        return real_actor(clients, region)

    monkeypatch.setattr(revocation_core, "current_actor", actor_then_someone_writes)
    result = revoke(runner, world, JTI, "--until", str(exp_in(1)), "--approve", "--reason", "x")
    assert_one_line_error(result, 5, f"the revocation of {JTI} in {TABLE} (us-east-1) changed")
    assert item(world, "us-east-1")["expiresAt"] == {"N": str(theirs)}
    (line,) = world.audit_outcomes()
    assert (line["applied"], line["changeId"]) == (False, None)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--until", "2001-01-01T00:00:00Z"], "--until 2001-01-01T00:00:00Z is past"),
        (["--until", str(exp_in(1) * 1000)], "is more than a year ahead"),
        (["--until", "2030-01-01T00:00:00"], "has no UTC offset"),
        (["--until", "tomorrow"], "is neither epoch seconds nor an ISO 8601 time"),
        (["--until", str(exp_in(1)), "--approve"], "--reason is required with --approve"),
    ],
    ids=["past", "milliseconds", "no-offset", "words", "no-reason"],
)
def test_bad_input_is_a_usage_error_and_changes_nothing(
    runner: CliRunner, world: World, args: list[str], message: str
) -> None:
    result = revoke(runner, world, JTI, *args)
    assert_one_line_error(result, 2, "")
    assert message in result.stderr
    assert item(world, "us-east-1") is None


@pytest.mark.parametrize("jti", ["", " ", "a\x1bb", "x" * 1025])
def test_a_jti_dynamodb_or_a_terminal_cannot_take_is_refused(
    runner: CliRunner, world: World, jti: str
) -> None:
    result = revoke(runner, world, jti, "--until", str(exp_in(1)))
    assert result.exit_code == 2, result.stderr
    assert "the token id (jti)" in result.stderr


def test_until_takes_epoch_seconds_or_iso_with_offset() -> None:
    now = 1_800_000_000
    assert parse_until("1800003600", now=now) == 1_800_003_600
    assert parse_until("2027-03-01T09:00:00+01:00", now=now) == parse_until(
        "2027-03-01T08:00:00Z", now=now
    )


def test_an_applied_revocation_says_what_it_did_in_one_line() -> None:
    """The line printed when the result cannot be shown (a closed pipe): it was applied."""
    plan = revocation_core.RevokePlan(
        jti="c0ffee", expires_at=1_900_000_000, role="primary", region="us-east-1",
        table="app-state", current=None,
    )  # fmt: skip
    summary = revocation_core.RevokeResult(plan, change_id="audit-1").summary
    assert (
        summary
        == "token c0ffee revoked until 2030-03-17T17:46:40Z in app-state (us-east-1, audit-1)"
    )


def test_no_revocations_says_so(runner: CliRunner, world: World) -> None:
    result = invoke(runner, world, "revocations")
    assert result.exit_code == 0, result.stderr
    assert f"no revoked tokens in {TABLE} (us-east-1)" in result.stderr
