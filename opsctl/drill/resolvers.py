"""How a drill's players find the shared hostname.

`--dns system` (the default): this machine's resolver, as a client on it would ask, with the
short cache a client keeps (the OS's stub resolver often keeps none, and the TTL is not exposed
to it). `--dns authoritative`: a player that asks the hosted zone's own name servers for the shared
hostname and keeps each answer for its TTL, then sends HTTPS to the answered address with the
hostname for TLS (SNI and the certificate check, as a browser does) and as Host. Route 53 answers
an alias record with the target's addresses and the target's TTL (60 s for API Gateway), so the
player follows a shift once that TTL has run out, without the operator's resolver or its cache
in between."""

from __future__ import annotations

import socket
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

import dns.exception
import dns.nameserver
import dns.resolver

from opsctl.errors import AwsError
from opsctl.read.dns_answers import DNS_QUERY_TIMEOUT, zone_servers
from opsctl.read.probe import Endpoint
from stack_topology import Topology


@dataclass(frozen=True)
class Answer:
    address: str
    expires_at: float


class CachingResolver(ABC):
    """A player's resolver: keeps each answer until it expires, then asks again (`_ask`), and
    sends HTTPS to the address with the hostname for TLS (SNI and the certificate check) and as
    Host."""

    def __init__(
        self,
        *,
        scheme: str = "https",
        port: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._scheme = scheme
        self._port = port
        self._clock = clock
        self._lock = threading.Lock()
        self._answers: dict[str, Answer] = {}

    @abstractmethod
    def _ask(self, name: str) -> tuple[str, float]:
        """The address for `name` and how many seconds to keep it."""

    def lookup(self, hostname: str) -> str:
        name = hostname.rstrip(".").lower()
        now = self._clock()
        with self._lock:
            cached = self._answers.get(name)
        if cached is not None and now < cached.expires_at:
            return cached.address
        address, keep_seconds = self._ask(name)
        with self._lock:
            self._answers[name] = Answer(address, now + keep_seconds)
        return address

    def resolve(self, hostname: str) -> Endpoint:
        name = hostname.rstrip(".")
        address = self.lookup(name)
        port = f":{self._port}" if self._port is not None else ""
        return Endpoint(f"{self._scheme}://{name}{port}", host_header=name, address=address)


class AuthoritativeResolver(CachingResolver):
    """Asks the zone's name servers; keeps each answer for its TTL (see the module docstring)."""

    def __init__(
        self,
        servers: list[tuple[str, int]],
        *,
        scheme: str = "https",
        port: int | None = None,
        timeout: float = DNS_QUERY_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not servers:
            raise AwsError("none of the zone's name servers could be found to ask")
        super().__init__(scheme=scheme, port=port, clock=clock)
        self._resolver = dns.resolver.Resolver(configure=False)
        self._resolver.nameservers = [
            dns.nameserver.Do53Nameserver(ip, port) for ip, port in servers
        ]
        self._resolver.lifetime = 2 * timeout
        self._resolver.cache = None  # the TTL is kept here, per player

    def _ask(self, name: str) -> tuple[str, float]:
        try:
            answer = self._resolver.resolve(name + ".", "A")
        except dns.exception.DNSException as error:
            raise AwsError(f"the zone's name servers did not answer {name}: {error}") from None
        return str(answer[0].address), (answer.rrset.ttl if answer.rrset else 0)


# How long a player keeps what the system resolver answered: short beside the alias answer's 60 s
# TTL, as a client library's cache is, so a player follows a shift within TTL + this.
SYSTEM_CACHE_SECONDS = 10.0


class SystemResolver(CachingResolver):
    """Asks this machine's resolver (getaddrinfo) and keeps each address SYSTEM_CACHE_SECONDS.
    getaddrinfo's wait is the OS resolver's own (resolv.conf's timeout and attempts), which
    Python cannot shorten."""

    def __init__(
        self,
        *,
        port: int | None = None,
        cache_seconds: float = SYSTEM_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(port=port, clock=clock)
        self._cache_seconds = cache_seconds

    def _ask(self, name: str) -> tuple[str, float]:
        try:
            # IPv4, as the authoritative resolver asks for A records (the records are type A).
            found = socket.getaddrinfo(
                name, self._port or 443, family=socket.AF_INET, type=socket.SOCK_STREAM
            )
        except (OSError, UnicodeError) as error:
            raise AwsError(f"this machine's resolver did not answer {name}: {error}") from None
        if not found:
            raise AwsError(f"this machine's resolver has no address for {name}")
        return str(found[0][4][0]), self._cache_seconds


def authoritative_resolver(topology: Topology) -> AuthoritativeResolver:
    """A player's resolver asking the topology's name servers (`nameServers`)."""
    if not topology.name_servers:
        raise AwsError("--dns authoritative needs the topology's nameServers")
    port = topology.https_port  # the fronts' port when not HTTPS's own (the sandbox's)
    return AuthoritativeResolver(zone_servers(topology, DNS_QUERY_TIMEOUT), port=port)


def system_resolver(topology: Topology) -> SystemResolver:
    """A player's resolver asking this machine's resolver for the shared name."""
    return SystemResolver(port=topology.https_port)
