"""Reads run concurrently under one deadline: `gather` runs each read at once and hands back its
value or the error that replaced it (`Outcome`); `read_deadline` is how long a round waits.

`gather` runs each read on its own daemon thread rather than in a ThreadPoolExecutor: an executor
joins its workers when it is left and again at interpreter exit, so with AWS not answering one
Ctrl-C waited for every hung read to time out (tens of seconds), and a second one printed the
threading module's traceback. Daemon threads are left behind; the process exits at once.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, wait
from dataclasses import dataclass
from typing import Generic, TypeVar

from opsctl.errors import AwsUnreachable, InputError, OpsctlError

T = TypeVar("T")

# Seconds a round of concurrent reads (status, readiness, the failover probe of Route 53's
# control plane) waits for its answers: a Region that black-holes connections costs this, not the
# SDK's minute of timeouts and retries (its reads are left behind). OPSCTL_READ_DEADLINE overrides.
READ_DEADLINE = 3.5
READ_DEADLINE_ENV = "OPSCTL_READ_DEADLINE"
# What OPSCTL_READ_DEADLINE may be: long enough for one slow round trip, short enough that a
# Region that does not answer never stalls a command for more than minutes (and far below what
# the wait itself can represent).
READ_DEADLINE_RANGE = (0.1, 600.0)


def read_deadline() -> float:
    """READ_DEADLINE, or OPSCTL_READ_DEADLINE when set (seconds, within READ_DEADLINE_RANGE)."""
    configured = os.environ.get(READ_DEADLINE_ENV)
    if not configured:
        return READ_DEADLINE
    try:
        seconds = float(configured)
    except ValueError:
        seconds = math.nan
    low, high = READ_DEADLINE_RANGE
    if not low <= seconds <= high:  # NaN fails too
        raise InputError(
            f"{READ_DEADLINE_ENV} must be a number of seconds from {low:g} to {high:g}, "
            f"got {configured!r}"
        )
    return seconds


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """A concurrent read's value, or the error that replaced it."""

    value: T | None
    error: OpsctlError | None = None


def gather(
    tasks: Mapping[str, Callable[[], T]], timeout: float | None = None
) -> dict[str, Outcome[T]]:
    """Run every read at once; a failing read yields its error instead of sinking the others.

    With `timeout`, a read still running after that many seconds yields an AwsUnreachable and is
    left behind (its thread ends with the SDK's own timeouts). A Ctrl-C while waiting propagates
    at once. Any other exception in a read (something opsctl did not foresee in what a source
    returned) makes that source unreadable with the exception as its reason: one source never
    sinks the others.
    """

    def run(key: str, task: Callable[[], T], future: Future[Outcome[T]]) -> None:
        try:
            future.set_result(Outcome(task()))
        except OpsctlError as error:
            future.set_result(Outcome(None, error))
        except Exception as error:
            unexpected = OpsctlError(
                f"reading {key} failed: unexpected {type(error).__name__}: {error}"
            )
            future.set_result(Outcome(None, unexpected))
        except BaseException as error:  # SystemExit and the like: re-raised in the waiter
            future.set_exception(error)

    futures: dict[str, Future[Outcome[T]]] = {key: Future() for key in tasks}
    for key, task in tasks.items():
        threading.Thread(
            target=run, args=(key, task, futures[key]), name=f"opsctl-read-{key}", daemon=True
        ).start()
    wait(futures.values(), timeout=timeout)
    return {
        key: future.result()
        if future.done()
        else Outcome(None, AwsUnreachable(f"no answer within {timeout:g}s while reading {key}"))
        for key, future in futures.items()
    }
