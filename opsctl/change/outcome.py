"""What became of each change a shift submitted, audited whatever ended it, and the abort report.

Every change Route 53 applied gets its outcome line in the audit log, also when the wait for INSYNC
times out, fails or is interrupted (`wait_and_audit`), and also when Route 53 gave no answer to the
change: the records are then re-read to tell whether it was applied (`settle_unanswered`). When a
shift stops after a change was applied, `abort_report` says which steps were applied and what the
weights are now, read back from Route 53 within a bound (`read_back`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from opsctl.change.audit import AuditLog
from opsctl.change.audit_record import AuditRecord
from opsctl.change.route53 import wait_insync
from opsctl.errors import AwsError, OpsctlError
from opsctl.model import Clock, Weights
from opsctl.read.concurrent_reads import Outcome, gather
from opsctl.read.records import read_records
from stack_topology import Topology

# The audit line's change id for a change Route 53 applied without answering the request.
UNCONFIRMED_CHANGE_ID = "unconfirmed"
# Seconds an abort spends re-reading the records for its report: bounded, so a Route 53 that does
# not answer cannot hold up an interrupted opsctl (the report then says the read failed).
READ_BACK_TIMEOUT = 2.0


@dataclass(frozen=True)
class AppliedChange:
    """A step whose change Route 53 applied (whether or not it reached INSYNC)."""

    step: int  # 1-based
    before: Weights
    after: Weights
    change_id: str


def read_back(route53: Any, topology: Topology) -> Outcome[Weights]:
    """The weights as Route 53 returns them now, for an abort's report; an error after
    READ_BACK_TIMEOUT seconds at most."""
    what = "the weighted records"
    outcomes = gather({what: lambda: read_records(route53, topology).weights}, READ_BACK_TIMEOUT)
    return outcomes[what]


def abort_report(
    applied: Sequence[AppliedChange], total: int, weights_now: Outcome[Weights]
) -> str:
    """`applied: step 1/3 A -> B (change C); not applied: step 2/3, step 3/3; weights now (read
    back): B`. The step numbers are left out of a one-step shift."""

    def label(step: int) -> str:
        return f"step {step}/{total} " if total > 1 else ""

    changes = ", ".join(
        f"{label(c.step)}{c.before} -> {c.after} (change {c.change_id})" for c in applied
    )
    parts = [f"applied: {changes}"]
    remaining = range(applied[-1].step + 1, total + 1)
    if remaining:
        parts.append("not applied: " + ", ".join(f"step {n}/{total}" for n in remaining))
    if weights_now.error is None:
        parts.append(f"weights now (read back): {weights_now.value}")
    else:
        parts.append(
            f"the weights could not be read back ({weights_now.error.message}); run `opsctl status`"
        )
    return "; ".join(parts)


def _what_ended(failure: BaseException, doing: str) -> str:
    """An outcome's detail: the error's message, or which signal interrupted what."""
    if isinstance(failure, OpsctlError):
        return failure.message
    return f"interrupted ({str(failure) or 'SIGINT'}) while {doing}"


def settle_unanswered(
    route53: Any,
    topology: Topology,
    before: Weights,
    after: Weights,
    intent: AuditRecord,
    audit_log: AuditLog,
    failure: BaseException,
) -> tuple[str, bool]:
    """Route 53 gave no answer to the change (it failed, or opsctl was interrupted while it was in
    flight): re-read the records to tell what happened, and audit that as the intent's outcome.
    Returns what was found and whether the change was applied. An applied change's outcome has
    change id UNCONFIRMED_CHANGE_ID (only the lost answer held its id, so its propagation cannot
    be awaited). A failure to write the outcome is added to `failure`."""
    now = read_back(route53, topology)
    applied: bool | None = None  # not known: the re-read failed, or someone else changed them
    if now.error is not None:
        found = (
            f"re-reading the records failed ({now.error.message}): the change may or may not "
            "have been applied; run `opsctl status` before retrying"
        )
    elif now.value == after:
        applied = True
        found = (
            f"the records now show {after}: the change was applied (audited without a change "
            "id; INSYNC was not awaited)"
        )
    elif now.value == before:
        applied = False
        found = (
            f"the records still show {before}: not applied so far. Run `opsctl status` before "
            "retrying"
        )
    else:
        found = (
            f"the records now show {now.value}, neither {before} nor {after}: someone else "
            "changed them. Run `opsctl status`"
        )
    audit_log.record_outcome(
        intent.outcome(
            applied=applied,
            change_id=UNCONFIRMED_CHANGE_ID if applied else None,
            detail=f"{_what_ended(failure, 'submitting')}; {found}",
        ),
        failure,
    )
    return found, bool(applied)


def wait_and_audit(
    route53: Any,
    change_id: str,
    audit_log: AuditLog,
    intent: AuditRecord,
    *,
    timeout: float,
    poll_interval: float | None,
    on_poll: Callable[[str, float], None] | None,
    clock: Clock,
) -> float:
    """Wait for INSYNC, then append the outcome line: also when the wait times out, fails or is
    interrupted, because the change was applied either way."""
    insync: float | None = None
    failure: BaseException | None = None
    try:
        insync = wait_insync(
            route53,
            change_id,
            timeout=timeout,
            poll_interval=poll_interval,
            on_poll=on_poll,
            clock=clock,
        )
        return insync
    except AwsError as error:
        failure = AwsError(
            f"change {change_id} was applied, but waiting for INSYNC failed: {error.message}"
        )
        raise failure from None
    except KeyboardInterrupt as interrupt:
        interrupt.add_note(
            f"change {change_id} was applied and is in the audit log; it was still propagating "
            f"(check it with `aws route53 get-change --id {change_id}`)"
        )
        failure = interrupt
        raise
    except BaseException as other:  # the INSYNC timeout, or anything else ending the wait
        failure = other
        raise
    finally:
        detail = None if failure is None else _what_ended(failure, "waiting for INSYNC")
        audit_log.record_outcome(
            intent.outcome(applied=True, change_id=change_id, insync_seconds=insync, detail=detail),
            failure,
        )
