"""The sandbox's state file: what a running sandbox is made of, for `down`, `token`, `env`, probe.

Written atomically by the supervisor once everything serves, removed when it stops. Lives in
`$OPSCTL_SANDBOX_DIR`, else `.sandbox/` in the current directory.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

STATE_VERSION = 1
STATE_FILE = "state.json"
# Held (flock) by the supervisor for its whole life. The kernel drops it when the process dies, so
# a held lock, unlike a pid that answers kill(0), proves the supervisor in the state file is alive:
# after a crash or a reboot its pid may belong to an unrelated process that `down` must not kill.
LOCK_FILE = "supervisor.lock"
SANDBOX_DIR_ENV = "OPSCTL_SANDBOX_DIR"
SANDBOX_DNS_ENV = "OPSCTL_SANDBOX_DNS"
# The emulator accepts any credentials; fixed ones keep an operator's real ones out of it.
SANDBOX_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "sandbox",
    "AWS_SECRET_ACCESS_KEY": "sandbox",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class SandboxStateError(RuntimeError):
    """No sandbox is running here, or its state file is unreadable."""


def sandbox_dir(explicit: Path | None = None) -> Path:
    if explicit is not None:
        return explicit
    configured = os.environ.get(SANDBOX_DIR_ENV)
    return Path(configured) if configured else Path.cwd() / ".sandbox"


def _open_lock(directory: Path) -> int:
    return os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)


def hold_supervisor_lock(directory: Path) -> int | None:
    """Take the supervisor lock for this process's lifetime: the open descriptor (keep it open),
    or None when another live supervisor holds it."""
    directory.mkdir(parents=True, exist_ok=True)
    descriptor = _open_lock(directory)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        return None
    return descriptor


def supervisor_running(directory: Path) -> bool:
    """Whether a live supervisor holds this directory's lock (tested without taking it)."""
    if not (directory / LOCK_FILE).exists():
        return False
    descriptor = _open_lock(directory)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)  # also releases the lock if this call took it
    return False


@dataclass(frozen=True)
class SandboxState:
    supervisor_pid: int
    front_pids: dict[str, int]  # Region -> pid of its front process
    # AWS_ENDPOINT_URL for every Region: the emulator behind the fault proxy that takes a Region's
    # API away during an outage (opsctl sandbox outage)
    endpoint_url: str
    ports: dict[str, int]  # "emulator", "aws" (its proxy), "jwks", "dns", "front:<region>"
    host_map: dict[str, str]  # DNS name -> "127.0.0.x:port" (a Region's front)
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
    # Region -> "127.0.0.x:port": each Region's front on its own loopback address, one port for all.
    front_addresses: dict[str, str] = field(default_factory=dict)
    dns: str = ""  # the sandbox's DNS server (Route 53's data plane), "127.0.0.1:port"

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
        environment = {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            **SANDBOX_CREDENTIALS,
            "OPSCTL_TOPOLOGY": self.topology_file,
        }
        if self.dns:
            environment[SANDBOX_DNS_ENV] = self.dns
        return environment
