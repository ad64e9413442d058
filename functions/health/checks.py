"""Deep health checks, each with a time budget, and the Region's failure switch.

A check says `ok`, `degraded` or `failed`. Only `failed` makes the Region unhealthy, and only
for what failing over can fix: this Region's serving path (its authorizer, its table replica)
or the operator's switch. Dependencies both Regions share (the identity provider's keys) and
the switch's own store (SSM, not on the request path) are reported as degraded while the
Region can still serve. Details are short fixed words, safe on an unauthenticated endpoint:
never an AWS error code or message (those go to the log).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from functions.shared.jwks import JwksCache, KeySource
from functions.shared.observability import logger
from stack_topology import FailureSwitch

# Route 53 wants an answer within 2 s; API Gateway and Lambda need some of that too.
CHECK_BUDGET_SECONDS = 1.0
PROBE_KEY = {"pk": {"S": "health"}, "sk": {"S": "probe"}}
CANARY_EVENT = {"type": "HEALTH_CANARY"}


class CheckState(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"  # reported; the Region still serves
    FAILED = "failed"  # the Region cannot serve (or is drilled out)


@dataclass(frozen=True)
class CheckResult:
    state: CheckState
    detail: str  # short and safe to show on the unauthenticated /health endpoint


@dataclass(frozen=True)
class Check:
    run: Callable[[], CheckResult]
    # What a check that raised or ran out of time means: FAILED for this Region's serving path,
    # DEGRADED for what failing over cannot fix.
    on_error: CheckState = CheckState.FAILED


@dataclass(frozen=True)
class HealthReport:
    region: str
    checks: Mapping[str, CheckResult]

    @property
    def healthy(self) -> bool:
        return all(result.state is not CheckState.FAILED for result in self.checks.values())

    @property
    def status(self) -> str:
        if not self.healthy:
            return "unhealthy"
        if any(result.state is CheckState.DEGRADED for result in self.checks.values()):
            return "degraded"
        return "healthy"

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "region": self.region,
            "checks": {
                name: {"status": result.state.value, "detail": result.detail}
                for name, result in self.checks.items()
            },
        }


def run_checks(checks: Mapping[str, Check], budget_seconds: float) -> dict[str, CheckResult]:
    """Run the checks concurrently; one that raised or has not answered within the budget gets
    its `on_error` state."""
    executor = ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="health")
    try:
        futures = {name: executor.submit(check.run) for name, check in checks.items()}
        wait(futures.values(), timeout=budget_seconds)
        results: dict[str, CheckResult] = {}
        for name, future in futures.items():
            on_error = checks[name].on_error
            if not future.done():
                results[name] = CheckResult(on_error, "timeout")
            elif (exc := future.exception()) is not None:
                logger.warning("Health check failed", extra={"check": name, "error": repr(exc)})
                results[name] = CheckResult(on_error, "unavailable")
            else:
                results[name] = future.result()
        return results
    finally:
        # A late check finishes on its own (its client has timeouts); never wait for it here.
        executor.shutdown(wait=False, cancel_futures=True)


def table_readable(dynamodb: Any, table_name: str) -> CheckResult:
    """A data-plane read of the Regional replica (the item need not exist)."""
    dynamodb.get_item(TableName=table_name, Key=PROBE_KEY)
    return CheckResult(CheckState.OK, "readable")


def authorizer_answers(lambda_client: Any, alias_arn: str, region: str) -> CheckResult:
    """Invoke the authorizer's alias (what API Gateway calls) with the canary event and require
    its correct answer: a broken alias, version, provisioned concurrency, configuration or
    revocation read fails here."""
    response = lambda_client.invoke(
        FunctionName=alias_arn, Payload=json.dumps(CANARY_EVENT).encode()
    )
    payload = response["Payload"].read()
    if response.get("FunctionError"):
        logger.warning("Authorizer canary failed", extra={"answer": payload[:500].decode()})
        return CheckResult(CheckState.FAILED, "error")
    try:
        answer = json.loads(payload)
    except ValueError:
        answer = None
    if (
        not isinstance(answer, dict)
        or answer.get("canary") != "ok"
        or answer.get("region") != region
    ):
        logger.warning("Authorizer canary answered wrongly", extra={"answer": repr(answer)[:500]})
        return CheckResult(CheckState.FAILED, "wrong answer")
    return CheckResult(CheckState.OK, "answers")


def signing_keys_loadable(keys: JwksCache) -> CheckResult:
    """Keys a token could be verified with. The identity provider serves both Regions, so its
    outage is never this Region's failure: pinned keys (or none) are reported as degraded."""
    key_set = keys.current()
    state = CheckState.OK if key_set.source is KeySource.REMOTE else CheckState.DEGRADED
    return CheckResult(state, f"{len(key_set.keys)} keys ({key_set.source})")


class SwitchUnknown(Exception):
    """The switch has never been read in this environment and cannot be read now."""


class LastKnownSwitch:
    """The failure switch, read at most every `max_age` seconds and at most `deadline` seconds
    per read; a read that fails or is slow is answered with the last value read (stale)."""

    def __init__(
        self,
        read: Callable[[], str],
        *,
        max_age: float,
        deadline: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._max_age = max_age
        self._deadline = deadline
        self._clock = clock
        self._value: str | None = None
        self._read_at = float("-inf")
        self._pending: Future[str] | None = None
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="switch")

    def value(self) -> tuple[str, bool]:
        """(value, fresh): fresh is False when the last known value stood in for a read."""
        with self._lock:
            if self._value is not None and self._clock() - self._read_at < self._max_age:
                return self._value, True
            if self._pending is None:
                self._pending = self._executor.submit(self._read)
            pending = self._pending
        wait([pending], timeout=self._deadline)
        with self._lock:
            if pending.done():
                if self._pending is pending:
                    self._pending = None
                if pending.exception() is None:
                    self._value, self._read_at = pending.result(), self._clock()
                    return self._value, True
                logger.warning(
                    "Failure switch read failed", extra={"error": repr(pending.exception())}
                )
            if self._value is None:
                raise SwitchUnknown("the failure switch has never been read")
            return self._value, False


def failure_switch(switch: LastKnownSwitch) -> CheckResult:
    """The operator's drill switch: `failing` makes this Region report unhealthy."""
    try:
        raw, fresh = switch.value()
    except SwitchUnknown:
        return CheckResult(CheckState.DEGRADED, "unknown")
    value = raw.strip().lower()
    if value == FailureSwitch.FAILING:
        return CheckResult(CheckState.FAILED, FailureSwitch.FAILING)
    if value != FailureSwitch.HEALTHY:
        return CheckResult(CheckState.FAILED, "unexpected value")
    if fresh:
        return CheckResult(CheckState.OK, FailureSwitch.HEALTHY)
    return CheckResult(CheckState.DEGRADED, f"{FailureSwitch.HEALTHY} (last known)")
