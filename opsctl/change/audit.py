"""The audit trail of approved changes: who, when, why, from -> to, and what AWS did with it.

Every approved change is recorded in the Route 53 change batch Comment (so CloudTrail keeps it
with the change) and as two JSON lines in the local audit log (`OPSCTL_AUDIT_LOG`, default
`$XDG_STATE_HOME/opsctl/audit.jsonl`, i.e. ~/.local/state/opsctl/audit.jsonl):

- the *intent*, written before the change is submitted: who, why, the plan and the records read;
- the *outcome*, written once AWS has answered: the change id, whether it was applied, INSYNC.

Both carry the same `id`; the outcome repeats the intent's fields, so it reads on its own. Each
line is one write(2) of the whole line with O_APPEND, then fsync. A write that fills the disk is
truncated back to the last whole line; a crash mid-write leaves at most a torn last line, which
`read` reports and the next `append` never continues.
"""

from __future__ import annotations

import getpass
import json
import os
from dataclasses import dataclass
from pathlib import Path

from opsctl.aws import AwsClients, translate_aws_errors
from opsctl.change.audit_record import Actor, AuditRecord
from opsctl.errors import OpsctlError
from opsctl.files import open_regular, read_regular_file
from opsctl.model import ChangeAction

AUDIT_LOG_ENV = "OPSCTL_AUDIT_LOG"
# Far beyond years of approved changes (a line is ~1 KiB); guards memory against a wrong path.
MAX_AUDIT_LOG_BYTES = 64 << 20


class AuditWriteError(OpsctlError):
    """A line could not be written to the audit log (disk full, permissions, not a file)."""


@dataclass(frozen=True)
class AuditHistory:
    """The log as read: one entry per change (its outcome, else its intent alone: opsctl stopped
    before the outcome was written), oldest first, and the lines that could not be read."""

    entries: list[AuditRecord]
    skipped: list[str]  # one note per unreadable line

    def last_change(self, app: str, step: str) -> AuditRecord | None:
        """The newest change of `app` at `step` (e.g. "lever") that was or may have been applied."""
        for record in reversed(self.entries):
            if record.app == app and record.step == step and record.applied is not False:
                return record
        return None


def default_audit_log() -> Path:
    configured = os.environ.get(AUDIT_LOG_ENV)
    if configured:
        return Path(configured).expanduser()
    state_home = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state_home) / "opsctl" / "audit.jsonl"


def current_actor(clients: AwsClients, region: str) -> Actor:
    """The caller identity, from STS's Regional endpoint in `region` (the Region the change is
    about, so recording it never depends on another Region); also proves the credentials work
    before anything changes."""
    with translate_aws_errors(f"reading the caller identity from STS in {region}"):
        arn = clients.client("sts", region).get_caller_identity()["Arn"]
    try:
        local_user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers): still record something
        local_user = os.environ.get("USER", "unknown")
    return Actor(arn=str(arn), local_user=local_user)


def change_comment(action: ChangeAction, actor: Actor, reason: str, before: str, after: str) -> str:
    """The Route 53 change batch Comment: who, why and from -> to, for CloudTrail."""
    return f"opsctl {action} by {actor.arn} ({actor.local_user}): {before} -> {after}; {reason}"


class AuditLog:
    """Append-only JSON-lines file: an intent line and an outcome line per approved change."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_audit_log()

    def _open_for_append(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # O_APPEND: each write lands at the end, so concurrent writers never interleave a line.
        return open_regular(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, "audit log")

    def ensure_writable(self) -> None:
        """Check, before a change is made, that its audit lines can be written."""
        try:
            os.close(self._open_for_append())
        except OSError as error:
            raise OpsctlError(
                f"cannot write the audit log {self.path}: {error.strerror}; nothing changed "
                f"(set {AUDIT_LOG_ENV} to a writable file)"
            ) from None

    def append(self, record: AuditRecord) -> None:
        """Write the record as one whole line (one write, then fsync); AuditWriteError if the
        line is not on disk, and then no part of it is. A torn last line (a crash mid-write) is
        ended first, never continued."""
        line = (json.dumps(record.to_json(), sort_keys=True) + "\n").encode("utf-8")
        try:
            fd = self._open_for_append()
            try:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    line = b"\n" + line
                written = os.write(fd, line)
                if written != len(line):  # a full disk takes part of the line
                    # Take the part back: the log ends with its last whole line, as before.
                    os.ftruncate(fd, os.lseek(fd, 0, os.SEEK_CUR) - written)
                    raise OSError(0, f"only {written} of {len(line)} bytes were written")
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as error:
            raise AuditWriteError(
                f"the audit log {self.path} could not be written: {error.strerror}"
            ) from None

    def record_outcome(self, outcome: AuditRecord, failure: BaseException | None = None) -> None:
        """Append a change's outcome line. If that fails while `failure` (what ended the change)
        is already on its way out, the audit failure is added to it, so the operator reads both;
        otherwise it is raised (the change itself may have succeeded: the exit code says not all
        is well)."""
        try:
            self.append(outcome)
        except AuditWriteError as error:
            state = {True: "applied", False: "not applied", None: "may have been applied"}
            message = (
                f"{error.message}; only the intent of {outcome.action} is recorded, not its "
                f"outcome ({state[outcome.applied]}, change id {outcome.change_id or 'none'})"
            )
            if failure is None:
                raise AuditWriteError(message) from None
            if isinstance(failure, OpsctlError):
                failure.message = f"{failure.message}; and {message}"
            else:
                failure.add_note(message)

    def read(self) -> AuditHistory:
        try:
            found = self.path.exists()
        except OSError as error:  # a name too long, a directory on the way not searchable
            raise OpsctlError(f"cannot read audit log {self.path}: {error.strerror}") from None
        if not found:
            return AuditHistory([], [])
        text = read_regular_file(self.path, what="audit log", max_bytes=MAX_AUDIT_LOG_BYTES)
        lines = text.split("\n")
        torn_tail = lines.pop()  # "" when the file ends with a newline
        entries: dict[str, AuditRecord] = {}
        skipped: list[str] = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = AuditRecord.from_json(json.loads(line))
            except (ValueError, RecursionError) as error:
                why = "not valid JSON" if isinstance(error, json.JSONDecodeError) else str(error)
                skipped.append(f"line {number} is not an audit record ({why})")
                continue
            # An outcome replaces its intent; a line without id stands alone.
            entries.pop(record.id, None)
            entries[record.id or f"line {number}"] = record
        if torn_tail.strip():
            skipped.append(
                f"the last line ({len(lines) + 1}) is torn: a write was cut short (crash or "
                "full disk)"
            )
        return AuditHistory(list(entries.values()), skipped)
