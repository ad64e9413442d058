"""The sandbox's state file: what a running sandbox is made of, for `down`, `token`, `env`, probe.

Written atomically by the supervisor once everything serves, removed when it stops. Lives in
`$OPSCTL_SANDBOX_DIR`, else `.sandbox/` in the current directory.
"""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from opsctl.change.audit import AUDIT_LOG_ENV
from opsctl.errors import OpsctlError

STATE_VERSION = 1
STATE_FILE = "state.json"
# Held (flock) by the supervisor for its whole life. The kernel drops it when the process dies, so
# a held lock, unlike a pid that answers kill(0), proves the supervisor in the state file is alive:
# after a crash or a reboot its pid may belong to an unrelated process that `down` must not kill.
LOCK_FILE = "supervisor.lock"
SANDBOX_DIR_ENV = "OPSCTL_SANDBOX_DIR"
SANDBOX_DNS_ENV = "OPSCTL_SANDBOX_DNS"
# Changes made on the sandbox are audited here, in its directory: never in the operator's log.
AUDIT_LOG_FILE = "audit.jsonl"
# A supervisor writes its identity into the lock file right after taking the lock.
IDENTITY_TIMEOUT_SECONDS = 2.0
# The emulator accepts any credentials; fixed ones keep an operator's real ones out of it.
SANDBOX_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "sandbox",
    "AWS_SECRET_ACCESS_KEY": "sandbox",
    "AWS_DEFAULT_REGION": "us-east-1",
}
# The sandbox's own clients (probe, resolver) talk to an emulator on loopback that answers in
# milliseconds: a hung one must cost seconds (here at most 2 x (1 + 2) s), not the SDK's default
# 60 s read timeout times 5 attempts.
SANDBOX_CLIENT_CONFIG = Config(
    connect_timeout=1, read_timeout=2, retries={"mode": "standard", "total_max_attempts": 2}
)


class SandboxStateError(OpsctlError):
    """No sandbox is running here, or its state file is unreadable."""


def sandbox_dir(explicit: Path | None = None) -> Path:
    if explicit is not None:
        return explicit
    configured = os.environ.get(SANDBOX_DIR_ENV)
    return Path(configured) if configured else Path.cwd() / ".sandbox"


def dir_flag(directory: Path) -> str:
    """` --dir DIR` when `directory` is not where a command finds the sandbox by default, else
    nothing: a hint to run another command must reach the same sandbox when pasted."""
    if directory.resolve() == sandbox_dir().resolve():
        return ""
    return f" --dir {shlex.quote(str(directory))}"


def _open_lock(directory: Path) -> int:
    return os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)


@dataclass(frozen=True)
class SupervisorIdentity:
    """Who holds the lock, written into the lock file by the holder right after taking it, so
    `down` finds the processes even when the state file is missing or corrupted."""

    pid: int
    process_group: int  # the supervisor leads its own group; its fronts are members

    @property
    def leads_its_group(self) -> bool:
        """Only then may the whole group be signalled (never an operator's shell's group)."""
        return self.pid == self.process_group


def hold_supervisor_lock(directory: Path) -> int | None:
    """Take the supervisor lock for this process's lifetime and write this process's identity
    into it: the open descriptor (keep it open), or None when another live supervisor holds it."""
    directory.mkdir(parents=True, exist_ok=True)
    descriptor = _open_lock(directory)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        return None
    identity = {"pid": os.getpid(), "processGroup": os.getpgrp()}
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, json.dumps(identity).encode() + b"\n", 0)
    os.fsync(descriptor)
    return descriptor


def supervisor_running(directory: Path) -> bool:
    """Whether a live supervisor holds this directory's lock (tested without taking it)."""
    if not (directory / LOCK_FILE).exists():
        return False
    try:
        descriptor = _open_lock(directory)
    except OSError as error:
        raise SandboxStateError(
            f"cannot open {directory / LOCK_FILE}: {error.strerror or error}"
        ) from None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)  # also releases the lock if this call took it
    return False


def lock_holder(
    directory: Path, timeout: float = IDENTITY_TIMEOUT_SECONDS
) -> SupervisorIdentity | None:
    """The live supervisor holding this directory's lock, or None when none does.

    A supervisor writes its identity right after taking the lock; a reader that comes in between
    waits for it, at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while supervisor_running(directory):
        identity = _read_identity(directory / LOCK_FILE)
        if identity is not None:
            return identity
        if time.monotonic() > deadline:
            raise SandboxStateError(
                f"a supervisor holds {directory / LOCK_FILE} but its pid was not readable "
                f"within {timeout:.0f}s; stop it by hand"
            )
        time.sleep(0.02)
    return None


def _read_identity(path: Path) -> SupervisorIdentity | None:
    try:
        raw = json.loads(path.read_text())
        pid, group = raw["pid"], raw["processGroup"]
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if not all(isinstance(n, int) and not isinstance(n, bool) and n > 1 for n in (pid, group)):
        return None
    return SupervisorIdentity(pid=pid, process_group=group)


@dataclass(frozen=True)
class SandboxState:
    supervisor_pid: int
    front_pids: dict[str, int]  # Region -> pid of its front process (none while it is out)
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
    # Region -> "127.0.0.x:port": where each Region's API names (execute-api, its Regional domain
    # name) resolve to; one port for every front address.
    front_addresses: dict[str, str] = field(default_factory=dict)
    dns: str = ""  # the sandbox's DNS server (Route 53's data plane), "127.0.0.1:port"
    # Region -> its front doors ("127.0.0.x:port"), which DNS rotates through for the shared name.
    front_doors: dict[str, list[str]] = field(default_factory=dict)
    # The bundle of the system's CAs and the sandbox's own, which signed the fronts' certificate.
    trust_bundle: str = ""

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
                f"no sandbox is running in {directory} "
                f"(run `opsctl sandbox up{dir_flag(directory)}`)"
            )
        try:
            raw = json.loads(path.read_text())
        except OSError as error:
            raise SandboxStateError(f"cannot read {path}: {error.strerror or error}") from None
        except ValueError as error:
            raise SandboxStateError(f"{path} is unreadable: {error}") from None
        if not isinstance(raw, dict) or raw.get("version") != STATE_VERSION:
            version = raw.get("version") if isinstance(raw, dict) else None
            raise SandboxStateError(f"{path}: unsupported state version {version!r}")
        try:
            return cls(**raw)
        except TypeError as error:
            raise SandboxStateError(f"{path} is unreadable: {error}") from None

    def client(self, service: str, region: str) -> Any:
        """A boto3 client on this sandbox's emulator, with bounded timeouts."""
        return boto3.client(
            service, region_name=region, endpoint_url=self.endpoint_url,
            aws_access_key_id=SANDBOX_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=SANDBOX_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            config=SANDBOX_CLIENT_CONFIG,
        )  # fmt: skip

    def every_front_address(self) -> list[str]:
        """Every "host:port" a front listens on: its API names' address, then its front doors."""
        return [
            address
            for region, own in self.front_addresses.items()
            for address in (own, *self.front_doors.get(region, ()))
        ]

    def region_of_address(self, host: str) -> str | None:
        """The Region whose front listens on `host` (an IP address), if any."""
        for region, own in self.front_addresses.items():
            for address in (own, *self.front_doors.get(region, ())):
                if address.rsplit(":", 1)[0] == host:
                    return region
        return None

    def listening(self) -> list[str]:
        """Every "host:port" the sandbox listens on: each front on its own loopback addresses,
        the rest on 127.0.0.1."""
        fronts = {f"front:{region}" for region in self.front_addresses}
        others = [f"127.0.0.1:{port}" for name, port in self.ports.items() if name not in fronts]
        return others + self.every_front_address()

    @property
    def directory(self) -> Path:
        """The sandbox's directory: where the supervisor writes its log and its parts' files."""
        return Path(self.log_file).parent

    @property
    def audit_log(self) -> str:
        """The sandbox's own audit log, in its directory."""
        return str(self.directory / AUDIT_LOG_FILE)

    def environment(self) -> dict[str, str]:
        """What a shell needs for opsctl and the AWS CLI to talk to this sandbox; changes tried
        on it are audited in the sandbox's directory, not in the operator's real log."""
        environment = {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            **SANDBOX_CREDENTIALS,
            "OPSCTL_TOPOLOGY": self.topology_file,
            AUDIT_LOG_ENV: self.audit_log,
        }
        if self.dns:
            environment[SANDBOX_DNS_ENV] = self.dns
        if self.trust_bundle:
            # The standard variable OpenSSL (so Python, curl, opsctl) reads its trusted CAs from.
            environment["SSL_CERT_FILE"] = self.trust_bundle
        return environment
