"""What a drill acts on, what it finds and what it reports: the target and abort limits, the
measurements, steps and phases of its report, what it found and what a restore put back, and
how a drill stops (DrillFailed, DrillAborted)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from opsctl.aws import AwsClients
from opsctl.change.audit import AuditLog
from opsctl.drill.scenario import Scenario
from opsctl.drill.tokens import TokenSource
from opsctl.model import Approval, Weights
from opsctl.read.probe import Resolver
from stack_topology import Topology

DRILL_REASON = "drill"
FALLBACK_STEPS = (10, 50, 100)
PROBE_COUNT = 20


class DrillFailed(RuntimeError):
    """A drill check did not hold; the message says which and what was seen."""


class DrillAborted(RuntimeError):
    """An abort criterion was met (--max-failed, --max-duration); the message says which."""


def new_drill_id() -> str:
    return f"drill-{uuid.uuid4().hex[:12]}"


@dataclass(frozen=True)
class DrillTarget:
    """The stack a drill acts on and how its players reach it: the same for a real account and
    for the sandbox (which also knows its checker count and has an alarm inbox to subscribe)."""

    clients: AwsClients
    topology: Topology
    hostname: str
    new_resolver: Callable[[], Resolver]  # one per player: each caches its own answers
    tokens: TokenSource
    audit_log: AuditLog
    reason: str = DRILL_REASON
    drill_id: str = field(default_factory=new_drill_id)
    # 1 on AWS; the sandbox runs AWS's intervals scaled by this.
    time_scale: float = 1.0
    checkers: int | None = None  # Route 53 checkers expected to report; None: not known
    alarm_inbox: bool = False  # subscribe a queue to the alarm topic and wait for the notice
    dns: str = "system"  # how the players resolve: system | authoritative | sandbox

    def approval(self, *, force: bool = False, why: str = "") -> Approval:
        """An approval for one of the drill's changes: its reason and drill id go in the audit."""
        reason = f"{self.reason} ({why})" if why else self.reason
        return Approval(reason=reason, force=force, drill_id=self.drill_id)


@dataclass(frozen=True)
class AbortLimits:
    """When a drill stops by itself and restores what it found."""

    max_failed: int | None = None  # player failures outside the windows where they are expected
    max_duration: float | None = None  # seconds from the drill's start


@dataclass(frozen=True)
class ShiftMeasurement:
    shift: str
    detection_seconds: (
        float  # signal changed -> alarm changed (failure for failover, recovery for fallback)
    )
    approval_to_insync_seconds: float
    requests: int
    failed: int
    change_ids: tuple[str, ...] = ()  # Route 53's, one per step

    def to_json(self) -> dict[str, Any]:
        return {
            "shift": self.shift,
            "changeIds": list(self.change_ids),
            "detectionSeconds": round(self.detection_seconds, 2),
            "approvalToInsyncSeconds": round(self.approval_to_insync_seconds, 2),
            "requests": self.requests,
            "failed": self.failed,
        }


@dataclass(frozen=True)
class Measurement:
    """One line of a summary: what was measured, its value, and the check on it (if any)."""

    what: str
    value: str
    ok: bool | None = None  # None: information only


@dataclass(frozen=True)
class CreatedSession:
    session_id: str
    idempotency_key: str
    region: str


@dataclass(frozen=True)
class StepRecord:
    number: int
    text: str
    at: float  # timeline seconds


@dataclass(frozen=True)
class StepGate:
    """One step of a gradual fallback: the health gate it passed and what it took."""

    step: str  # "2/3"
    weights: str
    gate_passed_at: float  # timeline seconds: the primary's health re-checked, the step submitted
    insync_seconds: float
    requests: int
    failed: int


@dataclass(frozen=True)
class FoundState:
    """What the drill found before it changed anything: what an abort restores."""

    switches: dict[str, str | None]  # role -> failure switch value
    weights: Weights


@dataclass(frozen=True)
class Restored:
    """What an abort put back, and whether a re-read confirmed the stack is as found."""

    actions: list[str]
    confirmed: bool
    now: str  # the state read back, in words
    error: str | None = None  # what kept the restore from finishing

    def lines(self) -> list[str]:
        done = self.actions or ["nothing needed restoring"]
        verdict = "confirmed" if self.confirmed else "NOT confirmed"
        tail = [f"restore {verdict}: {self.now}"]
        if self.error:
            tail.append(f"restore stopped: {self.error}")
        return [*done, *tail]


@dataclass(frozen=True)
class PhaseCount:
    phase: str
    start: float  # timeline seconds
    requests: int
    failed: int


@dataclass
class DrillReport:
    scenario: Scenario
    checks: list[str] = field(default_factory=list)
    shifts: list[ShiftMeasurement] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)
    note: str = ""  # how to read the summary's numbers
    steps: list[StepRecord] = field(default_factory=list)
    gates: list[StepGate] = field(default_factory=list)
    phases: list[PhaseCount] = field(default_factory=list)
