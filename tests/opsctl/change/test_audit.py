"""The audit log never loses or corrupts a record: the intent is on disk before the change is
submitted, the outcome after it, each as one whole line; a failed write is reported and changes
the exit code, and a write the disk cut short is taken back; a torn line (a crash) is reported by
`history` and never continued."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from opsctl.change import apply as shiftapply
from opsctl.change import audit
from opsctl.change.audit import AuditLog
from opsctl.change.audit_record import Actor, AuditRecord
from opsctl.cli.app import app
from opsctl.model import ChangeAction, LeverPosition, Weights
from opsctl.sandbox.emulator import Emulator
from tests.opsctl.running import assert_one_line_error, failover_waiting_for_insync, invoke
from tests.opsctl.world import World


def _intent(reason: str = "INC-1") -> AuditRecord:
    return AuditRecord.intent(
        action="failover",
        app="app",
        actor=Actor("arn:aws:iam::123456789012:user/op", "op"),
        reason=reason,
        before={"primary": 100, "secondary": 0},
        after={"primary": 0, "secondary": 100},
        read=[],
    )


def test_the_intent_is_on_disk_before_the_change_is_submitted(
    runner: CliRunner, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_submit = shiftapply.submit_change
    seen_at_submit: list[list[dict[str, Any]]] = []

    def submit(*args: Any, **kwargs: Any) -> str:
        seen_at_submit.append(world.audit_lines())
        return real_submit(*args, **kwargs)

    monkeypatch.setattr(shiftapply, "submit_change", submit)
    result = invoke(runner, world, "failover", "--approve", "--reason", "INC-1")
    assert result.exit_code == 0, result.stderr
    ((intent,),) = seen_at_submit
    assert intent["phase"] == "intent"
    assert (intent["reason"], intent["action"]) == ("INC-1", "failover")
    assert intent["actorArn"].startswith("arn:aws:")
    assert (intent["before"], intent["after"]) == (
        {"primary": 100, "secondary": 0},
        {"primary": 0, "secondary": 100},
    )
    # The records as read just before the submit, exactly as Route 53 returned them.
    assert sorted((r["SetIdentifier"], r["Weight"]) for r in intent["read"]) == [
        ("us-east-1", 100),
        ("us-west-2", 0),
    ]
    first, outcome = world.audit_lines()
    assert first == intent
    assert (outcome["phase"], outcome["id"]) == ("outcome", intent["id"])
    assert (outcome["applied"], outcome["insync"]) == (True, True)
    assert outcome["changeId"] and outcome["insyncSeconds"] >= 0


def test_kill_9_while_waiting_for_insync_leaves_the_intent_and_history_says_so(
    runner: CliRunner, world: World, emulator: Emulator
) -> None:
    with failover_waiting_for_insync(world, emulator, world.audit_path, "INC-kill") as process:
        process.kill()  # SIGKILL: no handler runs, nothing more is written
        process.communicate(timeout=30)
    (intent,) = world.audit_lines()
    assert (intent["phase"], intent["reason"]) == ("intent", "INC-kill")
    table = runner.invoke(app, ["history"])
    assert table.exit_code == 0
    assert "INC-kill" in table.stdout and "no outcome recorded" in table.stdout
    (entry,) = json.loads(runner.invoke(app, ["history", "--json"]).stdout)
    assert entry == intent


def test_history_shows_the_audit(runner: CliRunner, world: World) -> None:
    assert invoke(runner, world, "failover", "--approve", "--reason", "INC-9").exit_code == 0
    assert invoke(runner, world, "fallback", "--approve", "--reason", "INC-9 done").exit_code == 0
    table = runner.invoke(app, ["history"])
    assert table.exit_code == 0
    assert "failover" in table.stdout and "INC-9 done" in table.stdout
    last = runner.invoke(app, ["history", "--json", "--limit", "1"])
    (record,) = json.loads(last.stdout)
    assert (record["action"], record["reason"]) == ("fallback", "INC-9 done")


def test_history_of_an_empty_or_corrupt_log(runner: CliRunner, world: World) -> None:
    empty = runner.invoke(app, ["history"])
    assert empty.exit_code == 0
    assert "no approved changes recorded" in empty.stderr
    world.audit_path.write_text("not json\n")
    broken = runner.invoke(app, ["history"])
    assert broken.exit_code == 0
    assert "line 1 is not an audit record (not valid JSON); skipped" in broken.stderr


def test_history_reads_a_torn_last_line_and_the_next_record_starts_a_new_line(
    runner: CliRunner, world: World
) -> None:
    log = AuditLog(world.audit_path)
    log.append(_intent("before the crash"))
    whole = world.audit_path.read_bytes()
    with world.audit_path.open("ab") as file:
        file.write(whole[: len(whole) // 2])  # a write cut short: no newline
    torn = runner.invoke(app, ["history"])
    assert torn.exit_code == 0
    assert "before the crash" in torn.stdout
    assert "the last line (2) is torn" in torn.stderr
    log.append(_intent("after the crash"))
    lines = world.audit_path.read_text().split("\n")
    assert json.loads(lines[2])["reason"] == "after the crash"  # not glued onto the torn one
    later = runner.invoke(app, ["history"])
    assert later.exit_code == 0
    assert "before the crash" in later.stdout and "after the crash" in later.stdout
    assert "line 2 is not an audit record (not valid JSON); skipped" in later.stderr


def test_each_line_is_one_write_and_is_synced(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real_write, real_fsync = os.write, os.fsync
    monkeypatch.setattr(
        audit.os, "write", lambda fd, data: calls.append("write") or real_write(fd, data)
    )
    monkeypatch.setattr(audit.os, "fsync", lambda fd: calls.append("fsync") or real_fsync(fd))
    AuditLog(world.audit_path).append(_intent())
    assert calls == ["write", "fsync"]
    assert world.audit_path.read_text().endswith("}\n")


def _short_write_on(call: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The `call`-th audit write (1: the intent, 2: the outcome) hits a full disk: half of the
    line is written."""
    real_write = os.write
    count = 0

    def write(fd: int, data: bytes) -> int:
        nonlocal count
        count += 1
        return real_write(fd, data[: len(data) // 2] if count == call else data)

    monkeypatch.setattr(audit.os, "write", write)


def test_a_full_disk_on_the_intent_changes_nothing(
    runner: CliRunner, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _short_write_on(1, monkeypatch)
    result = invoke(runner, world, "failover", "--approve", "--reason", "INC-2")
    assert_one_line_error(
        result,
        1,
        f"the audit log {world.audit_path} could not be written: only ",
    )
    assert result.stderr.rstrip().endswith("bytes were written; nothing changed")
    assert world.weights() == Weights(100, 0)
    assert world.audit_path.read_bytes() == b""  # no half line left behind


def test_a_full_disk_on_the_outcome_is_reported_and_fails_the_command(
    runner: CliRunner, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _short_write_on(2, monkeypatch)
    result = invoke(runner, world, "failover", "--approve", "--reason", "INC-3")
    assert_one_line_error(result, 1, f"the audit log {world.audit_path} could not be written")
    assert "only the intent of failover is recorded, not its outcome (applied, change id" in (
        result.stderr
    )
    assert world.weights() == Weights(0, 100)
    # The half-written outcome was taken back: the log ends with the intent, whole.
    assert world.audit_path.read_text().count("\n") == 1
    history = runner.invoke(app, ["history"])
    assert history.exit_code == 0
    assert "torn" not in history.stderr
    assert "no outcome recorded" in history.stdout


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"time": 1764400000}, "time has the wrong type (int)"),
        ({"time": None}, "time is missing"),
        ({"forced": "false"}, "forced has the wrong type (str)"),
        ({"applied": 1}, "applied has the wrong type (int)"),
        ({"insyncSeconds": "fast"}, "insyncSeconds has the wrong type (str)"),
        ({"before": [1, 2]}, "before has the wrong type (list)"),
        ({"phase": "maybe"}, "phase is 'maybe'"),
    ],
)
def test_odd_types_in_a_line_are_reported_never_guessed(
    runner: CliRunner, world: World, change: dict[str, Any], why: str
) -> None:
    good = _intent("good").outcome(applied=True, change_id="C1")
    odd = {**_intent("odd").outcome(applied=True, change_id="C2").to_json(), **change}
    world.audit_path.write_text(json.dumps(good.to_json()) + "\n" + json.dumps(odd) + "\n")
    result = runner.invoke(app, ["history", "--json"])
    assert result.exit_code == 0, result.stderr
    assert [entry["reason"] for entry in json.loads(result.stdout)] == ["good"]
    assert f"line 2 is not an audit record ({why}); skipped" in result.stderr


def test_a_line_from_before_intents_reads_as_an_applied_change(
    runner: CliRunner, world: World
) -> None:
    legacy = {"time": "2026-01-01T00:00:00Z", "action": "failover", "changeId": "C9",
              "reason": "old", "insyncSeconds": 41.5, "forced": False}  # fmt: skip
    world.audit_path.write_text(json.dumps(legacy) + "\n")
    (entry,) = json.loads(runner.invoke(app, ["history", "--json"]).stdout)
    assert (entry["applied"], entry["insync"], entry["changeId"]) == (True, True, "C9")


@pytest.mark.parametrize("action", list(ChangeAction))
def test_each_action_is_written_as_its_word_and_read_back_as_itself(
    tmp_path: Path, action: ChangeAction
) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    intent = AuditRecord.intent(
        action=action,
        app="app",
        actor=Actor("arn:aws:iam::123456789012:user/op", "op"),
        reason="INC-1",
        before={"lever": LeverPosition.RELEASED},
        after={"lever": LeverPosition.ENGAGED},
        read=[],
    )
    log.append(intent)
    log.append(intent.outcome(applied=True, change_id="C1"))
    (line, _) = (json.loads(raw) for raw in log.path.read_text().splitlines())
    assert (line["action"], line["after"]) == (str(action), {"lever": "engaged"})
    (entry,) = log.read().entries
    assert entry.action is action
    assert entry.after == {"lever": LeverPosition.ENGAGED}


def test_a_log_written_by_an_earlier_version_reads_with_its_actions(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    log.write_text(
        '{"action": "failover", "actorArn": "arn:aws:iam::123456789012:user/op", "after": '
        '{"lever": "engaged"}, "app": "app", "before": {"lever": "released"}, "changeId": '
        '"cloudwatch:eu-west-1:OutOfService=1@2026-01-01T00:00:00Z", "detail": null, "forced": '
        'false, "id": "a1", "applied": true, "insync": false, "insyncSeconds": null, '
        '"localUser": "op", "overridden": [], "phase": "outcome", "reason": "INC-1", "step": '
        '"lever", "time": "2026-01-01T00:00:00Z"}\n'
        '{"action": "switch", "actorArn": "arn", "after": {"primary": "failing"}, "app": "app", '
        '"before": {"primary": "healthy"}, "id": "b2", "phase": "intent", "reason": "drill", '
        '"read": [], "time": "2026-01-01T00:01:00Z"}\n'
        # An action this version does not know (a later one wrote it) reads as written.
        '{"action": "drain", "time": "2026-01-01T00:02:00Z"}\n'
    )
    history = AuditLog(log).read()
    actions = [entry.action for entry in history.entries]
    assert actions == [ChangeAction.FAILOVER, ChangeAction.SWITCH, "drain"]
    assert [type(action) for action in actions] == [ChangeAction, ChangeAction, str]
    assert history.last_change("app", "lever") == history.entries[0]
    assert history.skipped == []


def _fifo(tmp_path: Path) -> Path:
    fifo = tmp_path / "audit.fifo"
    os.mkfifo(fifo)
    return fifo


@pytest.mark.parametrize("make", [_fifo, lambda _: Path("/dev/zero")], ids=["fifo", "dev-zero"])
def test_a_fifo_or_device_as_the_audit_log_is_refused_at_once(
    runner: CliRunner,
    world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make: Any,
) -> None:
    path = make(tmp_path)
    monkeypatch.setenv("OPSCTL_AUDIT_LOG", str(path))
    done: list[Any] = []
    worker = threading.Thread(
        target=lambda: done.append(
            (
                runner.invoke(app, ["history"]),
                invoke(runner, world, "failover", "--approve", "--reason", "x"),
            )
        ),
        daemon=True,
    )
    worker.start()
    worker.join(timeout=60)
    assert done, "opsctl blocked on the audit path"
    history, failover = done[0]
    assert_one_line_error(history, 1, f"cannot read audit log {path}: not a regular file")
    assert_one_line_error(failover, 1, f"cannot write the audit log {path}: not a regular file")
    assert world.weights() == Weights(100, 0)
