"""What DNS answers for the shared name, asked of the hosted zone's own name servers (data plane),
and which Region each answer sends players to, asked of the answered address itself.

Route 53 answers the weighted alias records with addresses of the chosen Region's target (its API
Gateway Regional domain name). Those addresses are dynamic and shared, so a separate lookup of a
Region's `aliasTarget` need not return them: matching the two is not sound. Instead each answered
address is asked: HTTPS to it on the topology's port (443 unless `httpsPort` says otherwise),
SNI and Host = the shared name, which reaches that Region's custom domain of that name; the
signed health route's JSON names its `region` (opsctl.read.signing; signed for one Region of the
topology after the other, as API Gateway refuses a signature scoped to another Region). The
certificate is verified (the system's CAs, extended by `SSL_CERT_FILE`), so an address that is
not the product's cannot name a Region. An address that does not answer is counted as such,
never guessed. Nothing here needs Route 53's control
plane (us-east-1). All DNS work is dnspython's.
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import dns.exception
import dns.inet
import dns.message
import dns.nameserver
import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver

from opsctl.errors import AwsUnreachable, connection_failure_in_words
from opsctl.read.concurrent_reads import gather
from opsctl.read.probe import Endpoint, http_exchange
from opsctl.read.signing import HealthSigner, NoSigningCredentials
from stack_topology import ROLES, SIGNED_HEALTH_PATH, NameServer, Topology

# How many times the shared name is asked (spread over the name servers): enough to see a weighted
# split, few enough to stay well inside a status deadline.
DNS_QUERIES = 8
# Seconds one DNS query waits for its answer.
DNS_QUERY_TIMEOUT = 1.0
# Seconds an answered address has to answer its health route over HTTPS (Route 53's own checkers
# give an endpoint 2 s).
ADDRESS_TIMEOUT = 2.0
# Seconds an address's Region is remembered: an address stays in its Region while it is in DNS
# answers (their TTL is 60 s), and a confirmation loop then asks each address once a minute
# instead of once per poll. Only answers naming a Region are kept; an address that did not
# answer is asked again next time.
ADDRESS_CACHE_SECONDS = 60.0

# How an answer that names no Region is counted.
UNCLASSIFIED = "unclassified"  # its addresses answered, but named no Region of this topology
NO_ANSWER = "noAnswer"  # none of its addresses answered over HTTPS in time
EMPTY = "empty"  # NXDOMAIN / NODATA
FAILED = "failed"  # the name server gave no answer in time, or an error code
NOT_A_REGION = (UNCLASSIFIED, NO_ANSWER, EMPTY, FAILED)
# How a count reads in prose where its JSON key would not.
COUNTED_AS = {NO_ANSWER: "unanswered"}


class NameServersUnreachable(AwsUnreachable):
    """No name server of the zone answered (or none could be found): DNS cannot be read from
    here, which says nothing about what players are answered (corporate networks often allow
    DNS to their own resolvers only)."""


@dataclass(frozen=True)
class AddressRegion:
    """What one answered address said when asked which Region it is."""

    address: str
    role: str | None  # primary | secondary: it named that Region of the topology
    region: str | None  # the Region it named (None: it named none, or did not answer)
    detail: str  # e.g. "us-west-2 (secondary)", "refused", "no answer in 2 s"
    answered: bool = True  # False: nothing came back over HTTPS (refused, timed out, reset)

    def to_json(self) -> dict[str, Any]:
        return {"role": self.role, "region": self.region, "detail": self.detail}


@dataclass(frozen=True)
class DnsAnswers:
    """The shared name's answers counted by the Region their addresses named (and `unclassified`
    / `noAnswer` / `empty` / `failed`)."""

    name: str
    record_type: str
    queried: tuple[str, ...]  # the name servers asked, host[:port]
    counts: dict[str, int]
    # Every address the shared name answered with, and what it said when asked.
    addresses: dict[str, AddressRegion]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def answered(self) -> int:
        return sum(n for key, n in self.counts.items() if key != FAILED)

    @property
    def not_a_region(self) -> int:
        """Answers that name no Region: unclassified, unanswered, empty or failed."""
        return sum(self.counts.get(key, 0) for key in NOT_A_REGION)

    def of(self, role: str) -> int:
        return self.counts.get(role, 0)

    @property
    def serving(self) -> str | None:
        """primary | secondary | split: which Regions the answers send clients to; None when no
        answer names a Region."""
        roles = [role for role in ROLES if self.counts.get(role)]
        if not roles:
            return None
        return roles[0] if len(roles) == 1 else "split"

    def all_name(self, role: str) -> bool:
        """Every answer was asked of and named `role` (none failed, none unclassified)."""
        return self.total > 0 and self.of(role) == self.total

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.record_type,
            "nameServers": list(self.queried),
            "answers": dict(self.counts),
            "serving": self.serving,
            "addresses": {address: found.to_json() for address, found in self.addresses.items()},
        }

    def asked(self) -> str:
        """What each answered address said, e.g. `127.0.0.7 us-west-2 (secondary), ...`."""
        return ", ".join(f"{a} {found.detail}" for a, found in self.addresses.items()) or "none"

    def summary(self) -> str:
        """`8/8 answers: secondary 8` (for tables and confirmations; answered of asked); an
        address that named no Region is shown with why, e.g. `8/8 answers: unanswered 8
        (127.0.0.3: no answer in 2 s)`."""
        # The Regions first, then what named none.
        counted = sorted(self.counts.items(), key=lambda item: (item[0] not in ROLES, item[0]))
        parts = [f"{COUNTED_AS.get(key, key)} {n}" for key, n in counted if n]
        text = f"{self.answered}/{self.total} answers: {', '.join(parts) or 'none'}"
        silent = [f"{a}: {found.detail}" for a, found in self.addresses.items() if not found.role]
        if silent:
            text += f" ({'; '.join(silent[:2])}{'; ...' if len(silent) > 2 else ''})"
        return text


def _server_addresses(server: NameServer, timeout: float) -> list[str]:
    """A name server's IP addresses: itself when it is one, else what the system resolver says."""
    if dns.inet.is_address(server.host):
        return [server.host]
    answer = dns.resolver.resolve(server.host, "A", lifetime=timeout)
    return [record.address for record in answer]


def zone_servers(topology: Topology, timeout: float) -> list[tuple[str, int]]:
    """(address, port) of each of the topology's name servers that could be resolved."""
    servers: list[tuple[str, int]] = []
    for server in topology.name_servers:
        try:
            servers.extend((ip, server.port) for ip in _server_addresses(server, timeout)[:1])
        except dns.exception.DNSException:
            continue  # a server that cannot be found cannot be asked
    return servers


def _addresses(response: dns.message.Message, record_type: str) -> tuple[str, ...]:
    wanted = dns.rdatatype.from_text(record_type)
    return tuple(
        sorted(
            record.address
            for rrset in response.answer
            if rrset.rdtype == wanted
            for record in rrset
        )
    )


def zone_answer(
    name: str, servers: Sequence[tuple[str, int]], record_type: str, timeout: float
) -> tuple[str, ...]:
    """The addresses the zone's name servers give for `name`; () when they do not answer it
    (Route 53 REFUSES names outside its zones; the sandbox's answer its API names)."""
    if not servers:
        return ()
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [dns.nameserver.Do53Nameserver(ip, port) for ip, port in servers]
    resolver.lifetime = timeout
    try:
        return tuple(sorted(r.address for r in resolver.resolve(name, record_type)))
    except dns.exception.DNSException:
        return ()


class _AddressCache:
    """Addresses that named a Region, each for ADDRESS_CACHE_SECONDS (shared by every read of
    this process)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._known: dict[tuple[str, int, str], tuple[float, AddressRegion]] = {}

    def get(self, key: tuple[str, int, str]) -> AddressRegion | None:
        with self._lock:
            found = self._known.get(key)
            if found is None or found[0] <= self._clock():
                self._known.pop(key, None)
                return None
            return found[1]

    def put(self, key: tuple[str, int, str], found: AddressRegion) -> None:
        if found.role is None:
            return
        with self._lock:
            self._known[key] = (self._clock() + ADDRESS_CACHE_SECONDS, found)

    def clear(self) -> None:
        with self._lock:
            self._known.clear()


ADDRESS_CACHE = _AddressCache()


def _named_region(body: bytes) -> str | None:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    region = parsed.get("region") if isinstance(parsed, dict) else None
    return region if isinstance(region, str) and region else None


def _scoped_elsewhere(status: int, body: bytes) -> bool:
    """API Gateway's refusal of a signature scoped to another Region than its own."""
    return status == 403 and b"Credential should be scoped to a valid region" in body


def _signed_get(
    topology: Topology, endpoint: Endpoint, signer: HealthSigner, timeout: float
) -> tuple[int, bytes]:
    """GET the signed health route, signed for each Region of the topology in turn until one is
    not refused as scoped to another Region."""
    status, body = 0, b""
    for region in topology.regions:
        headers = {
            "Host": endpoint.host_header,
            "Accept": "application/json",
            **signer.headers(endpoint.host_header, SIGNED_HEALTH_PATH, region.region),
        }
        status, body = http_exchange(endpoint, "GET", SIGNED_HEALTH_PATH, headers, None, timeout)
        if not _scoped_elsewhere(status, body):
            break
    return status, body


def ask_address(
    topology: Topology, address: str, timeout: float, signer: HealthSigner
) -> AddressRegion:
    """Which Region `address` is: its signed health route through the custom domain of the
    shared name, HTTPS on the topology's port, certificate verified. Never raises."""
    port = topology.front_port
    name = topology.record_name.rstrip(".")
    key = (address, port, name)
    cached = ADDRESS_CACHE.get(key)
    if cached is not None:
        return cached
    endpoint = Endpoint(f"https://{name}:{port}", name, address)
    try:
        status, body = _signed_get(topology, endpoint, signer, timeout)
    except NoSigningCredentials as error:
        return AddressRegion(address, None, None, str(error))
    except ssl.SSLCertVerificationError as error:
        # It answered, but not as the shared name's front: what it says proves nothing.
        return AddressRegion(
            address, None, None, f"certificate not trusted: {error.verify_message}"
        )
    except (OSError, ValueError, http.client.HTTPException) as error:
        return AddressRegion(
            address, None, None, connection_failure_in_words(error, timeout), answered=False
        )
    roles = {region.region: region.role for region in topology.regions}
    region = _named_region(body)
    role = roles.get(region or "")
    if role is not None:
        detail = f"{region} ({role})"
    elif region:
        detail = f"HTTP {status}: {region}, not a Region of this topology"
    else:
        detail = f"HTTP {status} naming no region"
    found = AddressRegion(address, str(role) if role else None, region, detail)
    ADDRESS_CACHE.put(key, found)
    return found


def _answer_class(addresses: tuple[str, ...], found: dict[str, AddressRegion]) -> str:
    if not addresses:
        return EMPTY
    asked = [found[a] for a in addresses if a in found]
    roles = {f.role for f in asked if f.role is not None}
    if len(roles) == 1:
        return roles.pop()
    if roles or any(f.answered for f in asked):
        return UNCLASSIFIED  # answered, but naming no Region, or two of them
    return NO_ANSWER


def read_dns(
    topology: Topology,
    signer: HealthSigner,
    *,
    queries: int = DNS_QUERIES,
    timeout: float = DNS_QUERY_TIMEOUT,
    deadline: float = DNS_QUERY_TIMEOUT + 0.5 + ADDRESS_TIMEOUT,
) -> DnsAnswers:
    """Ask the topology's name servers `queries` times for the shared name, then each answered
    address which Region it is (concurrently, within what is left of `deadline` seconds, at
    most ADDRESS_TIMEOUT); count the answers per Region. Raises NameServersUnreachable when no
    name server could be found or none answered at all."""
    started = time.monotonic()
    timeout = min(timeout, deadline / 3)  # leave the addresses most of a short deadline
    if not topology.name_servers:
        raise NameServersUnreachable("the topology names no nameServers")
    asked = ", ".join(str(server) for server in topology.name_servers)
    servers = zone_servers(topology, timeout)
    if not servers:
        raise NameServersUnreachable(f"none of the name servers could be resolved ({asked})")
    record = topology.records[0]
    name, record_type = record.name, record.type

    def ask(ip: str, port: int) -> Callable[[], tuple[str, ...] | None]:
        def query() -> tuple[str, ...] | None:
            request = dns.message.make_query(name, record_type)
            try:
                response = dns.query.udp(request, ip, timeout=timeout, port=port)
            except (dns.exception.DNSException, OSError):
                return None
            if response.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                return None
            return _addresses(response, record_type)

        return query

    tasks = {
        f"dns-{index}": ask(*servers[index % len(servers)]) for index in range(max(1, queries))
    }
    answers = [outcome.value for outcome in gather(tasks, timeout + 0.5).values()]
    if all(addresses is None for addresses in answers):
        raise NameServersUnreachable(f"no name server answered for {name} ({asked})")
    seen = sorted({address for addresses in answers if addresses for address in addresses})
    left = deadline - (time.monotonic() - started)
    ask_timeout = max(0.1, min(ADDRESS_TIMEOUT, left - 0.1))
    outcomes = gather(
        {address: partial(ask_address, topology, address, ask_timeout, signer) for address in seen},
        ask_timeout + 0.2,
    )
    found = {
        address: outcome.value
        or AddressRegion(address, None, None, f"no answer in {ask_timeout:g} s", answered=False)
        for address, outcome in outcomes.items()
    }
    counts: Counter[str] = Counter(
        FAILED if addresses is None else _answer_class(addresses, found) for addresses in answers
    )
    return DnsAnswers(
        name=name,
        record_type=record_type,
        queried=tuple(str(server) for server in topology.name_servers),
        counts=dict(counts),
        addresses=found,
    )
