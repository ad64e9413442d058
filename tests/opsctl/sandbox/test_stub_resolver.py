"""The caching stub resolver the sandbox's clients use: each answer kept for its TTL, HTTPS to the
answered address with the shared name."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from opsctl.read.probe import Endpoint
from opsctl.sandbox.route53.answers import ResolutionError
from opsctl.sandbox.route53.name_server import DnsServer
from opsctl.sandbox.stub_resolver import CachingStubResolver, sandbox_resolver
from tests.opsctl.conftest import make_sandbox_state
from tests.opsctl.sandbox.conftest import SHARED, Answers


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_stub_resolver_keeps_an_answer_for_its_ttl(
    dns_server: DnsServer, answers: Answers
) -> None:
    clock = Clock()
    resolver = CachingStubResolver(dns_server.address, 8443, clock=clock)
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


def test_the_stub_resolver_reports_a_missing_name_or_a_silent_server(dns_server: DnsServer) -> None:
    with pytest.raises(ResolutionError, match="NXDOMAIN"):
        CachingStubResolver(dns_server.address, 8443).resolve("nowhere.example.com")
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
