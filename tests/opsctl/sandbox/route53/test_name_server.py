"""The sandbox's DNS server: Route 53's authoritative answers over UDP and TCP."""

from __future__ import annotations

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

from opsctl.sandbox.route53.name_server import DnsServer
from tests.opsctl.sandbox.conftest import SHARED, Answers


def ask(server: DnsServer, name: str, rdtype: str = "A", tcp: bool = False) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype)
    send = dns.query.tcp if tcp else dns.query.udp
    return send(query, "127.0.0.1", timeout=2, port=server.port)


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_the_server_answers_a_records_with_their_ttl_over_udp_and_tcp(
    dns_server: DnsServer, tcp: bool
) -> None:
    response = ask(dns_server, "Auth.Example.com.", tcp=tcp)
    assert response.rcode() == dns.rcode.NOERROR
    assert response.flags & dns.flags.AA  # authoritative, as Route 53's name servers are
    (rrset,) = response.answer
    assert (rrset[0].address, rrset.ttl) == ("127.0.0.2", 3)
    assert ask(dns_server, "nowhere.example.com.", tcp=tcp).rcode() == dns.rcode.NXDOMAIN
    assert ask(dns_server, "example.org.", tcp=tcp).rcode() == dns.rcode.REFUSED  # not its zone
    assert ask(dns_server, f"{SHARED}.", "AAAA", tcp=tcp).answer == []  # the name exists, no AAAA


def test_the_server_stops_answering_when_stopped(answers: Answers) -> None:
    server = DnsServer(answers, "example.com.")
    server.start()
    server.stop()
    with pytest.raises(dns.exception.Timeout):
        dns.query.udp(
            dns.message.make_query(SHARED, "A"), "127.0.0.1", timeout=0.3, port=server.port
        )
