"""One bound for a whole network exchange.

Socket timeouts bound each operation, not their sum, and name resolution not at all
(getaddrinfo has no timeout): a slow resolver or a server trickling bytes could hold an
invocation far past its budget. `call_within` runs the exchange on a daemon thread and waits for
it at most the deadline; an exchange still stuck after that ends on its own (its socket
operations carry their own timeouts) or with the environment.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class DeadlineExceeded(Exception):
    """The work did not finish within its deadline."""


def call_within(work: Callable[[], T], deadline: float, name: str) -> T:
    """`work()`'s result (or its exception) if it finishes within `deadline` seconds; else
    DeadlineExceeded. `name` names the thread."""
    outcome: list[T] = []
    failure: list[BaseException] = []
    finished = threading.Event()

    def run() -> None:
        try:
            outcome.append(work())
        except Exception as exc:
            failure.append(exc)
        finally:
            finished.set()

    threading.Thread(target=run, name=name, daemon=True).start()
    if not finished.wait(deadline):
        raise DeadlineExceeded(f"{name} exceeded its {deadline:g} s deadline")
    if failure:
        raise failure[0]
    return outcome[0]
