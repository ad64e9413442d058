"""Values as opsctl holds them, built without AWS: for judging, rendering and sandbox tests; and a
clock for opsctl's waits that costs no real time."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from opsctl.model import Clock
from opsctl.read.region_status import RegionStatus
from opsctl.sandbox.state import SandboxState


def make_sandbox_state(directory: Path, pid: int) -> SandboxState:
    """A sandbox state file's content naming `pid` as supervisor and fronts (nothing serves)."""
    return SandboxState(
        supervisor_pid=pid,
        front_pids={"us-east-1": pid, "us-west-2": pid},
        endpoint_url="http://127.0.0.1:9",
        ports={"emulator": 9},
        host_map={},
        jwks_url="http://127.0.0.1:9/jwks.json",
        topology_file=str(directory / "stack-outputs.json"),
        key_file=str(directory / "idp-key.pem"),
        issuer="https://idp.sandbox.local",
        audience="authorizer",
        hostname="auth.example.com",
        time_scale=0.1,
        checkers=3,
        log_file=str(directory / "sandbox.log"),
        front_addresses={"us-east-1": "127.0.0.2:9", "us-west-2": "127.0.0.3:9"},
    )


def region_status(role: str, region: str, **fields: Any) -> RegionStatus:
    """A Region as status reads it when all is well (all traffic on the primary), with `fields`
    changed: for judging and rendering tests that need no AWS."""
    well = RegionStatus(
        role=role,
        region=region,
        set_identifier=role,
        weight=100 if role == "primary" else 0,
        share=1.0 if role == "primary" else 0.0,
        healthy=True,
        checkers_healthy=16,
        checkers_total=16,
        alarm="OK",
        alarm_since="2026-11-29T07:00:00Z",
        failure_switch="healthy",
        impaired_alarm="OK",
        impaired_alarm_since="2026-11-29T07:00:00Z",
    )
    return replace(well, **fields)


@dataclass
class FakeClock:
    """Advances only when slept on, so waits and backoff cost no real time."""

    now_value: float = 0.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> Clock:
        return Clock(now=lambda: self.now_value, sleep=self._sleep)

    def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now_value += seconds
