"""The small value types opsctl's parts pass to each other: the weighted pair's weights, the
clock every wait is measured with, an operator's approval, how long ago a time was, and the
domain's words: how traffic moves (`Via`), what a change does (`ChangeAction`), and the data-plane
lever's actions and positions. The words are StrEnums: JSON output and the audit log carry their
plain values.

They hold no client and make no call, so any module can use them without reaching AWS.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from opsctl.errors import InputError, RecordsError
from stack_topology import Role


class Via(StrEnum):
    """How a failover or fallback moves traffic (`--via`)."""

    AUTO = "auto"  # the weights when Route 53's control plane answers, else the lever
    WEIGHTS = "weights"  # Route 53's control plane (us-east-1)
    DATAPLANE = "dataplane"  # the lever: DNS answers only, no us-east-1


class ChangeAction(StrEnum):
    """What an approved change does: the command that made it, and the audit log's `action`.
    A failover or a fallback moves traffic (by the weights or the lever)."""

    FAILOVER = "failover"
    FALLBACK = "fallback"
    SWITCH = "switch"
    REVOKE = "revoke"


class LeverPosition(StrEnum):
    """Where the data-plane lever stands: the operator's last action, as read back."""

    ENGAGED = "engaged"
    RELEASED = "released"
    UNKNOWN = "unknown"  # its alarm and the audit log cannot say


class LeverAction(StrEnum):
    """What a lever plan does to the lever (re-asserting an engaged lever is an ENGAGE)."""

    ENGAGE = "engage"
    RELEASE = "release"

    @property
    def position(self) -> LeverPosition:
        """Where the lever stands once this action took effect."""
        return LeverPosition.ENGAGED if self == LeverAction.ENGAGE else LeverPosition.RELEASED


def ago(since: str | None, now: datetime) -> str:
    """How long before `now` an ISO 8601 time was, in its largest unit: 42s, 3m, 2h, 5d ("?" when
    it is not a time; a time ahead of our clock is 0s)."""
    if since is None:
        return "?"
    try:
        then = datetime.fromisoformat(since)
    except ValueError:
        return "?"
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    seconds = max(0, int((now - then).total_seconds()))
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True)
class Clock:
    """Time source for waits and backoff; tests pass a fake that advances on sleep."""

    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class Weights:
    """The weighted pair's weights by role."""

    primary: int
    secondary: int

    @classmethod
    def all_on(cls, role: Role | str) -> Weights:
        return Role(role).pick(cls(primary=100, secondary=0), cls(primary=0, secondary=100))

    @classmethod
    def primary_share(cls, percent: int) -> Weights:
        """Weights that send `percent`% of traffic to the primary (a gradual fallback step)."""
        return cls(primary=percent, secondary=100 - percent)

    def of(self, role: Role | str) -> int:
        return Role(role).pick(self.primary, self.secondary)

    def share(self, role: Role | str) -> float:
        """Fraction of traffic the role gets. All-zero weights split equally, as Route 53 does."""
        total = self.primary + self.secondary
        return 0.5 if total == 0 else self.of(role) / total

    @property
    def serving(self) -> str:
        """primary | secondary | split | none (both 0: not a state opsctl ever sets)."""
        if self.primary and self.secondary:
            return "split"
        if self.primary:
            return "primary"
        if self.secondary:
            return "secondary"
        return "none"

    def require_shiftable(self) -> None:
        if self.primary == 0 and self.secondary == 0:
            raise RecordsError(
                "both weighted records have weight 0 (Route 53 splits traffic equally): "
                "not a state opsctl sets; fix the weights by hand before shifting"
            )

    def as_dict(self) -> dict[str, int]:
        return {"primary": self.primary, "secondary": self.secondary}

    def __str__(self) -> str:
        return f"primary {self.primary} / secondary {self.secondary}"

    @property
    def pair(self) -> str:
        """`100/0`: primary's then secondary's, for a table column that says so."""
        return f"{self.primary}/{self.secondary}"


@dataclass(frozen=True)
class Approval:
    reason: str
    force: bool = False
    # Clock.now() when the operator approved; approval-to-INSYNC is measured from here.
    approved_at: float = field(default_factory=lambda: Clock().now())
    # Set when a drill (`opsctl drill`) makes the change: its id goes in the audit line.
    drill_id: str | None = None

    def __post_init__(self) -> None:
        if not self.reason.strip():
            raise InputError("--reason is required with --approve (say why, for the audit)")
        if not self.reason.isprintable():  # escapes, newlines, bidi overrides: not in the audit
            raise InputError(
                f"--reason must be one line of printable text, without control characters: "
                f"{self.reason!r}"
            )
