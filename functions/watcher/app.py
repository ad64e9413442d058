"""Scheduled each minute: GET the other Region's health through its custom domain (the signed
twin route, with this function's role) and publish `PeerHealthy` (1 or 0) here, so this Region
can page about the other without us-east-1."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from functools import cache, partial
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.shared import aws
from functions.shared.observability import logger
from functions.shared.settings import ConfigurationError, WatcherSettings
from functions.watcher.metric import publish_peer_healthy
from functions.watcher.peer import (
    WATCH_DEADLINE_SECONDS,
    PeerObservation,
    fetch_health,
    observe_peer,
    signed_headers,
)

# PutMetricData in this Region: a short call, retried once (the peer's GET is never retried).
PUBLISH = aws.ClientTimeouts(connect=1.0, read=2.0, attempts=2)


@dataclass(frozen=True)
class WatcherRuntime:
    settings: WatcherSettings
    cloudwatch: Any
    tls: ssl.SSLContext  # the system's trust store (and SSL_CERT_FILE), hostname checked


@cache
def runtime() -> WatcherRuntime:
    settings = WatcherSettings.from_env()
    return WatcherRuntime(
        settings=settings,
        cloudwatch=aws.client("cloudwatch", settings.region, PUBLISH),
        tls=ssl.create_default_context(),
    )


def observe(current: WatcherRuntime) -> PeerObservation:
    """The peer's signed health route, GET with this function's role; without credentials to
    sign with, unhealthy (API Gateway would refuse the GET anyway)."""
    settings = current.settings
    credentials = aws.credentials()
    if credentials is None:
        return PeerObservation(False, "no credentials to sign the GET")
    fetch = partial(
        fetch_health,
        settings.peer_url,
        settings.peer_address,
        WATCH_DEADLINE_SECONDS,
        current.tls,
        signed_headers(settings.peer_url, settings.peer_region, credentials),
    )
    return observe_peer(fetch, settings.peer_region, WATCH_DEADLINE_SECONDS)


def watch_peer(current: WatcherRuntime) -> PeerObservation:
    settings = current.settings
    observation = observe(current)
    publish_peer_healthy(current.cloudwatch, settings.app, settings.peer_role, observation.value)
    extra = {"peer": settings.peer_role, "peerRegion": settings.peer_region}
    if observation.healthy:
        logger.info("Peer healthy", extra=extra)
    else:
        logger.warning("Peer unhealthy", extra={**extra, "detail": observation.detail})
    return observation


@logger.inject_lambda_context
def handler(event: dict, context: LambdaContext) -> dict:
    try:
        current = runtime()
    except ConfigurationError as exc:
        # Nothing is published, so the alarm (missing data breaching) pages: a watcher that
        # cannot watch is not silence. Not raised: an asynchronous invoke would be retried.
        logger.error("Watcher is misconfigured", extra={"error": str(exc)})
        return {"healthy": None, "detail": f"misconfigured: {exc}"}
    observation = watch_peer(current)
    return {
        "peer": current.settings.peer_role,
        "healthy": observation.healthy,
        "detail": observation.detail,
    }
