"""The sandbox as the region-outage drill acts on it and reads it, the only part of a drill that
reaches into the sandbox: a Region taken out and brought back, reads pinned to one Region's
front, what the sandbox's DNS answers now, and opsctl run as the operator runs it there."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass

from rich.text import Text

from opsctl.change.audit import AuditLog
from opsctl.cli import output
from opsctl.drill.model import DrillFailed
from opsctl.read.probe import ApiResponse, Endpoint, call_api
from opsctl.sandbox.faults.outage import OutageMode, outage, regions_out, restore
from opsctl.sandbox.front.spec import FrontSpec, front_spec_file
from opsctl.sandbox.state import SandboxState
from opsctl.sandbox.stub_resolver import CachedAnswer, sandbox_resolver


class Pinned:
    """A resolver that always sends the shared hostname to one Region's front: a request straight
    to that Region, whatever DNS says (to read what replicated where)."""

    def __init__(self, address: str) -> None:
        self.address = address

    def resolve(self, hostname: str) -> Endpoint:
        name = hostname.rstrip(".")
        host, port = self.address.rsplit(":", 1)
        return Endpoint(base_url=f"https://{name}:{port}", host_header=name, address=host)


@dataclass(frozen=True)
class OutageSandbox:
    state: SandboxState
    # The harder mode for clients: connections are accepted and never answered.
    mode: OutageMode = OutageMode.HANG

    @property
    def time_scale(self) -> float:
        return self.state.time_scale

    def take_out(self, region: str) -> None:
        outage(self.state, region, self.mode)

    def bring_back(self, region: str) -> None:
        restore(self.state, region)

    def is_out(self, region: str) -> bool:
        return region in regions_out(self.state)

    def read_from(self, region: str, path: str, token: str) -> ApiResponse:
        """A request to `region`'s front alone, with the shared name for TLS and as Host."""
        pinned = Pinned(self.state.front_addresses[region])
        return call_api(self.state.hostname, pinned, path=path, token=token)

    def watcher_run_seconds(self, region: str) -> float:
        """How long a run of `region`'s scheduled watcher may last: its function's timeout."""
        spec = FrontSpec.from_json(front_spec_file(self.state.directory, region).read_text())
        return float(max((f.timeout_seconds for f in spec.scheduled_functions()), default=0))

    def dns_answer(self) -> CachedAnswer:
        """What the sandbox's DNS answers for the shared name now, asked afresh (no cache)."""
        return sandbox_resolver(self.state).lookup(self.state.hostname)

    def dns_region(self) -> str | None:
        return self.state.region_of_address(self.dns_answer().address)

    def run_opsctl(
        self, args: tuple[str, ...], audit_log: AuditLog, timeout: float
    ) -> tuple[subprocess.CompletedProcess[str], float]:
        """opsctl as the operator runs it, on this sandbox, auditing into the drill's log; its
        output is shown; bounded by `timeout`. The seconds it took."""
        environment = {
            **os.environ,
            **self.state.environment(),
            "OPSCTL_AUDIT_LOG": str(audit_log.path),
            "COLUMNS": str(output.stdout.width),
        }
        started = time.monotonic()
        try:
            done = subprocess.run(
                [sys.executable, "-m", "opsctl", *args],
                capture_output=True,
                text=True,
                env=environment,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            raise DrillFailed(
                f"`opsctl {' '.join(args)}` did not finish within {timeout:.0f}s"
            ) from None
        elapsed = time.monotonic() - started
        output.stdout.print(Text(done.stdout.rstrip()))
        if done.stderr.strip():
            output.stderr.print(Text(done.stderr.rstrip()))
        return done, elapsed
