"""One line of the audit log, an intent or an outcome (`AuditRecord`), who approved it (`Actor`),
and how a line is read back, checking every field's type."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from opsctl.model import ChangeAction

INTENT = "intent"
OUTCOME = "outcome"
# The account every caller identity has on the sandbox's emulator (moto; AWS's documentation
# example account): a change recorded with it was made on a sandbox, not on AWS.
EMULATOR_ACCOUNT_ID = "123456789012"


@dataclass(frozen=True)
class Actor:
    """Who approved: the AWS caller identity and the local account running opsctl."""

    arn: str
    local_user: str


@dataclass(frozen=True)
class AuditRecord:
    """One line of the log (camelCase keys, like status --json): an intent or an outcome."""

    id: str  # shared by a change's intent and outcome
    phase: str  # intent | outcome
    time: str
    # One this version does not know (written by a later one, or by hand) stays as written.
    action: ChangeAction | str
    app: str
    actor: Actor
    reason: str
    before: dict[str, Any]
    after: dict[str, Any]
    forced: bool = False
    # Preflight checks overridden with --force (names), so the override is on the record.
    overridden: list[str] = field(default_factory=list)
    step: str | None = None  # "2/3" during a gradual fallback
    # The intent: the records (or parameter) as read just before the change was submitted.
    read: list[dict[str, Any]] = field(default_factory=list)
    # The outcome. Route 53 change id for weight changes; "ssm:<region>:<name>@<version>" for a
    # failure switch; None when AWS gave none.
    change_id: str | None = None
    applied: bool | None = None  # None: not known (AWS gave no answer and the re-read failed)
    insync: bool = False
    insync_seconds: float | None = None
    detail: str | None = None  # what ended the change, when not a plain success
    drill: str | None = None  # the drill id, when `opsctl drill` made the change

    @property
    def from_emulator(self) -> bool:
        """Made with the sandbox emulator's identity, not on AWS."""
        return f":{EMULATOR_ACCOUNT_ID}:" in self.actor.arn

    @classmethod
    def intent(
        cls,
        *,
        action: ChangeAction,
        app: str,
        actor: Actor,
        reason: str,
        before: dict[str, Any],
        after: dict[str, Any],
        read: list[dict[str, Any]],
        forced: bool = False,
        overridden: list[str] | None = None,
        step: str | None = None,
        drill: str | None = None,
    ) -> AuditRecord:
        return cls(
            id=uuid.uuid4().hex,
            phase=INTENT,
            time=now_iso(),
            action=action,
            app=app,
            actor=actor,
            reason=reason,
            before=before,
            after=after,
            forced=forced,
            overridden=list(overridden or []),
            step=step,
            read=read,
            drill=drill,
        )

    def outcome(
        self,
        *,
        applied: bool | None,
        change_id: str | None = None,
        insync_seconds: float | None = None,
        detail: str | None = None,
        before: dict[str, Any] | None = None,
    ) -> AuditRecord:
        """This intent's outcome line (`before` when what was replaced is not what was read)."""
        return replace(
            self,
            phase=OUTCOME,
            time=now_iso(),
            read=[],
            change_id=change_id,
            applied=applied,
            insync=insync_seconds is not None,
            insync_seconds=None if insync_seconds is None else round(insync_seconds, 3),
            detail=detail,
            before=self.before if before is None else before,
        )

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "id": self.id,
            "phase": self.phase,
            "time": self.time,
            "action": self.action,
            "app": self.app,
            "actorArn": self.actor.arn,
            "localUser": self.actor.local_user,
            "reason": self.reason,
            "before": self.before,
            "after": self.after,
            "forced": self.forced,
            "overridden": self.overridden,
            "step": self.step,
        }
        if self.drill is not None:
            document["drill"] = self.drill
        if self.phase == INTENT:
            document["read"] = self.read
        else:
            document.update(
                changeId=self.change_id,
                applied=self.applied,
                insync=self.insync,
                insyncSeconds=self.insync_seconds,
                detail=self.detail,
            )
        return document

    @classmethod
    def from_json(cls, raw: Any) -> AuditRecord:
        """Parse one line's object; ValueError says which field is wrong. A line without `phase`
        (written before intents existed) is the outcome of an applied change."""
        if not isinstance(raw, Mapping):
            raise ValueError("not a JSON object")
        fields = _Fields(raw)
        phase = fields.get("phase", _is_str, OUTCOME)
        if phase not in (INTENT, OUTCOME):
            raise ValueError(f"phase is {phase!r}")
        return cls(
            id=fields.get("id", _is_str, ""),
            phase=phase,
            time=fields.require("time", _is_str),
            action=_action(fields.require("action", _is_str)),
            app=fields.get("app", _is_str, ""),
            actor=Actor(
                arn=fields.get("actorArn", _is_str, ""),
                local_user=fields.get("localUser", _is_str, ""),
            ),
            reason=fields.get("reason", _is_str, ""),
            before=fields.get("before", _is_object, {}),
            after=fields.get("after", _is_object, {}),
            forced=fields.get("forced", _is_bool, False),
            overridden=fields.get("overridden", _is_str_list, []),
            step=fields.get("step", _is_str, None),
            read=fields.get("read", _is_object_list, []),
            change_id=fields.get("changeId", _is_str, None),
            applied=fields.get("applied", _is_bool, True if "phase" not in raw else None),
            insync=fields.get("insync", _is_bool, raw.get("insyncSeconds") is not None),
            insync_seconds=fields.get("insyncSeconds", _is_seconds, None),
            detail=fields.get("detail", _is_str, None),
            drill=fields.get("drill", _is_str, None),
        )


def _action(word: str) -> ChangeAction | str:
    try:
        return ChangeAction(word)
    except ValueError:
        return word


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _is_object(value: Any) -> bool:
    return isinstance(value, dict)


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _is_object_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


def _is_seconds(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )


class _Fields:
    """Typed access to a parsed line: a wrong type is an error, never coerced ("false" is not
    False)."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw

    def require(self, key: str, valid: Callable[[Any], bool]) -> Any:
        if self.raw.get(key) is None:
            raise ValueError(f"{key} is missing")
        return self.get(key, valid, None)

    def get(self, key: str, valid: Callable[[Any], bool], default: Any) -> Any:
        value = self.raw.get(key)
        if value is None:
            return default
        if not valid(value):
            raise ValueError(f"{key} has the wrong type ({type(value).__name__})")
        return value


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
