"""Domain errors and the exit codes they map to (the contract in docs/contracts.md).

Every failure the operator can meet is one of these: the CLI prints its message as one line on
stderr and exits with its code, never with a traceback.
"""

from __future__ import annotations

import re
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    NOT_APPROVED = 3
    REFUSED = 4
    CONFLICT = 5
    INTERRUPTED = 130  # Ctrl-C: the shell's convention (128 + SIGINT)


class OpsctlError(Exception):
    """Base class: a failure with an operator-facing one-line message."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TopologyError(OpsctlError):
    """The topology could not be read, parsed, validated or discovered."""


class AwsError(OpsctlError):
    """An AWS call failed (credentials, network, service error)."""

    def __init__(self, message: str, doing: str = "") -> None:
        super().__init__(message)
        self.doing = doing  # what opsctl was doing: "reading the Lambda account settings"


class AwsUnreachable(AwsError):
    """AWS gave no answer: refused or dropped connection, timeout, or a 5xx (the service, or its
    whole Region, is impaired). Unlike an error AWS answered with, this says nothing about the
    request; for Route 53's control plane it is the cue for the data-plane lever."""


class RecordsError(OpsctlError):
    """The weighted records are missing or do not look like the expected pair."""


class ChangeUnconfirmedError(AwsError):
    """Route 53 gave no answer to a change request (timeout, 5xx): it may or may not be applied."""


class ChangeTimeoutError(OpsctlError):
    """A submitted Route 53 change did not reach INSYNC in time (it was applied, not propagated)."""


class InputError(OpsctlError):
    """A flag value is invalid (bad --steps, --reason missing, ...)."""

    exit_code = ExitCode.USAGE


class PreflightRefused(OpsctlError):
    """A preflight check failed; nothing changed. `--force` overrides."""

    exit_code = ExitCode.REFUSED


class ConflictError(OpsctlError):
    """The records changed between our read and our write; Route 53 rejected the batch."""

    exit_code = ExitCode.CONFLICT


_DENIED_CODES = ("AccessDenied", "UnauthorizedOperation", "AuthorizationError", "Forbidden")


def short_reason(message: str) -> str:
    """What happened, in a few words, from an error message: `no answer within 3.5s`,
    `refused`, `denied (AccessDeniedException)`, `connection closed without an answer`; else the
    message without the request's URL."""
    within = re.search(r"no answer within ([\d.]+) ?s", message)
    if within:
        return f"no answer within {within.group(1)}s"
    refused = re.search(r"AWS refused (\w+) while .*?: ([\w.]+): ", message)
    if refused:
        operation, code = refused.groups()
        if code.startswith(_DENIED_CODES):
            return f"denied ({code} on {operation})"
        return f"refused by AWS ({code} on {operation})"
    for needle, said in (
        ("gave no answer", "no answer"),
        ("did not answer in time", "no answer in time (read timeout)"),
        ("Read timeout", "no answer in time (read timeout)"),
        ("Connection was closed", "connection closed without an answer"),
        ("Connection reset", "connection reset"),
        ("Connection refused", "refused"),
        ("Could not connect", "refused"),
        ("cannot reach AWS", "unreachable"),
    ):
        if needle in message:
            return said
    without_url = re.sub(r':? ?(on|from)? ?endpoint URL: "[^"]*"\.?', "", message)
    return without_url.replace("None", "-").strip()


def error_in_words(error: OpsctlError) -> str:
    """What happened and while doing what, without the SDK's raw message or its URL:
    `connection closed without an answer while reading the Lambda account settings`."""
    reason = short_reason(error.message)
    doing = error.doing if isinstance(error, AwsError) else ""
    return f"{reason} while {doing}" if doing and doing not in reason else reason


# `[Errno 111] ` before a socket error's words: the number tells an operator nothing.
_ERRNO = re.compile(r"\[Errno -?\d+\] ")


def without_errno(message: str) -> str:
    """`[Errno 111] Connection refused` -> `Connection refused`."""
    return _ERRNO.sub("", message)


def connection_failure_in_words(error: BaseException, timeout: float) -> str:
    """A connection's failure as an operator reads it: `refused`, `no answer in 2 s`, else what
    the socket said without its errno."""
    if isinstance(error, ConnectionRefusedError):
        return "refused"
    if isinstance(error, TimeoutError):
        return f"no answer in {timeout:g} s"
    return f"no answer: {without_errno(str(error)) or type(error).__name__}"
