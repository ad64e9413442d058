"""Route 53-like health checkers for the sandbox.

moto stores health checks but never probes an endpoint and never publishes the AWS/Route53
metrics. This module does what Route 53's checkers do, with time scaled down (`time_scale`
multiplies every interval): each health check is probed by several independent checkers, each
every RequestInterval; a checker changes its verdict after FailureThreshold consecutive contrary
results; the check is healthy while more than 18% of checkers say so (Route 53's rule). An
HTTP(S) check passes on a 2xx/3xx within 2 s (connect within 4 s). Each verdict is published as
HealthCheckStatus (1/0) and HealthCheckPercentageHealthy in us-east-1. The alarms on these
metrics are evaluated by `cloudwatch.evaluator`.
"""

from __future__ import annotations

import http
import http.client
import itertools
import math
import ssl
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from opsctl.periodic import PeriodicWorker, stop_all
from opsctl.read.probe import Endpoint, http_exchange

ROUTE53_NAMESPACE = "AWS/Route53"
HEALTHY_FRACTION = 0.18
# Where the sandbox's checkers send from, as Route 53's send from the ranges it publishes for
# them (ip-ranges.json, ROUTE53_HEALTHCHECKS): the sandbox's ip-ranges answer names this one, so
# the resource policy the program builds admits them. On Linux all of 127.0.0.0/8 is loopback.
CHECKER_SOURCE_RANGE = "127.0.53.0/24"
RESPONSE_TIMEOUT_SECONDS = 2.0
DEFAULT_CHECKERS = 3
# Where Route 53 runs health checkers; the sandbox's checkers take these names in turn.
CHECKER_REGIONS = (
    "us-east-1", "eu-west-1", "ap-southeast-1", "us-west-1",
    "sa-east-1", "ap-northeast-1", "us-west-2", "ap-southeast-2",
)  # fmt: skip


@dataclass(frozen=True)
class HealthTarget:
    """One Route 53 health check as the sandbox probes it."""

    health_check_id: str
    url: str  # the check's protocol, FQDN, port and path
    host_header: str  # the FQDN the check is configured with
    interval_seconds: float  # RequestInterval, already scaled
    failure_threshold: int
    address: str | None = None  # where the FQDN lands in the sandbox (a loopback front)


@dataclass(frozen=True)
class ProbeResult:
    passed: bool
    detail: str  # Route 53's wording, e.g. "HTTP Status Code 200, OK"
    checked_at: datetime


def checker_source(index: int) -> str:
    """The `index`th checker's source address, in CHECKER_SOURCE_RANGE."""
    return f"127.0.53.{1 + index % 250}"


@dataclass
class CheckerState:
    region: str = CHECKER_REGIONS[0]
    source: str | None = None  # the address its requests leave from
    healthy: bool = True  # Route 53 treats a new health check as healthy until shown otherwise
    contrary_streak: int = 0
    last: ProbeResult | None = None

    def observation(self) -> dict[str, Any] | None:
        """This checker's latest result as a GetHealthCheckStatus observation."""
        if self.last is None:
            return None
        outcome = "Success" if self.last.passed else "Failure"
        return {
            "Region": self.region,
            "IPAddress": self.source or "127.0.0.1",
            "StatusReport": {
                "Status": f"{outcome}: {self.last.detail}",
                "CheckedTime": self.last.checked_at,
            },
        }

    def observe(self, passed: bool, failure_threshold: int) -> None:
        if passed == self.healthy:
            self.contrary_streak = 0
            return
        self.contrary_streak += 1
        if self.contrary_streak >= failure_threshold:
            self.healthy, self.contrary_streak = passed, 0


def _unverified() -> ssl.SSLContext:
    # Route 53's HTTPS health checks do not validate the endpoint's certificate.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


UNVERIFIED_TLS = _unverified()


def probe_once(target: HealthTarget, source: str | None = None) -> ProbeResult:
    """One checker's request, from `source`: passes on 2xx/3xx within the response timeout."""
    parts = urlsplit(target.url)
    endpoint = Endpoint(f"{parts.scheme}://{parts.netloc}", target.host_header, target.address)
    checked_at = datetime.now(UTC)
    try:
        status, _ = http_exchange(
            endpoint,
            "GET",
            parts.path or "/",
            {"Host": target.host_header},
            None,
            RESPONSE_TIMEOUT_SECONDS,
            UNVERIFIED_TLS,
            source,
        )
    except (OSError, ValueError, http.client.HTTPException) as error:
        return ProbeResult(False, f"Connection failure: {error}", checked_at)
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    return ProbeResult(200 <= status < 400, f"HTTP Status Code {status}, {reason}", checked_at)


class Route53HealthCheckers:
    """Probes every target with `checkers` independent checkers and publishes the metrics."""

    def __init__(
        self,
        targets: list[HealthTarget],
        cloudwatch: Any,
        *,
        checkers: int = DEFAULT_CHECKERS,
        on_observations: Callable[[str, list[dict[str, Any]]], None] | None = None,
        on_status: Callable[[str, bool], None] | None = None,
    ) -> None:
        self.targets = targets
        self.cloudwatch = cloudwatch
        self.checkers = checkers
        self.on_observations = on_observations
        self.on_status = on_status  # the check's verdict, for Route 53's DNS answers
        # Checkers are spread evenly over the interval, as Route 53's are over the world: each
        # tick is the next checker's request.
        self._workers = [
            PeriodicWorker(
                f"hc-{target.health_check_id}",
                self._checkers_of(target),
                target.interval_seconds / checkers,
                fixed_rate=True,
            )
            for target in targets
        ]

    def start(self) -> None:
        for worker in self._workers:
            worker.start()

    def stop(self) -> None:
        stop_all(self._workers)

    def _checkers_of(self, target: HealthTarget) -> Callable[[], None]:
        """One tick of `target`'s checkers: the next one probes, then the verdict is published."""
        states = [
            CheckerState(region=CHECKER_REGIONS[i % len(CHECKER_REGIONS)], source=checker_source(i))
            for i in range(self.checkers)
        ]
        turn = itertools.cycle(states)

        def probe_next() -> None:
            checker = next(turn)
            checker.last = probe_once(target, checker.source)
            checker.observe(checker.last.passed, target.failure_threshold)
            healthy_checkers = sum(state.healthy for state in states)
            if self.on_status is not None:
                self.on_status(
                    target.health_check_id, healthy_checkers / self.checkers > HEALTHY_FRACTION
                )
            self._publish(target, healthy_checkers)
            if self.on_observations is not None:
                observed = [state.observation() for state in states]
                self.on_observations(target.health_check_id, [o for o in observed if o])

        return probe_next

    def _publish(self, target: HealthTarget, healthy_checkers: int) -> None:
        fraction = healthy_checkers / self.checkers
        status = 1.0 if fraction > HEALTHY_FRACTION else 0.0
        now = time.time()
        dimensions = [{"Name": "HealthCheckId", "Value": target.health_check_id}]
        stamp = datetime.fromtimestamp(now, UTC)
        try:
            self.cloudwatch.put_metric_data(
                Namespace=ROUTE53_NAMESPACE,
                MetricData=[
                    {
                        "MetricName": "HealthCheckStatus",
                        "Dimensions": dimensions,
                        "Timestamp": stamp,
                        "Value": status,
                    },
                    {
                        "MetricName": "HealthCheckPercentageHealthy",
                        "Dimensions": dimensions,
                        "Timestamp": stamp,
                        "Value": round(fraction * 100, 1),
                        "Unit": "Percent",
                    },
                ],
            )
        except Exception as error:  # the emulator stopping under us ends the sandbox anyway
            print(
                f"health checker {target.health_check_id}: publishing failed: {error!r}",
                file=sys.stderr,
            )


def scaled(seconds: float, time_scale: float) -> float:
    """An AWS interval in sandbox time, never below 50 ms so loops stay cheap."""
    return max(0.05, math.ceil(seconds * time_scale * 1000) / 1000)
