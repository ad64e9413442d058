"""The one place AWS SDK clients are built.

Clients come from botocore directly: the functions only need the client layer, and skipping
boto3's session/resource layer keeps it out of the authorizer's cold start. Endpoints and
credentials come from the standard environment (`AWS_ENDPOINT_URL` points them at a local
emulator in tests and the sandbox); nothing is hard-coded.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.credentials import ReadOnlyCredentials


@dataclass(frozen=True)
class ClientTimeouts:
    """Connect/read timeouts (seconds) and total attempts for one client."""

    connect: float = 1.0
    read: float = 2.0
    attempts: int = 3


# A tight budget for calls that must answer within a health check's deadline.
FAST_FAIL = ClientTimeouts(connect=0.5, read=0.7, attempts=1)
# Calls on the authorizer's request path (the revocation refresh): a small Query answers in
# milliseconds, so one retry of a short read is plenty, and a slow table costs a request at most
# ~3 s (two attempts plus standard-mode backoff) instead of outliving the function's timeout.
REQUEST_PATH = ClientTimeouts(connect=0.5, read=0.5, attempts=2)

# botocore sessions are not safe to create clients from concurrently.
_session_lock = threading.Lock()


@cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@cache
def client(service: str, region: str, timeouts: ClientTimeouts = ClientTimeouts()) -> Any:
    """Return a cached low-level client for `service` in `region`."""
    config = Config(
        connect_timeout=timeouts.connect,
        read_timeout=timeouts.read,
        retries={"mode": "standard", "total_max_attempts": timeouts.attempts},
    )
    with _session_lock:
        return _session().create_client(service, region_name=region, config=config)


def credentials() -> ReadOnlyCredentials | None:
    """The function's own credentials (its role's, from the environment), frozen for one use;
    None when there are none."""
    with _session_lock:
        found = _session().get_credentials()
    return None if found is None else found.get_frozen_credentials()
