"""What became of a change, decided from Route 53's answers (botocore's Stubber, no emulator): the
outcome line each ending writes, what an unanswered change turns out to be, and the abort report."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from opsctl.change import audit
from opsctl.change.audit import AuditLog
from opsctl.change.audit_record import Actor, AuditRecord
from opsctl.change.outcome import (
    UNCONFIRMED_CHANGE_ID,
    AppliedChange,
    abort_report,
    read_back,
    settle_unanswered,
    wait_and_audit,
)
from opsctl.errors import AwsError, AwsUnreachable, ChangeTimeoutError, ChangeUnconfirmedError
from opsctl.model import Weights
from opsctl.read.concurrent_reads import Outcome
from opsctl.topology import parse_topology
from stack_topology import Topology
from tests.opsctl.samples import FakeClock
from tests.support.stack import REGIONS, topology_document, weighted_record

pytestmark = pytest.mark.unit

BEFORE, AFTER = Weights(100, 0), Weights(0, 100)
ELSEWHERE = Weights(50, 50)


@pytest.fixture
def topology() -> Topology:
    return parse_topology(topology_document())


@pytest.fixture
def audit_log(tmp_path: Path) -> AuditLog:
    return AuditLog(tmp_path / "audit.jsonl")


@pytest.fixture
def intent(audit_log: AuditLog) -> AuditRecord:
    """A failover's intent, on disk as apply writes it before submitting the change."""
    record = AuditRecord.intent(
        action="failover",
        app="app",
        actor=Actor("arn:aws:iam::123456789012:user/operator", "operator"),
        reason="INC-42",
        before=BEFORE.as_dict(),
        after=AFTER.as_dict(),
        read=[],
    )
    audit_log.append(record)
    return record


def outcome_line(audit_log: AuditLog) -> dict[str, Any]:
    """The one outcome line, after its intent."""
    intent, outcome = [json.loads(line) for line in audit_log.path.read_text().splitlines()]
    assert (intent["phase"], outcome["phase"], outcome["id"]) == ("intent", "outcome", intent["id"])
    return dict(outcome)


def records_show(stubber: Stubber, weights: Weights) -> None:
    """Route 53's next ListResourceRecordSets answer: the pair at `weights`."""
    stubber.add_response(
        "list_resource_record_sets",
        {
            "ResourceRecordSets": [
                weighted_record(REGIONS["primary"], weights.primary),
                weighted_record(REGIONS["secondary"], weights.secondary),
            ],
            "IsTruncated": False,
            "MaxItems": "100",
        },
    )


def change_is(stubber: Stubber, status: str) -> None:
    stubber.add_response(
        "get_change",
        {"ChangeInfo": {"Id": "/change/C0123", "Status": status, "SubmittedAt": "2026-01-01"}},
        {"Id": "C0123"},
    )


# The abort report.


def test_the_abort_report_names_the_applied_steps_the_rest_and_the_weights_read_back() -> None:
    applied = [AppliedChange(1, Weights(0, 100), Weights(10, 90), "C1")]
    report = abort_report(applied, 3, Outcome(Weights(10, 90)))
    assert report == (
        "applied: step 1/3 primary 0 / secondary 100 -> primary 10 / secondary 90 (change C1); "
        "not applied: step 2/3, step 3/3; weights now (read back): primary 10 / secondary 90"
    )


def test_the_abort_report_of_a_one_step_shift_has_no_step_numbers() -> None:
    report = abort_report([AppliedChange(1, BEFORE, AFTER, "C1")], 1, Outcome(AFTER))
    assert report == (
        "applied: primary 100 / secondary 0 -> primary 0 / secondary 100 (change C1); "
        "weights now (read back): primary 0 / secondary 100"
    )


def test_the_abort_report_says_when_the_weights_could_not_be_read_back() -> None:
    unread = Outcome[Weights](None, AwsUnreachable("no answer within 2s"))
    report = abort_report([AppliedChange(2, Weights(10, 90), Weights(50, 50), "C2")], 3, unread)
    assert report.endswith(
        "not applied: step 3/3; the weights could not be read back (no answer within 2s); "
        "run `opsctl status`"
    )


def test_reading_back_gives_up_after_its_bound_when_route53_does_not_answer(
    topology: Topology, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("opsctl.change.outcome.READ_BACK_TIMEOUT", 0.2)
    released = threading.Event()

    class SilentRoute53:
        def list_resource_record_sets(self, **_: Any) -> dict[str, Any]:
            released.wait(10)  # a request Route 53 never answers
            return {}

    started = time.monotonic()
    try:
        weights = read_back(SilentRoute53(), topology)
    finally:
        released.set()
    assert time.monotonic() - started < 2
    assert weights.value is None
    assert isinstance(weights.error, AwsUnreachable)
    assert "no answer within 0.2s while reading the weighted records" in weights.error.message


# A change Route 53 did not answer: settled by re-reading the records.


@pytest.mark.parametrize(
    ("now", "applied", "change_id", "found"),
    [
        (AFTER, True, UNCONFIRMED_CHANGE_ID, "the change was applied (audited without a change id"),
        (BEFORE, False, None, "the records still show primary 100 / secondary 0: not applied"),
        (ELSEWHERE, None, None, "neither primary 100 / secondary 0 nor primary 0 / secondary 100"),
    ],
    ids=["applied", "not-applied", "someone-else-changed-them"],
)
def test_an_unanswered_change_is_audited_as_what_the_records_show_now(
    stubbed_route53: tuple[Any, Stubber],
    topology: Topology,
    audit_log: AuditLog,
    intent: AuditRecord,
    now: Weights,
    applied: bool | None,
    change_id: str | None,
    found: str,
) -> None:
    route53, stubber = stubbed_route53
    records_show(stubber, now)
    lost = ChangeUnconfirmedError("Route 53 did not answer the change request (read timeout)")
    said, was_applied = settle_unanswered(route53, topology, BEFORE, AFTER, intent, audit_log, lost)
    assert found in said
    assert was_applied is bool(applied)
    line = outcome_line(audit_log)
    assert (line["applied"], line["changeId"], line["insync"]) == (applied, change_id, False)
    assert line["detail"] == f"{lost.message}; {said}"


def test_an_unanswered_change_whose_records_cannot_be_reread_may_or_may_not_be_applied(
    stubbed_route53: tuple[Any, Stubber],
    topology: Topology,
    audit_log: AuditLog,
    intent: AuditRecord,
) -> None:
    route53, stubber = stubbed_route53
    stubber.add_client_error("list_resource_record_sets", "AccessDenied", "not authorized", 403)
    said, was_applied = settle_unanswered(
        route53, topology, BEFORE, AFTER, intent, audit_log, AwsError("lost")
    )
    assert not was_applied
    assert said.startswith("re-reading the records failed (")
    assert "the change may or may not have been applied" in said
    assert outcome_line(audit_log)["applied"] is None


def test_a_submit_interrupted_by_ctrl_c_is_audited_as_interrupted_while_submitting(
    stubbed_route53: tuple[Any, Stubber],
    topology: Topology,
    audit_log: AuditLog,
    intent: AuditRecord,
) -> None:
    route53, stubber = stubbed_route53
    records_show(stubber, BEFORE)
    settle_unanswered(route53, topology, BEFORE, AFTER, intent, audit_log, KeyboardInterrupt())
    assert outcome_line(audit_log)["detail"].startswith("interrupted (SIGINT) while submitting; ")


# An applied change: its outcome is audited however the wait for INSYNC ends.


def wait(route53: Any, audit_log: AuditLog, intent: AuditRecord, clock: FakeClock) -> float:
    return wait_and_audit(
        route53,
        "C0123",
        audit_log,
        intent,
        timeout=60,
        poll_interval=10,
        on_poll=None,
        clock=clock.clock(),
    )


def test_a_change_reaching_insync_is_audited_with_its_seconds(
    stubbed_route53: tuple[Any, Stubber], audit_log: AuditLog, intent: AuditRecord
) -> None:
    route53, stubber = stubbed_route53
    change_is(stubber, "PENDING")
    change_is(stubber, "INSYNC")
    assert wait(route53, audit_log, intent, FakeClock()) == 10
    line = outcome_line(audit_log)
    assert (line["applied"], line["changeId"], line["insync"]) == (True, "C0123", True)
    assert (line["insyncSeconds"], line["detail"]) == (10, None)


def test_a_change_still_pending_at_the_timeout_is_audited_as_applied_not_insync(
    stubbed_route53: tuple[Any, Stubber], audit_log: AuditLog, intent: AuditRecord
) -> None:
    route53, stubber = stubbed_route53
    for _ in range(7):  # at 0, 10, ... 60 s
        change_is(stubber, "PENDING")
    with pytest.raises(ChangeTimeoutError) as timed_out:
        wait(route53, audit_log, intent, FakeClock())
    line = outcome_line(audit_log)
    assert (line["applied"], line["changeId"], line["insync"]) == (True, "C0123", False)
    assert line["detail"] == timed_out.value.message
    assert "was applied but is still PENDING after 60s" in line["detail"]


def test_an_aws_error_while_waiting_says_the_change_was_applied(
    stubbed_route53: tuple[Any, Stubber], audit_log: AuditLog, intent: AuditRecord
) -> None:
    route53, stubber = stubbed_route53
    stubber.add_client_error("get_change", "AccessDenied", "not authorized to GetChange", 403)
    with pytest.raises(AwsError) as failed:
        wait(route53, audit_log, intent, FakeClock())
    assert failed.value.message.startswith(
        "change C0123 was applied, but waiting for INSYNC failed: "
    )
    line = outcome_line(audit_log)
    assert (line["applied"], line["insync"], line["detail"]) == (True, False, failed.value.message)


def test_ctrl_c_while_waiting_is_audited_and_notes_how_to_follow_the_change(
    audit_log: AuditLog, intent: AuditRecord
) -> None:
    class InterruptedRoute53:
        def get_change(self, **_: Any) -> dict[str, Any]:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as interrupted:
        wait(InterruptedRoute53(), audit_log, intent, FakeClock())
    (note,) = interrupted.value.__notes__
    assert "change C0123 was applied and is in the audit log" in note
    assert "aws route53 get-change --id C0123" in note
    line = outcome_line(audit_log)
    assert (line["applied"], line["changeId"], line["insync"]) == (True, "C0123", False)
    assert line["detail"] == "interrupted (SIGINT) while waiting for INSYNC"


def test_an_outcome_the_disk_refuses_is_added_to_what_ended_the_wait(
    stubbed_route53: tuple[Any, Stubber],
    audit_log: AuditLog,
    intent: AuditRecord,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    route53, stubber = stubbed_route53
    stubber.add_client_error("get_change", "AccessDenied", "not authorized to GetChange", 403)
    real_write = os.write  # the intent is on disk; the disk fills up before the outcome line
    monkeypatch.setattr(audit.os, "write", lambda fd, data: real_write(fd, data[: len(data) // 2]))
    with pytest.raises(AwsError) as failed:
        wait(route53, audit_log, intent, FakeClock())
    assert "waiting for INSYNC failed" in failed.value.message
    assert (
        "only the intent of failover is recorded, not its outcome (applied, change id C0123)"
        in (failed.value.message)
    )
