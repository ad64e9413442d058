"""What a readiness judgement gives: `Check`s, each pass / warn / fail with the measured value,
and the `ReadinessReport` of a Region that would take all traffic."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opsctl.errors import error_in_words
from opsctl.read.concurrent_reads import Outcome

PASS, WARN, FAIL = "pass", "warn", "fail"


@dataclass(frozen=True)
class Check:
    name: str
    result: str  # pass | warn | fail
    value: str  # what was measured
    detail: str = ""  # why this result, when it is not a pass

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "result": self.result,
            "value": self.value,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class ReadinessReport:
    role: str  # the Region that would take the traffic
    region: str
    checks: tuple[Check, ...]

    @property
    def failures(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.result == FAIL)

    @property
    def warnings(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.result == WARN)

    @property
    def ready(self) -> bool:
        return not self.failures

    def to_json(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "region": self.region,
            "ready": self.ready,
            "checks": [c.to_json() for c in self.checks],
        }


def unknown_check(name: str, outcome: Outcome[Any], region: str | None = None) -> Check | None:
    """A warning naming why `outcome` could not be read (in `region`, when known), in words:
    never the SDK's raw message, its URL or opsctl's internal names; None when it was read."""
    if outcome.error is None:
        return None
    where = f" in {region}" if region else ""
    return Check(name, WARN, "unknown", f"could not read{where}: {error_in_words(outcome.error)}")
