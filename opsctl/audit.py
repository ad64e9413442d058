"""The audit trail of approved changes: who, when, why, from -> to, and the AWS change id.

Every approved change is recorded twice: in the Route 53 change batch Comment (so CloudTrail keeps
it with the change) and as one JSON line appended to the local audit log (`OPSCTL_AUDIT_LOG`,
default `$XDG_STATE_HOME/opsctl/audit.jsonl`, i.e. ~/.local/state/opsctl/audit.jsonl).
"""

from __future__ import annotations

import getpass
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opsctl.aws import AwsClients, translate_aws_errors
from opsctl.errors import OpsctlError

AUDIT_LOG_ENV = "OPSCTL_AUDIT_LOG"


@dataclass(frozen=True)
class Actor:
    """Who approved: the AWS caller identity and the local account running opsctl."""

    arn: str
    local_user: str


@dataclass(frozen=True)
class AuditRecord:
    """One approved change; serialised as one JSON line (camelCase keys, like status --json)."""

    time: str
    action: str  # failover | fallback | switch
    app: str
    actor: Actor
    reason: str
    before: dict[str, Any]
    after: dict[str, Any]
    # Route 53 change id for weight changes; "ssm:<name>@<version>" for a failure switch.
    change_id: str
    forced: bool = False
    # Preflight checks overridden with --force (names), so the override is on the record.
    overridden: list[str] = field(default_factory=list)
    step: str | None = None  # "2/3" during a gradual fallback
    insync_seconds: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "action": self.action,
            "app": self.app,
            "actorArn": self.actor.arn,
            "localUser": self.actor.local_user,
            "reason": self.reason,
            "before": self.before,
            "after": self.after,
            "changeId": self.change_id,
            "forced": self.forced,
            "overridden": self.overridden,
            "step": self.step,
            "insyncSeconds": self.insync_seconds,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> AuditRecord:
        return cls(
            time=raw["time"],
            action=raw["action"],
            app=raw.get("app", ""),
            actor=Actor(arn=raw.get("actorArn", ""), local_user=raw.get("localUser", "")),
            reason=raw.get("reason", ""),
            before=raw.get("before", {}),
            after=raw.get("after", {}),
            change_id=raw.get("changeId", ""),
            forced=bool(raw.get("forced", False)),
            overridden=list(raw.get("overridden", [])),
            step=raw.get("step"),
            insync_seconds=raw.get("insyncSeconds"),
        )


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


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


def change_comment(action: str, actor: Actor, reason: str, before: str, after: str) -> str:
    """The Route 53 change batch Comment: who, why and from -> to, for CloudTrail."""
    return f"opsctl {action} by {actor.arn} ({actor.local_user}): {before} -> {after}; {reason}"


class AuditLog:
    """Append-only JSON-lines file; one line per approved change."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_audit_log()

    def _open_for_append(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # O_APPEND: concurrent writers never interleave within one short line.
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def ensure_writable(self) -> None:
        """Check, before a change is made, that its audit line can be written."""
        try:
            os.close(self._open_for_append())
        except OSError as error:
            raise OpsctlError(
                f"cannot write the audit log {self.path}: {error.strerror}; nothing changed "
                f"(set {AUDIT_LOG_ENV} to a writable file)"
            ) from None

    def append(self, record: AuditRecord) -> None:
        line = json.dumps(record.to_json(), sort_keys=True) + "\n"
        try:
            fd = self._open_for_append()
            try:
                os.write(fd, line.encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as error:
            raise OpsctlError(
                f"the change was made (change id {record.change_id}) but the audit log "
                f"{self.path} could not be written: {error.strerror}"
            ) from None

    def read(self) -> list[AuditRecord]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        except OSError as error:
            raise OpsctlError(f"cannot read audit log {self.path}: {error.strerror}") from None
        except UnicodeDecodeError:
            raise OpsctlError(f"audit log {self.path} is not UTF-8 text") from None
        records: list[AuditRecord] = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                records.append(AuditRecord.from_json(json.loads(line)))
            except (json.JSONDecodeError, KeyError, TypeError):
                raise OpsctlError(
                    f"audit log {self.path} line {number} is not an audit record"
                ) from None
        return records
