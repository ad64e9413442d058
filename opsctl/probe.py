"""The probe: N authorized requests to the shared hostname, which Region answered, status codes.

The hostname is resolved per request by a Resolver: on AWS through public DNS (Route 53 answers
the weighted records), in the sandbox through the sandbox's DNS server, which answers by Route
53's rules from the emulator, with a stub resolver that keeps each answer for its TTL. The
serving Region comes from the API's own answer (the API function reports `region`), so the
probe shows where traffic really lands.
"""

from __future__ import annotations

import functools
import http.client
import json
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from opsctl.errors import InputError

DEFAULT_PATH = "/whoami"
DEFAULT_TIMEOUT_SECONDS = 5.0


def require_request_path(path: str) -> None:
    """A path the request line can carry as given: absolute, printable ASCII, no spaces (else
    it would be glued onto the host name, or refused deep in the HTTP client)."""
    if not (path.startswith("/") and path.isascii() and path.isprintable() and " " not in path):
        raise InputError(
            f"--path must start with / and hold no spaces or control characters: {path!r}"
        )


@dataclass(frozen=True)
class Endpoint:
    """Where one request to the shared hostname goes: base URL and the Host header to send."""

    base_url: str
    host_header: str
    # HTTPS to an address: the name the TLS handshake asks for and the certificate is checked
    # against (the hostname the address was resolved for).
    server_name: str | None = None


class _NamedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to an address, with another name for SNI and the certificate check."""

    def __init__(self, host: str, *, server_name: str, **kwargs: Any) -> None:
        super().__init__(host, **kwargs)
        self._server_name = server_name

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self._server_name)


class _NamedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, server_name: str, context: ssl.SSLContext | None = None) -> None:
        super().__init__(context=context or ssl.create_default_context())
        self._server_name = server_name

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        connection = functools.partial(
            _NamedHTTPSConnection, server_name=self._server_name, context=self._context
        )
        return self.do_open(connection, req)


def _opener(endpoint: Endpoint) -> Callable[..., Any]:
    """urlopen, or for HTTPS to an address an opener that names the hostname in TLS."""
    if endpoint.server_name is None:
        return urllib.request.urlopen
    return urllib.request.build_opener(_NamedHTTPSHandler(endpoint.server_name)).open


class Resolver(Protocol):
    def resolve(self, hostname: str) -> Endpoint: ...


class DnsResolver:
    """Public DNS: HTTPS straight to the hostname, so the OS resolver asks Route 53."""

    def resolve(self, hostname: str) -> Endpoint:
        name = hostname.rstrip(".")
        return Endpoint(base_url=f"https://{name}", host_header=name)


@dataclass(frozen=True)
class ApiResponse:
    """One answer from the API: status, parsed JSON body (if any) and the Region it reports."""

    status: int | None  # None when no HTTP answer came back at all
    body: dict[str, Any] | None
    error: str | None
    latency_ms: float

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def region(self) -> str | None:
        if self.body is None:
            return None
        region = self.body.get("region")
        return region if isinstance(region, str) else None


def call_api(
    hostname: str,
    resolver: Resolver,
    *,
    method: str = "GET",
    path: str = DEFAULT_PATH,
    token: str | None = None,
    json_body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> ApiResponse:
    """One request to the shared hostname; never raises for network or HTTP errors."""
    started = time.perf_counter()
    try:
        endpoint = resolver.resolve(hostname)
    except Exception as error:
        return ApiResponse(None, None, f"resolve: {error}", 0.0)
    request_headers = {
        "Host": endpoint.host_header,
        "Accept": "application/json",
        **(headers or {}),
    }
    if token:
        request_headers["Authorization"] = f"Bearer {token}"
    data = None
    if json_body is not None:
        data = json.dumps(json_body).encode()
        request_headers["Content-Type"] = "application/json"
    request = urllib.request.Request(
        endpoint.base_url + path, data=data, method=method, headers=request_headers
    )
    try:
        with _opener(endpoint)(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    # URLError is an OSError, InvalidURL a ValueError; a response cut off mid-body (a front
    # killed as its Region goes out) an HTTPException such as IncompleteRead.
    except (OSError, ValueError, http.client.HTTPException) as error:
        reason = getattr(error, "reason", error)
        return ApiResponse(None, None, str(reason), (time.perf_counter() - started) * 1000)
    latency_ms = (time.perf_counter() - started) * 1000
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = None
    body = parsed if isinstance(parsed, dict) else None
    return ApiResponse(status, body, None, latency_ms)


@dataclass(frozen=True)
class ProbeReport:
    hostname: str
    path: str
    responses: list[ApiResponse] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(not response.ok for response in self.responses)

    def by_region(self) -> dict[str, int]:
        """Answers per serving Region ("-" when the request got no answer naming one)."""
        return dict(Counter(response.region or "-" for response in self.responses))

    def by_status(self) -> dict[str, int]:
        """Answers per HTTP status ("error" when no HTTP answer came back)."""
        return dict(
            Counter(str(r.status) if r.status is not None else "error" for r in self.responses)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "hostname": self.hostname,
            "path": self.path,
            "count": len(self.responses),
            "failed": self.failed,
            "byRegion": self.by_region(),
            "byStatus": self.by_status(),
            "errors": sorted({r.error for r in self.responses if r.error}),
        }


def probe(
    hostname: str,
    resolver: Resolver,
    *,
    token: str | None,
    count: int,
    path: str = DEFAULT_PATH,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> ProbeReport:
    """`count` authorized GETs of `path` on the shared hostname, each resolved afresh."""
    if count < 1:
        raise ValueError("count must be at least 1")  # the CLI bounds --count when parsing
    require_request_path(path)
    responses = [
        call_api(hostname, resolver, path=path, token=token, timeout=timeout) for _ in range(count)
    ]
    return ProbeReport(hostname=hostname.rstrip("."), path=path, responses=responses)
