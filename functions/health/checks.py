"""Deep health checks, each with a time budget, and the Region's failure switch."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from functions.shared.jwks import JwksCache
from functions.shared.observability import logger

# Route 53 wants an answer within 2 s; API Gateway and Lambda need some of that too.
CHECK_BUDGET_SECONDS = 1.0
SWITCH_HEALTHY, SWITCH_FAILING = "healthy", "failing"
PROBE_KEY = {"pk": {"S": "health"}, "sk": {"S": "probe"}}


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    detail: str  # short and safe to show on the unauthenticated /health endpoint


@dataclass(frozen=True)
class HealthReport:
    region: str
    checks: Mapping[str, CheckResult]

    @property
    def healthy(self) -> bool:
        return all(result.ok for result in self.checks.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": "healthy" if self.healthy else "unhealthy",
            "region": self.region,
            "checks": {
                name: {"ok": result.ok, "detail": result.detail}
                for name, result in self.checks.items()
            },
        }


Check = Callable[[], CheckResult]


def _failure_detail(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return f"error: {exc.response.get('Error', {}).get('Code', 'ClientError')}"
    return f"error: {type(exc).__name__}"


def run_checks(checks: Mapping[str, Check], budget_seconds: float) -> dict[str, CheckResult]:
    """Run the checks concurrently; one that has not answered within the budget fails."""
    executor = ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="health")
    try:
        futures = {name: executor.submit(check) for name, check in checks.items()}
        wait(futures.values(), timeout=budget_seconds)
        results: dict[str, CheckResult] = {}
        for name, future in futures.items():
            if not future.done():
                results[name] = CheckResult(ok=False, detail="timeout")
            elif (exc := future.exception()) is not None:
                logger.warning("Health check failed", extra={"check": name, "error": repr(exc)})
                results[name] = CheckResult(ok=False, detail=_failure_detail(exc))
            else:
                results[name] = future.result()
        return results
    finally:
        # A late check finishes on its own (its client has timeouts); never wait for it here.
        executor.shutdown(wait=False, cancel_futures=True)


def table_readable(dynamodb: Any, table_name: str) -> CheckResult:
    """A data-plane read of the Regional replica (the item need not exist)."""
    dynamodb.get_item(TableName=table_name, Key=PROBE_KEY)
    return CheckResult(ok=True, detail="readable")


def signing_keys_loadable(keys: JwksCache) -> CheckResult:
    """Keys the authorizer could verify with: fetched, cached or pinned (KeysUnavailable fails)."""
    key_set = keys.current()
    return CheckResult(ok=True, detail=f"{len(key_set.keys)} keys ({key_set.source})")


def failure_switch(read_switch: Callable[[], str]) -> CheckResult:
    """The operator's drill switch: `failing` makes this Region report unhealthy."""
    value = read_switch().strip().lower()
    if value == SWITCH_HEALTHY:
        return CheckResult(ok=True, detail=SWITCH_HEALTHY)
    if value == SWITCH_FAILING:
        return CheckResult(ok=False, detail=SWITCH_FAILING)
    return CheckResult(ok=False, detail="unexpected value")
