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
import os
import socket
import ssl
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from opsctl.errors import InputError, connection_failure_in_words, without_errno

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
    """Where one request to the shared hostname goes: base URL and the Host header to send, and
    optionally the address to connect to instead of resolving the URL's host (as `curl
    --resolve`): TLS still names, and verifies, the URL's host."""

    base_url: str
    host_header: str
    address: str | None = None


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


@functools.cache
def _verifying_context(extra_ca_file: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    system = ssl.get_default_verify_paths().openssl_cafile
    if extra_ca_file and os.path.isfile(system):
        # SSL_CERT_FILE replaced OpenSSL's default CA file above: keep the system's CAs too.
        context.load_verify_locations(cafile=system)
    return context


def verifying_context() -> ssl.SSLContext:
    """TLS as a browser would check it: the system's trusted CAs, extended by the file the
    standard `SSL_CERT_FILE` names (the sandbox's CA, a corporate one); host names verified."""
    return _verifying_context(os.environ.get(ssl.get_default_verify_paths().openssl_cafile_env))


def http_exchange(
    endpoint: Endpoint,
    method: str,
    path: str,
    headers: dict[str, str],
    data: bytes | None,
    timeout: float,
    context: ssl.SSLContext | None = None,
    source_address: str | None = None,
) -> tuple[int, bytes]:
    """One HTTP(S) exchange: status and body. HTTPS is verified by `context`, by default
    `verifying_context()`; the connection leaves from `source_address` when given. Raises
    OSError, ValueError or HTTPException when it fails."""
    parts = urlsplit(endpoint.base_url)
    host = parts.hostname or ""
    source = None if source_address is None else (source_address, 0)
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(
            host,
            parts.port,
            timeout=timeout,
            context=context or verifying_context(),
            source_address=source,
        )
    elif parts.scheme == "http":
        connection = http.client.HTTPConnection(
            host, parts.port, timeout=timeout, source_address=source
        )
    else:
        raise ValueError(f"unsupported URL scheme {parts.scheme!r}")
    if endpoint.address is not None:
        address = endpoint.address
        # http.client's connect hook: the TCP connection goes to `address`, while SNI, the
        # certificate check and the Host header keep the URL's name.
        connection._create_connection = (  # type: ignore[attr-defined]  # private: not in typeshed
            lambda target, *args: socket.create_connection((address, target[1]), *args)
        )
    try:
        connection.request(method, parts.path + path, body=data, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


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
    try:
        status, raw = http_exchange(endpoint, method, path, request_headers, data, timeout)
    # A refused or timed-out connection and a certificate that does not verify are OSErrors,
    # InvalidURL a ValueError; a response cut off mid-body (a front killed as its Region goes
    # out) an HTTPException such as IncompleteRead.
    except (OSError, ValueError, http.client.HTTPException) as error:
        if isinstance(error, ConnectionRefusedError | TimeoutError):
            reason = connection_failure_in_words(error, timeout)  # `refused`, `no answer in 2 s`
        else:
            reason = without_errno(str(error)) or type(error).__name__
        return ApiResponse(None, None, reason, (time.perf_counter() - started) * 1000)
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
