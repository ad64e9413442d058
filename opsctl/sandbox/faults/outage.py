"""Take a sandbox Region away and bring it back: `opsctl sandbox outage | restore`, and the drill.

While a Region is out, its API front stops answering (`refuse`: connection refused; `hang`: the
connection is accepted and never answered), every emulator call signed for that Region is refused
or held the same way (for us-east-1 that includes Route 53's control plane), and global-table
replication into and out of it stops until it is restored. Route 53's data plane (health checkers,
DNS) and alarm evaluation keep running, as on AWS.

The caller and the supervisor share one control file in the sandbox directory: the caller writes the
wanted outages (`outages.json`, under a lock, with a new generation number), the supervisor polls it
every `POLL_SECONDS`, applies it and writes what it applied (`outages-applied.json`, same
generation). The caller returns once the supervisor applied its generation, or fails after
`APPLY_TIMEOUT_SECONDS` (a restore waits for the Region's front to serve again). A request that
times out or is interrupted (Ctrl-C, SIGTERM) is withdrawn: a later generation puts back what was
wanted before, so a supervisor that resumes later does not apply a change nobody waits for.
"""

from __future__ import annotations

import enum
import fcntl
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from opsctl.errors import ExitCode, OpsctlError
from opsctl.sandbox.state import SandboxState, supervisor_running

WANTED_FILE = "outages.json"
APPLIED_FILE = "outages-applied.json"
LOCK_FILE = "outages.lock"
POLL_SECONDS = 0.05  # how often the supervisor reads the wanted outages
APPLY_TIMEOUT_SECONDS = 60.0  # a restore restarts the Region's front (imports every handler)


class OutageMode(enum.Enum):
    REFUSE = "refuse"  # connection refused
    HANG = "hang"  # accepted, never answered (a black hole)


class OutageError(OpsctlError):
    """The supervisor did not apply the change (in time, or at all)."""

    exit_code = ExitCode.ERROR


class OutageInputError(OutageError):
    """Bad input: not one of the sandbox's Regions, or not an outage mode; nothing changed."""

    exit_code = ExitCode.USAGE


@dataclass(frozen=True)
class Outages:
    """Which Regions are out, and how; `generation` orders the changes."""

    generation: int = 0
    regions: dict[str, OutageMode] = field(default_factory=dict)
    error: str | None = None  # the supervisor could not apply it all (what failed)

    def to_json(self) -> str:
        regions = {region: mode.value for region, mode in sorted(self.regions.items())}
        document = {"generation": self.generation, "regions": regions, "error": self.error}
        return json.dumps(document) + "\n"

    @classmethod
    def read(cls, path: Path) -> Outages:
        """The outages in `path`; none when it does not exist (yet)."""
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            return cls()
        return cls(
            int(raw["generation"]),
            {region: OutageMode(mode) for region, mode in raw["regions"].items()},
            raw.get("error"),
        )

    def write(self, path: Path) -> None:
        temporary = path.with_suffix(".tmp")
        temporary.write_text(self.to_json())
        temporary.replace(path)  # readers never see half a file


def state_directory(state: SandboxState) -> Path:
    """The sandbox directory `state` was loaded from (its topology file lives there)."""
    return Path(state.topology_file).parent


def forget_outages(directory: Path) -> None:
    """A new (or stopped) supervisor starts with every Region in."""
    for name in (WANTED_FILE, APPLIED_FILE):
        (directory / name).unlink(missing_ok=True)


def regions_out(state: SandboxState) -> dict[str, OutageMode]:
    """The Regions the supervisor has taken out, and how."""
    return dict(Outages.read(state_directory(state) / APPLIED_FILE).regions)


def outage(
    state: SandboxState,
    region: str,
    mode: OutageMode | str = OutageMode.REFUSE,
    timeout: float = APPLY_TIMEOUT_SECONDS,
) -> dict[str, OutageMode]:
    """Take `region` out (`refuse` or `hang`); returns the Regions out once applied."""
    _require_region(state, region)
    try:
        chosen = OutageMode(mode)
    except ValueError:
        choices = ", ".join(m.value for m in OutageMode)
        raise OutageInputError(f"unknown outage mode {mode!r} (one of: {choices})") from None
    return _change(state, lambda regions: regions | {region: chosen}, timeout)


def restore(
    state: SandboxState, region: str, timeout: float = APPLY_TIMEOUT_SECONDS
) -> dict[str, OutageMode]:
    """Bring `region` back (nothing to do when it is not out); returns the Regions still out."""
    _require_region(state, region)
    return _change(
        state, lambda regions: {r: m for r, m in regions.items() if r != region}, timeout
    )


def _require_region(state: SandboxState, region: str) -> None:
    if region not in state.front_addresses:
        known = ", ".join(sorted(state.front_addresses))
        raise OutageInputError(f"{region!r} is not one of the sandbox's Regions ({known})")


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    with (directory / LOCK_FILE).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _change(
    state: SandboxState,
    update: Callable[[dict[str, OutageMode]], dict[str, OutageMode]],
    timeout: float,
) -> dict[str, OutageMode]:
    directory = state_directory(state)
    if not supervisor_running(directory):
        raise OutageError(f"no sandbox supervisor is running in {directory} (stale state?)")
    with _locked(directory):
        wanted = Outages.read(directory / WANTED_FILE)
        applied = Outages.read(directory / APPLIED_FILE)
        regions = update(wanted.regions)
        if regions == wanted.regions and applied.generation == wanted.generation:
            return dict(applied.regions)
        changed = Outages(max(wanted.generation, applied.generation) + 1, regions)
        changed.write(directory / WANTED_FILE)
    try:
        done = _wait_applied(directory, changed.generation, timeout)
    except KeyboardInterrupt as interrupt:
        interrupt.add_note(_withdraw(directory, changed, wanted.regions))
        raise
    if done is None:
        raise OutageError(
            f"the sandbox supervisor did not apply the change within {timeout:.0f}s (see "
            f"{directory / 'sandbox.log'}); {_withdraw(directory, changed, wanted.regions)}"
        )
    if done.error:
        raise OutageError(f"the sandbox could not apply it: {done.error}")
    return dict(done.regions)


def _wait_applied(directory: Path, generation: int, timeout: float) -> Outages | None:
    """What the supervisor applied once it reached `generation`; None past the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        applied = Outages.read(directory / APPLIED_FILE)
        if applied.generation >= generation:
            return applied
        if time.monotonic() > deadline:
            return None
        time.sleep(POLL_SECONDS)


def _withdraw(directory: Path, changed: Outages, before: dict[str, OutageMode]) -> str:
    """Take back a change the caller stopped waiting for, unless the supervisor applied it
    meanwhile (or a later request already replaced it); says which."""
    with _locked(directory):
        if Outages.read(directory / APPLIED_FILE).generation >= changed.generation:
            return "the change was applied meanwhile (`opsctl sandbox status` shows it)"
        if Outages.read(directory / WANTED_FILE).generation != changed.generation:
            return "a later request replaced it, and it is still pending"
        # A new generation, so a supervisor in the middle of applying ours undoes it after.
        Outages(changed.generation + 1, before).write(directory / WANTED_FILE)
    out = ", ".join(f"{region} ({mode.value})" for region, mode in sorted(before.items()))
    kept = f"{out} out" if out else "every Region in"
    return f"the request was withdrawn: the supervisor, when it resumes, keeps {kept}"
