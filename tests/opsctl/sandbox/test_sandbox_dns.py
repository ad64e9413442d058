"""The sandbox's DNS server (UDP and TCP) and the caching stub resolver its clients use."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest
from typer.testing import CliRunner

from opsctl.cli.app import app
from opsctl.read.probe import Endpoint
from opsctl.sandbox.dnsserver import DnsAnswer, DnsServer
from opsctl.sandbox.resolver import ResolutionError
from opsctl.sandbox.stubresolver import CachingStubResolver, sandbox_resolver
from tests.opsctl.conftest import make_sandbox_state

SHARED = "auth.example.com"


class Answers:
    """A lookup whose answer for the shared name the test changes (a switch)."""

    def __init__(self) -> None:
        self.address = "127.0.0.2"

    def __call__(self, name: str) -> DnsAnswer | None:
        return DnsAnswer(self.address, 3) if name == SHARED else None


@pytest.fixture
def answers() -> Answers:
    return Answers()


@pytest.fixture
def server(answers: Answers) -> Iterator[DnsServer]:
    with DnsServer(answers, "example.com.") as running:
        yield running


def ask(server: DnsServer, name: str, rdtype: str = "A", tcp: bool = False) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype)
    send = dns.query.tcp if tcp else dns.query.udp
    return send(query, "127.0.0.1", timeout=2, port=server.port)


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_the_server_answers_a_records_with_their_ttl_over_udp_and_tcp(
    server: DnsServer, tcp: bool
) -> None:
    response = ask(server, "Auth.Example.com.", tcp=tcp)
    assert response.rcode() == dns.rcode.NOERROR
    assert response.flags & dns.flags.AA  # authoritative, as Route 53's name servers are
    (rrset,) = response.answer
    assert (rrset[0].address, rrset.ttl) == ("127.0.0.2", 3)
    assert ask(server, "nowhere.example.com.", tcp=tcp).rcode() == dns.rcode.NXDOMAIN
    assert ask(server, "example.org.", tcp=tcp).rcode() == dns.rcode.REFUSED  # not its zone
    assert ask(server, f"{SHARED}.", "AAAA", tcp=tcp).answer == []  # the name exists, no AAAA


def test_the_server_stops_answering_when_stopped(answers: Answers) -> None:
    server = DnsServer(answers, "example.com.")
    server.start()
    server.stop()
    with pytest.raises(dns.exception.Timeout):
        dns.query.udp(
            dns.message.make_query(SHARED, "A"), "127.0.0.1", timeout=0.3, port=server.port
        )


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_stub_resolver_keeps_an_answer_for_its_ttl(server: DnsServer, answers: Answers) -> None:
    clock = Clock()
    resolver = CachingStubResolver(server.address, 8443, clock=clock)
    endpoint = resolver.resolve(SHARED)
    # HTTPS to the answered address, with the shared name for TLS and as Host.
    assert endpoint == Endpoint(f"https://{SHARED}:8443", SHARED, "127.0.0.2")
    answers.address = "127.0.0.3"  # DNS now sends players to the other Region
    clock.now += 2.9
    assert resolver.resolve(SHARED).address == "127.0.0.2"  # still cached
    assert resolver.queries == 1
    clock.now += 0.1  # the TTL (3 s) has passed
    assert resolver.resolve(SHARED).address == "127.0.0.3"
    assert resolver.queries == 2


def test_the_stub_resolver_reports_a_missing_name_or_a_silent_server(server: DnsServer) -> None:
    with pytest.raises(ResolutionError, match="NXDOMAIN"):
        CachingStubResolver(server.address, 8443).resolve("nowhere.example.com")
    silent = DnsServer(Answers(), "example.com.")
    silent.start()
    silent.stop()
    resolver = CachingStubResolver(silent.address, 8443, timeout=0.2)
    with pytest.raises(ResolutionError, match=r"did not answer auth.example.com within 2 x 0.2s"):
        resolver.resolve(SHARED)


def test_a_sandbox_resolver_uses_the_sandbox_dns_and_the_fronts_port(tmp_path: Path) -> None:
    state = make_sandbox_state(tmp_path, pid=1)
    with pytest.raises(ResolutionError, match="no DNS server"):
        sandbox_resolver(state)
    state = replace(
        state,
        dns="127.0.0.1:5353",
        front_addresses={"us-east-1": "127.0.0.2:8443", "us-west-2": "127.0.0.3:8443"},
    )
    resolver = sandbox_resolver(state)
    assert (resolver.server_port, resolver.https_port) == (5353, 8443)


def test_sandbox_env_exports_the_dns_server_and_the_bundle_trusting_the_sandbox_ca(
    tmp_path: Path,
) -> None:
    bundle = str(tmp_path / "trust-bundle.pem")
    state = make_sandbox_state(tmp_path, pid=1)
    replace(state, dns="127.0.0.1:5353", trust_bundle=bundle).save(tmp_path)
    shown = CliRunner().invoke(app, ["sandbox", "env", "--dir", str(tmp_path)])
    assert shown.exit_code == 0
    assert "export OPSCTL_SANDBOX_DNS=127.0.0.1:5353" in shown.stdout.splitlines()
    assert f"export SSL_CERT_FILE={bundle}" in shown.stdout.splitlines()


def test_sandbox_env_points_the_audit_log_into_the_sandbox(tmp_path: Path) -> None:
    """Failovers tried on the sandbox never land in the operator's real audit log."""
    make_sandbox_state(tmp_path, pid=1).save(tmp_path)
    shown = CliRunner().invoke(app, ["sandbox", "env", "--dir", str(tmp_path)])
    assert shown.exit_code == 0
    assert f"export OPSCTL_AUDIT_LOG={tmp_path / 'audit.jsonl'}" in shown.stdout.splitlines()
