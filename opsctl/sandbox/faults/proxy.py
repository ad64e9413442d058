"""A loopback HTTP proxy in front of the AWS emulator that fails the requests of chosen Regions.

A Region outage, as an API client sees it: every request SigV4-signed for that Region goes
unanswered, while the other Regions keep answering on the same endpoint. Route 53's control plane,
IAM and STS's global endpoint are signed for us-east-1, so losing us-east-1 takes them along, as on
AWS. Two ways to fail:

- `Fault.REFUSE`: the connection is reset without an answer (a dead endpoint that refuses);
- `Fault.HANG`: the request is read and never answered (a black hole: the client waits for its own
  read timeout). A held request is let go, unanswered, when the fault is cleared, when the proxy
  stops, or after `hang_limit` seconds, whichever comes first.

The tests put it between opsctl and the emulator; the sandbox puts it in front of its emulator so
that `opsctl sandbox outage` can take a Region away.
"""

from __future__ import annotations

import enum
import http.client
import re
import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import unquote, urlsplit

# `Credential=AKID/20261129/us-east-1/route53/aws4_request` in the Authorization header, or the same
# scope URL-encoded in a presigned URL's X-Amz-Credential.
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/(?P<region>[a-z0-9-]+)/")

# Hop-by-hop headers are the proxy's own business, never forwarded (RFC 9110, section 7.6.1).
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)

DEFAULT_HANG_LIMIT = 600.0  # seconds a held request is kept at most (a bound, not a behaviour)
UPSTREAM_TIMEOUT = 60.0  # seconds to wait for the emulator itself


class Fault(enum.Enum):
    REFUSE = "refuse"
    HANG = "hang"


def signed_region(authorization: str | None, target: str) -> str | None:
    """The Region a request is signed for: its SigV4 credential scope, or None when unsigned."""
    for source in (authorization or "", unquote(urlsplit(target).query)):
        match = _CREDENTIAL_SCOPE.search(source.replace("X-Amz-Credential=", "Credential="))
        if match:
            return match.group("region")
    return None


class FaultProxy:
    """Forwards every request to `upstream` unless the Region it is signed for has a fault."""

    def __init__(
        self,
        upstream: str,
        host: str = "127.0.0.1",
        port: int = 0,
        hang_limit: float = DEFAULT_HANG_LIMIT,
    ) -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname or not parts.port:
            raise ValueError(f"upstream must be http://HOST:PORT, got {upstream!r}")
        self.upstream_host: str = parts.hostname
        self.upstream_port: int = parts.port
        self.hang_limit = hang_limit
        self._faults: dict[str, Fault] = {}
        self._lock = threading.Lock()
        # Set when a fault is cleared or the proxy stops: held requests wake up and let go.
        self._released = threading.Condition(self._lock)
        self._stopping = False
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FaultProxy:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fault-proxy", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            self._released.notify_all()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def set_fault(self, region: str, fault: Fault) -> None:
        with self._lock:
            self._faults[region] = fault

    def clear(self, region: str | None = None) -> None:
        """Ends the fault of `region`, or of every Region; held requests are let go unanswered."""
        with self._lock:
            if region is None:
                self._faults.clear()
            else:
                self._faults.pop(region, None)
            self._released.notify_all()

    def faults(self) -> dict[str, Fault]:
        with self._lock:
            return dict(self._faults)

    def fault_for(self, region: str | None) -> Fault | None:
        if region is None:
            return None
        with self._lock:
            return self._faults.get(region)

    def hold(self, region: str) -> None:
        """Blocks a HANG request until its fault is cleared, the proxy stops, or hang_limit."""
        with self._lock:
            self._released.wait_for(
                lambda: self._stopping or self._faults.get(region) is not Fault.HANG,
                timeout=self.hang_limit,
            )


def _handler_for(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class ProxyHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's connection pool expects

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks: list[bytes] = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                    if size == 0:
                        self.rfile.readline()
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _handle(self) -> None:
            body = self._body()
            region = signed_region(self.headers.get("Authorization"), self.path)
            fault = proxy.fault_for(region)
            if fault is Fault.HANG and region is not None:
                proxy.hold(region)
                fault = Fault.REFUSE  # let go unanswered: the client never gets a response
            if fault is Fault.REFUSE:
                self._reset()
                return
            self._forward(body)

        def _reset(self) -> None:
            # SO_LINGER 0: close() sends RST, the client sees "connection reset", not a clean EOF.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True

        def _forward(self, body: bytes) -> None:
            upstream = http.client.HTTPConnection(
                proxy.upstream_host, proxy.upstream_port, timeout=UPSTREAM_TIMEOUT
            )
            try:
                headers = {
                    name: value
                    for name, value in self.headers.items()
                    if name.lower() not in _HOP_BY_HOP
                }
                headers["Content-Length"] = str(len(body))
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                payload = response.read()
            except OSError:
                self._reset()
                return
            finally:
                upstream.close()
            self.send_response_only(response.status, response.reason)
            for name, value in response.getheaders():
                if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle

        def log_message(self, format: str, *args: object) -> None:
            pass

    return ProxyHandler
