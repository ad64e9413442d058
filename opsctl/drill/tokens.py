"""Where a drill's players get their bearer token: given once (`--token`), read from a file
(`--token-file`, read again on every refresh, so a sidecar that rewrites it is followed), or
printed by a command (`--token-command`, run again when the token nears its expiry).

A token's expiry is read from its `exp` claim without verifying it: the API verifies it, the drill
only needs to know when to ask for a new one. A token without `exp` is used as it is.
"""

from __future__ import annotations

import base64
import json
import shlex
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from opsctl.errors import InputError
from opsctl.files import read_regular_file

# A token is renewed once it has less than this left: a player's request (5 s at most) sent with
# it must still be inside its lifetime when the API checks it.
REFRESH_MARGIN_SECONDS = 60.0
# A token command that runs longer than this is stopped and the drill told why.
TOKEN_COMMAND_TIMEOUT_SECONDS = 30.0
MAX_TOKEN_BYTES = 64 << 10


def token_expiry(token: str) -> float | None:
    """The `exp` claim (seconds since the epoch) of a JWT, unverified; None when it has none or
    is not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, UnicodeDecodeError):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None


def _one_token(text: str, source: str) -> str:
    token = text.strip()
    if not token or any(c.isspace() for c in token) or not token.isprintable():
        raise InputError(f"{source} did not give one token (one line, no spaces)")
    return token


@dataclass(frozen=True)
class TokenOrigin:
    """How to get a token; `fetch` returns a fresh one."""

    describe: str  # for messages and the report, never the token itself
    fetch: Callable[[], str]


def token_from_value(token: str) -> TokenOrigin:
    checked = _one_token(token, "--token")
    return TokenOrigin("--token", lambda: checked)


def token_from_file(path: Path) -> TokenOrigin:
    def fetch() -> str:
        text = read_regular_file(path, what="token file", max_bytes=MAX_TOKEN_BYTES)
        return _one_token(text, f"token file {path}")

    return TokenOrigin(f"--token-file {path}", fetch)


def token_from_command(command: str) -> TokenOrigin:
    argv = shlex.split(command)
    if not argv:
        raise InputError("--token-command is empty")

    def fetch() -> str:
        try:
            done = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                timeout=TOKEN_COMMAND_TIMEOUT_SECONDS,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise InputError(
                f"--token-command did not finish within {TOKEN_COMMAND_TIMEOUT_SECONDS:.0f}s"
            ) from None
        except OSError as error:
            raise InputError(f"--token-command could not run: {error.strerror}") from None
        if done.returncode != 0:
            said = done.stderr.strip().splitlines()[-1:] or ["nothing on stderr"]
            raise InputError(f"--token-command exited {done.returncode}: {said[0]}")
        return _one_token(done.stdout, "--token-command")

    return TokenOrigin(f"--token-command {argv[0]}", fetch)


class TokenSource:
    """The players' current token, renewed from its origin when it nears its expiry. Thread-safe:
    every player asks before each request; one of them renews."""

    def __init__(
        self,
        origin: TokenOrigin,
        *,
        margin_seconds: float = REFRESH_MARGIN_SECONDS,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.origin = origin
        self._margin = margin_seconds
        self._clock = wall_clock
        self._lock = threading.Lock()
        self.refreshes = 0  # renewals after the first token
        self._token = origin.fetch()

    def current(self) -> str:
        with self._lock:
            expires = token_expiry(self._token)
            if expires is not None and expires - self._clock() < self._margin:
                self._token = self.origin.fetch()
                self.refreshes += 1
            return self._token


def token_origin(
    token: str | None, token_file: Path | None, token_command: str | None
) -> TokenOrigin:
    """The one origin the flags name; exactly one is required."""
    given = sum(origin is not None for origin in (token, token_file, token_command))
    if given != 1:
        raise InputError(
            "the players need a token: give exactly one of --token, --token-file, --token-command"
        )
    if token is not None:
        return token_from_value(token)
    if token_file is not None:
        return token_from_file(token_file)
    assert token_command is not None
    return token_from_command(token_command)
