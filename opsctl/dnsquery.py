"""What DNS answers for the shared name, asked of the hosted zone's own name servers (data plane).

Route 53 answers the weighted alias records with the addresses of the chosen Region's target
(its API Gateway Regional domain name). So opsctl resolves each Region's `aliasTarget`, asks the
zone's authoritative servers for the shared name several times, and counts which Region's
addresses each answer carries. Nothing here needs Route 53's control plane (us-east-1).
All DNS work is dnspython's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import dns.exception
import dns.inet
import dns.message
import dns.nameserver
import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver

from opsctl.errors import AwsError
from opsctl.signals import gather
from stack_topology import ROLES, NameServer, Topology

# How many times the shared name is asked (spread over the name servers): enough to see a weighted
# split, few enough to stay well inside a status deadline.
DNS_QUERIES = 8
# Seconds one DNS query waits for its answer.
DNS_QUERY_TIMEOUT = 1.0

# How an answer that carries no Region's addresses is counted.
OTHER = "other"  # addresses of neither aliasTarget
EMPTY = "empty"  # NXDOMAIN / NODATA
FAILED = "failed"  # no answer in time, or an error code


@dataclass(frozen=True)
class DnsAnswers:
    """The shared name's answers counted per Region (and `other` / `empty` / `failed`)."""

    name: str
    record_type: str
    queried: tuple[str, ...]  # the name servers asked, host[:port]
    counts: dict[str, int]
    # What each Region's aliasTarget resolves to (empty when it could not be resolved).
    targets: dict[str, tuple[str, ...]]
    addresses: tuple[str, ...]  # every address the shared name answered with

    @property
    def answered(self) -> int:
        return sum(n for key, n in self.counts.items() if key != FAILED)

    @property
    def serving(self) -> str | None:
        """primary | secondary | split: which Regions the answers send clients to; None when no
        answer names a Region (nothing answered, or addresses of neither target)."""
        roles = [role for role in ROLES if self.counts.get(role)]
        if not roles:
            return None
        return roles[0] if len(roles) == 1 else "split"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.record_type,
            "nameServers": list(self.queried),
            "answers": dict(self.counts),
            "serving": self.serving,
            "targets": {role: list(addresses) for role, addresses in self.targets.items()},
            "addresses": list(self.addresses),
        }

    def summary(self) -> str:
        """`8/8 answers: secondary 8` (for tables and confirmations)."""
        parts = [f"{key} {n}" for key, n in sorted(self.counts.items()) if n]
        total = sum(self.counts.values())
        return f"{self.answered}/{total} answers: {', '.join(parts) or 'none'}"


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


def resolve_target(
    name: str,
    servers: Sequence[tuple[str, int]],
    record_type: str,
    timeout: float,
    *,
    system: bool = True,
) -> tuple[str, ...]:
    """The addresses of an alias target: asked of the zone's name servers first (the sandbox's
    answers for it), then (with `system`) of the system resolver (on AWS: the Regional domain
    name's own zone)."""
    if servers:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [dns.nameserver.Do53Nameserver(ip, port) for ip, port in servers]
        resolver.lifetime = timeout
        try:
            return tuple(sorted(r.address for r in resolver.resolve(name, record_type)))
        except dns.exception.DNSException:
            pass  # not theirs to answer (REFUSED on Route 53): ask the system resolver
    if not system:
        return ()
    try:
        answer = dns.resolver.resolve(name, record_type, lifetime=timeout)
    except dns.exception.DNSException:
        return ()
    return tuple(sorted(r.address for r in answer))


def _classify(addresses: tuple[str, ...], targets: dict[str, tuple[str, ...]]) -> str:
    if not addresses:
        return EMPTY
    for role, target in targets.items():
        if set(addresses) & set(target):
            return role
    return OTHER


def read_dns(
    topology: Topology,
    *,
    queries: int = DNS_QUERIES,
    timeout: float = DNS_QUERY_TIMEOUT,
) -> DnsAnswers:
    """Ask the topology's name servers `queries` times for the shared name; count the answers per
    Region. Raises AwsError when no name server could be resolved or none answered at all."""
    if not topology.name_servers:
        raise AwsError("the topology names no nameServers")
    servers = zone_servers(topology, timeout)
    if not servers:
        raise AwsError("none of the name servers could be resolved")
    record = topology.records[0]
    name, record_type = record.name, record.type
    targets = {
        region.role: resolve_target(region.alias_target, servers, record_type, timeout)
        for region in topology.regions
        if region.alias_target
    }

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
    outcomes = gather(tasks, timeout + 0.5)
    counts: Counter[str] = Counter()
    seen: set[str] = set()
    for outcome in outcomes.values():
        addresses = outcome.value
        if addresses is None:
            counts[FAILED] += 1
            continue
        seen.update(addresses)
        counts[_classify(addresses, targets)] += 1
    if counts[FAILED] == len(tasks):
        asked = ", ".join(str(server) for server in topology.name_servers)
        raise AwsError(f"no name server answered for {name} ({asked})")
    return DnsAnswers(
        name=name,
        record_type=record_type,
        queried=tuple(str(server) for server in topology.name_servers),
        counts=dict(counts),
        targets=targets,
        addresses=tuple(sorted(seen)),
    )
