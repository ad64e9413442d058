"""A caching stub resolver for the sandbox's clients: the probe and the drill's players.

Like the stub resolver in a player's device, it asks a DNS server for the shared hostname's A
record and keeps the answer for its TTL; only then does it ask again. So after a switch a client
keeps going to the Region it was sent to until its cached answer expires, as on the Internet.
The server is the sandbox's (route53/name_server.py, `$OPSCTL_SANDBOX_DNS`); each Region's
front listens on its own loopback addresses, all on one port. The request then goes over HTTPS
to the answered address, with the shared name for TLS (SNI, the certificate's check) and as Host,
as a browser's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

from opsctl.read.probe import Endpoint
from opsctl.sandbox.route53.answers import ResolutionError
from opsctl.sandbox.state import SandboxState

QUERY_TIMEOUT_SECONDS = 1.0
QUERY_ATTEMPTS = 2  # a stub resolver asks again when a query goes unanswered (glibc: 2)


@dataclass(frozen=True)
class CachedAnswer:
    address: str
    ttl: int
    expires_at: float  # on the resolver's clock


def parse_address(address: str) -> tuple[str, int]:
    """ "127.0.0.1:5353" -> ("127.0.0.1", 5353)."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"expected HOST:PORT, got {address!r}")
    return host, int(port)


class CachingStubResolver:
    """Resolves through one DNS server (UDP, TCP when truncated; asked twice before giving up),
    caching each answer for its TTL."""

    def __init__(
        self,
        server: str,
        https_port: int,
        *,
        timeout: float = QUERY_TIMEOUT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.server_host, self.server_port = parse_address(server)
        self.https_port = https_port
        self.timeout = timeout
        self.clock = clock
        self.queries = 0  # sent to the server (the cache answered the rest)
        self._cache: dict[str, CachedAnswer] = {}
        self._lock = threading.Lock()

    def lookup(self, hostname: str) -> CachedAnswer:
        name = hostname.lower().rstrip(".")
        now = self.clock()
        with self._lock:
            cached = self._cache.get(name)
        if cached is not None and now < cached.expires_at:
            return cached
        answer = self._query(name, now)
        with self._lock:
            self._cache[name] = answer
        return answer

    def _query(self, name: str, now: float) -> CachedAnswer:
        query = dns.message.make_query(name + ".", dns.rdatatype.A)
        for attempt in range(1, QUERY_ATTEMPTS + 1):
            self.queries += 1
            try:
                response, _ = dns.query.udp_with_fallback(
                    query, self.server_host, timeout=self.timeout, port=self.server_port
                )
                break
            except (dns.exception.DNSException, OSError) as error:
                if attempt == QUERY_ATTEMPTS:
                    raise ResolutionError(
                        f"DNS server {self.server_host}:{self.server_port} did not answer {name} "
                        f"within {QUERY_ATTEMPTS} x {self.timeout:.1f}s: {error!r}"
                    ) from None
        if response.rcode() != dns.rcode.NOERROR:
            raise ResolutionError(f"{name}: {dns.rcode.to_text(response.rcode())}")
        for rrset in response.answer:
            if rrset.rdtype == dns.rdatatype.A:
                return CachedAnswer(rrset[0].address, rrset.ttl, now + rrset.ttl)
        raise ResolutionError(f"{name} has no A record")

    def resolve(self, hostname: str) -> Endpoint:
        answer = self.lookup(hostname)
        name = hostname.rstrip(".")
        return Endpoint(
            base_url=f"https://{name}:{self.https_port}", host_header=name, address=answer.address
        )


def sandbox_resolver(state: SandboxState) -> CachingStubResolver:
    """A player's resolver for the running sandbox: its DNS server, its fronts' port."""
    if not state.dns:
        raise ResolutionError("this sandbox has no DNS server (started by an older opsctl?)")
    return CachingStubResolver(state.dns, front_port(state))


def front_port(state: SandboxState) -> int:
    """The one port every front address of the sandbox listens on."""
    ports = {parse_address(address)[1] for address in state.every_front_address()}
    if len(ports) != 1:
        raise ResolutionError(f"the sandbox's fronts do not share one port: {sorted(ports)}")
    return ports.pop()
