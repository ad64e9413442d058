"""The direct probe of a Region's healthUrl from the operator's machine: one bounded GET of its
signed twin (opsctl.read.signing), its host asked of the zone's name servers first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import dns.inet

from opsctl.read.dns_answers import zone_answer
from opsctl.read.probe import ApiResponse, Endpoint, call_api
from opsctl.read.signing import (
    NO_CREDENTIALS,
    HealthSigner,
    NoSigningCredentials,
    signed_health_url,
)

# Seconds the direct probe of a Region's healthUrl waits for an answer.
HEALTH_PROBE_TIMEOUT = 2.0


@dataclass(frozen=True)
class HealthProbe:
    """One GET of the Region's healthUrl from the operator's machine (needs nothing in AWS)."""

    url: str
    status: int | None  # None: no HTTP answer (refused, timed out, not resolvable)
    latency_ms: float
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def __str__(self) -> str:
        if self.error == NO_CREDENTIALS:
            return self.error
        if self.status is None:
            return self.error or "no answer"  # in words: `refused`, `no answer in 2 s`, ...
        return f"HTTP {self.status} in {self.latency_ms:.0f} ms"

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "status": self.status,
            "ok": self.ok,
            "latencyMs": round(self.latency_ms, 1),
            "error": self.error,
        }


@dataclass(frozen=True)
class _DirectUrl:
    """The healthUrl's own host, connected at `address` when the zone's name servers know it
    (the sandbox's answer its API names), else as the operator's system resolves it."""

    url: str
    address: str | None = None

    def resolve(self, hostname: str) -> Endpoint:
        parts = urlsplit(self.url)
        return Endpoint(f"{parts.scheme}://{parts.netloc}", parts.netloc, self.address)


def probe_health_url(
    url: str,
    region: str,
    signer: HealthSigner,
    timeout: float = HEALTH_PROBE_TIMEOUT,
    servers: Sequence[tuple[str, int]] = (),
) -> HealthProbe:
    """GET the healthUrl's signed twin, signed for `region`; its host is asked of the zone's
    name servers first (`servers`)."""
    signed = signed_health_url(url)
    parts = urlsplit(signed)
    host = parts.hostname or ""
    try:
        signature = signer.headers(parts.netloc, parts.path, region)
    except NoSigningCredentials as error:
        return HealthProbe(signed, None, 0.0, str(error))
    by_zone = servers and not dns.inet.is_address(host)
    known = zone_answer(host, servers, "A", timeout) if by_zone else ()
    response: ApiResponse = call_api(
        host,
        _DirectUrl(signed, known[0] if known else None),
        path=parts.path or "/",
        headers=signature,
        timeout=timeout,
    )
    return HealthProbe(signed, response.status, response.latency_ms, response.error)
