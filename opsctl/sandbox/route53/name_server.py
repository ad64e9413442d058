"""The sandbox's DNS server: Route 53's authoritative answers on loopback, over UDP and TCP.

It answers an A query for a name its lookup knows with that address and TTL, authoritatively;
another record type of a known name gets an empty answer; a name it does not know is NXDOMAIN
inside its zone and REFUSED outside it, as Route 53's name servers answer. In the
sandbox the lookup answers the shared hostname through Route 53's data-plane rules
(resolver.DataPlaneResolver) and each Region's API names (the alias targets) with the address of
that Region's front. Route 53 gives an alias record the TTL of its target: an API Gateway
Regional domain name's, 60 s (scaled like every sandbox interval).
"""

from __future__ import annotations

import socketserver
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

ALIAS_TTL_SECONDS = 60  # what Route 53 answers for an alias to an API Gateway Regional name
BIND_ATTEMPTS = 20


@dataclass(frozen=True)
class DnsAnswer:
    address: str  # IPv4
    ttl: int  # seconds


Lookup = Callable[[str], DnsAnswer | None]  # lower-case name without the final dot


def in_zone(name: str, zone: str) -> bool:
    zone = zone.lower().rstrip(".")
    return name == zone or name.endswith("." + zone)


def respond(query_wire: bytes, lookup: Lookup, zone: str) -> bytes | None:
    """The wire answer to one query; None for bytes that are not a DNS query (dropped)."""
    try:
        query = dns.message.from_wire(query_wire)
    except dns.exception.DNSException:
        return None
    response = dns.message.make_response(query)
    response.flags |= dns.flags.AA
    if len(query.question) != 1:
        response.set_rcode(dns.rcode.FORMERR)
        return response.to_wire()
    question = query.question[0]
    name = question.name.to_text(omit_final_dot=True).lower()
    try:
        answer = lookup(name)
    except Exception as error:  # a failing lookup is a SERVFAIL, as a resolver would see it
        print(f"dns: answering {question.name} failed: {error!r}", file=sys.stderr, flush=True)
        response.set_rcode(dns.rcode.SERVFAIL)
        return response.to_wire()
    if answer is None:
        response.set_rcode(dns.rcode.NXDOMAIN if in_zone(name, zone) else dns.rcode.REFUSED)
    elif question.rdtype == dns.rdatatype.A and question.rdclass == dns.rdataclass.IN:
        response.answer.append(
            dns.rrset.from_text(question.name, answer.ttl, "IN", "A", answer.address)
        )
    return response.to_wire()


class _Datagram(socketserver.BaseRequestHandler):
    server: _UdpServer

    def handle(self) -> None:
        data, sock = self.request
        reply = respond(data, self.server.lookup, self.server.zone)
        if reply is not None:
            sock.sendto(reply, self.client_address)


class _Stream(socketserver.StreamRequestHandler):
    server: _TcpServer

    def handle(self) -> None:
        while True:  # length-prefixed messages until the client closes (RFC 1035, 4.2.2)
            prefix = self.rfile.read(2)
            if len(prefix) < 2:
                return
            query = self.rfile.read(int.from_bytes(prefix, "big"))
            reply = respond(query, self.server.lookup, self.server.zone)
            if reply is None:
                return
            self.wfile.write(len(reply).to_bytes(2, "big") + reply)


class _UdpServer(socketserver.ThreadingUDPServer):
    daemon_threads = True
    lookup: Lookup
    zone: str


class _TcpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    lookup: Lookup
    zone: str


class DnsServer:
    """Serves `lookup` for `zone` on one loopback port over UDP and TCP until `stop`."""

    def __init__(self, lookup: Lookup, zone: str, host: str = "127.0.0.1") -> None:
        self.lookup = lookup
        self.zone = zone
        self.host = host
        self.port = 0
        self._servers: list[socketserver.BaseServer] = []
        self._threads: list[threading.Thread] = []

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> None:
        udp, tcp = self._bind_both()
        self.port = int(udp.server_address[1])
        for server in (udp, tcp):
            server.lookup = self.lookup
            server.zone = self.zone
            thread = threading.Thread(
                target=server.serve_forever, args=(0.1,), daemon=True, name=f"dns-{self.port}"
            )
            thread.start()
            self._servers.append(server)
            self._threads.append(thread)

    def _bind_both(self) -> tuple[_UdpServer, _TcpServer]:
        """A UDP and a TCP server on the same free port."""
        for _ in range(BIND_ATTEMPTS):
            udp = _UdpServer((self.host, 0), _Datagram)
            try:
                return udp, _TcpServer((self.host, udp.server_address[1]), _Stream)
            except OSError:  # that port is taken for TCP: try another one
                udp.server_close()
        raise RuntimeError(f"no port free for both UDP and TCP after {BIND_ATTEMPTS} attempts")

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join()

    def __enter__(self) -> DnsServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
