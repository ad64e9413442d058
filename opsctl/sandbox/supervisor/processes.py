"""What every process of the sandbox starts from: the project it runs, the supervisor's options
(and their command line), and the clean environment each process gets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from opsctl.sandbox.route53.checkers import DEFAULT_CHECKERS
from opsctl.sandbox.state import SANDBOX_CREDENTIALS

PROJECT_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_STACK_FILE = PROJECT_ROOT / "Pulumi.primary.yaml"


@dataclass(frozen=True)
class SandboxOptions:
    directory: Path
    stack_file: Path = DEFAULT_STACK_FILE
    time_scale: float = 0.1  # multiplies AWS intervals: 10 s health checks run every 1 s
    checkers: int = DEFAULT_CHECKERS

    def to_args(self) -> list[str]:
        return [
            "--dir", str(self.directory),
            "--stack", str(self.stack_file),
            "--time-scale", str(self.time_scale),
            "--checkers", str(self.checkers),
        ]  # fmt: skip


def sandbox_process_environment(parent: dict[str, str]) -> dict[str, str]:
    """A clean environment for sandbox processes: none of the operator's AWS settings leak in."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "NO_COLOR")
    environment = {key: parent[key] for key in keep if key in parent}
    environment.update(SANDBOX_CREDENTIALS)
    environment.update({"PYTHONPATH": str(PROJECT_ROOT), "PYTHONUNBUFFERED": "1"})
    return environment
