"""The sandbox's state file: what a running sandbox is made of, for `down`, `token`, `env`, probe.

Written atomically by the supervisor once everything serves, removed when it stops. Lives in
`$OPSCTL_SANDBOX_DIR`, else `.sandbox/` in the current directory.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

STATE_VERSION = 1
STATE_FILE = "state.json"
SANDBOX_DIR_ENV = "OPSCTL_SANDBOX_DIR"


class SandboxStateError(RuntimeError):
    """No sandbox is running here, or its state file is unreadable."""


def sandbox_dir(explicit: Path | None = None) -> Path:
    if explicit is not None:
        return explicit
    configured = os.environ.get(SANDBOX_DIR_ENV)
    return Path(configured) if configured else Path.cwd() / ".sandbox"


@dataclass(frozen=True)
class SandboxState:
    supervisor_pid: int
    front_pids: dict[str, int]  # Region -> pid of its front process
    endpoint_url: str  # the emulator (AWS_ENDPOINT_URL for every Region)
    ports: dict[str, int]  # "emulator", "jwks", "front:<region>" -> loopback port
    host_map: dict[str, str]  # DNS name -> "127.0.0.1:port" (the sandbox's stand-in for DNS)
    jwks_url: str
    topology_file: str
    key_file: str
    issuer: str
    audience: str
    hostname: str  # the shared record name, no trailing dot
    time_scale: float
    checkers: int  # Route 53-like checkers per health check
    log_file: str
    version: int = STATE_VERSION

    def save(self, directory: Path) -> Path:
        path = directory / STATE_FILE
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(self), indent=2) + "\n")
        temporary.replace(path)
        return path

    @classmethod
    def load(cls, directory: Path) -> SandboxState:
        path = directory / STATE_FILE
        if not path.exists():
            raise SandboxStateError(
                f"no sandbox is running in {directory} (run `opsctl sandbox up`)"
            )
        try:
            raw = json.loads(path.read_text())
            if raw.get("version") != STATE_VERSION:
                raise SandboxStateError(f"{path}: unsupported state version {raw.get('version')!r}")
            return cls(**raw)
        except (ValueError, TypeError) as error:
            raise SandboxStateError(f"{path} is unreadable: {error}") from None

    def environment(self) -> dict[str, str]:
        """What a shell needs for opsctl and the AWS CLI to talk to this sandbox."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": "sandbox",
            "AWS_SECRET_ACCESS_KEY": "sandbox",
            "AWS_DEFAULT_REGION": "us-east-1",
            "OPSCTL_TOPOLOGY": self.topology_file,
        }
