"""What this Region sees of the other: one GET of the peer's health route through its custom
domain, signed with this function's role (SigV4, `execute-api`, the peer's Region), judged. One
attempt per invocation, bounded as a whole: the schedule is the retry."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

from functions.shared.deadline import DeadlineExceeded, call_within

# Connect, TLS handshake and answer, all of it (Route 53's checkers allow 4 s to connect and 2 s
# to answer; the peer's health function answers within about 1 s).
WATCH_DEADLINE_SECONDS = 4.0
MAX_BODY_BYTES = 64 * 1024
USER_AGENT = "multi-region-authorizer-watcher"


@dataclass(frozen=True)
class PeerAnswer:
    status: int
    body: bytes


@dataclass(frozen=True)
class PeerObservation:
    healthy: bool
    detail: str  # why, in a few words: "HTTP 200", "HTTP 500", "timeout", "bad JSON", ...

    @property
    def value(self) -> float:
        """`PeerHealthy`'s datapoint."""
        return 1.0 if self.healthy else 0.0


def _host_and_port(address: str, default_port: int) -> tuple[str, int]:
    if address.startswith("["):  # [IPv6]:port
        host, _, port = address[1:].partition("]")
        return host, int(port.removeprefix(":") or default_port)
    if address.count(":") == 1:
        host, port = address.split(":")
        return host, int(port)
    return address, default_port


def signed_headers(url: str, region: str, credentials: ReadOnlyCredentials) -> dict[str, str]:
    """SigV4 headers for a GET of `url` by API Gateway's rules (`execute-api` in `region`); the
    Host signed is the one `fetch_health` sends, the URL's host."""
    request = AWSRequest(method="GET", url=url, headers={"Host": urlsplit(url).hostname or ""})
    SigV4Auth(credentials, "execute-api", region).add_auth(request)
    return {name: value for name, value in request.headers.items() if name.lower() != "host"}


def fetch_health(
    url: str,
    address: str,
    timeout: float,
    tls: ssl.SSLContext,
    signature: Mapping[str, str] | None = None,
) -> PeerAnswer:
    """GET `url` from `address` (host[:port]) with the `signature` headers: the TLS server name
    and the Host header are the URL's host, so the peer's custom domain of that name answers,
    with its own certificate, verified against that name. No redirects followed, nothing
    retried."""
    parts = urlsplit(url)
    server_name = parts.hostname or ""
    secure = parts.scheme == "https"
    host, port = _host_and_port(address, 443 if secure else 80)
    sock: socket.socket = socket.create_connection((host, port), timeout=timeout)
    try:
        if secure:
            sock = tls.wrap_socket(sock, server_hostname=server_name)
        connection = http.client.HTTPConnection(server_name, port, timeout=timeout)
        connection.sock = sock  # already connected (and TLS-wrapped) to the peer's address
        connection.putrequest("GET", parts.path or "/", skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", server_name)
        connection.putheader("Accept", "application/json")
        connection.putheader("User-Agent", USER_AGENT)
        for name, value in (signature or {}).items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return PeerAnswer(response.status, response.read(MAX_BODY_BYTES + 1))
    finally:
        sock.close()


def judge(answer: PeerAnswer, peer_region: str) -> PeerObservation:
    """Healthy: 200 with the health document of the peer's own Region."""
    if answer.status != 200:
        return PeerObservation(False, f"HTTP {answer.status}")
    if len(answer.body) > MAX_BODY_BYTES:
        return PeerObservation(False, "answer too large")
    try:
        document = json.loads(answer.body)
    except ValueError:
        return PeerObservation(False, "bad JSON")
    if not isinstance(document, dict):
        return PeerObservation(False, "bad JSON")
    region = document.get("region")
    if region != peer_region:
        # The name is mapped to another Region's API: what a broken mapping looks like.
        return PeerObservation(False, f"answered for {region!r}, not {peer_region}")
    return PeerObservation(True, "HTTP 200")


def observe_peer(
    fetch: Callable[[], PeerAnswer], peer_region: str, deadline: float
) -> PeerObservation:
    """One attempt, at most `deadline` seconds; every failure is an observation, never raised."""
    try:
        answer = call_within(fetch, deadline, "peer-watch")
    except (DeadlineExceeded, TimeoutError):
        return PeerObservation(False, "timeout")
    except ssl.SSLCertVerificationError as exc:
        return PeerObservation(False, f"certificate: {exc.verify_message}")
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return PeerObservation(False, f"unreachable: {type(exc).__name__}")
    return judge(answer, peer_region)
