"""Which Region a DNS answer sends players to, told by asking the answered address itself.

The zone's name servers are a loopback stand-in; the fronts are real HTTPS servers on loopback
addresses (tests/support/fronts.py) with a CA trusted through SSL_CERT_FILE. As on AWS, a lookup
of a Region's aliasTarget returns other addresses than the shared name's answers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from opsctl.errors import AwsUnreachable
from opsctl.read.dns_answers import (
    ADDRESS_CACHE_SECONDS,
    NO_ANSWER,
    UNCLASSIFIED,
    AddressRegion,
    NameServersUnreachable,
    _AddressCache,
    read_dns,
    zone_answer,
    zone_servers,
)
from opsctl.read.signing import NO_CREDENTIALS, HealthSigner
from stack_topology import Topology, parse_document
from tests.support.dns import LoopbackDnsServer
from tests.support.fronts import SIGNER, HttpsFronts
from tests.support.stack import RECORD_NAME, REGIONS, alias_target, topology_document

SHARED = RECORD_NAME.rstrip(".")


def topology(name_server: str, port: int | None) -> Topology:
    https_port = {} if port is None else {"httpsPort": port}
    return parse_document(topology_document(nameServers=[name_server], **https_port))


class Zone:
    """The zone's name servers: the shared name answers the chosen Region's front doors in
    turn; each aliasTarget answers the Region's own address, never one of its doors."""

    def __init__(self, fronts: HttpsFronts) -> None:
        self.fronts = fronts
        self.serving = "primary"
        self.turn = 0
        self.server = LoopbackDnsServer(self.answer)

    def answer(self, name: str) -> list[str] | None:
        targets = {alias_target(region): role for role, region in REGIONS.items()}
        if name in targets:
            return [self.fronts.own[targets[name]]]
        if name != SHARED:
            return None
        doors = self.fronts.doors[self.serving]
        self.turn += 1
        return [doors[self.turn % len(doors)]]


@pytest.fixture
def zone(https_fronts: HttpsFronts) -> Iterator[Zone]:
    served = Zone(https_fronts)
    yield served
    served.server.close()


def test_each_answer_is_classified_by_asking_its_address(
    zone: Zone, https_fronts: HttpsFronts
) -> None:
    shown = topology(zone.server.address, https_fronts.port)
    answers = read_dns(shown, SIGNER)
    assert answers.counts == {"primary": 8}
    assert answers.serving == "primary"
    assert set(answers.addresses) == set(https_fronts.doors["primary"])
    assert {found.region for found in answers.addresses.values()} == {"us-east-1"}
    # The lookup of the aliasTarget the old way matched against returns none of them.
    servers = zone_servers(shown, 1.0)
    target = zone_answer(alias_target("us-east-1"), servers, "A", 1.0)
    assert target and not set(target) & set(answers.addresses)
    zone.serving = "secondary"
    assert read_dns(shown, SIGNER).counts == {"secondary": 8}


def test_each_address_is_asked_once_while_remembered(zone: Zone, https_fronts: HttpsFronts) -> None:
    shown = topology(zone.server.address, https_fronts.port)
    read_dns(shown, SIGNER)
    read_dns(shown, SIGNER)
    assert sorted(https_fronts.requests.values()) == [1] * len(https_fronts.doors["primary"])


def test_a_remembered_address_is_forgotten_after_the_cache_time() -> None:
    now = [100.0]
    cache = _AddressCache(clock=lambda: now[0])
    key = ("127.0.0.3", 443, SHARED)
    cache.put(key, AddressRegion("127.0.0.3", "primary", "us-east-1", "us-east-1 (primary)"))
    cache.put(("127.0.0.4", 443, SHARED), AddressRegion("127.0.0.4", None, None, "no answer"))
    assert cache.get(key) is not None
    assert cache.get(("127.0.0.4", 443, SHARED)) is None  # a silent address is asked again
    now[0] += ADDRESS_CACHE_SECONDS
    assert cache.get(key) is None


def test_an_address_that_does_not_answer_is_reported_as_such_within_the_deadline(
    zone: Zone, https_fronts: HttpsFronts
) -> None:
    zone.serving = "secondary"
    https_fronts.silent.add("secondary")  # a black-holed Region: accepted, never answered
    started = time.monotonic()
    answers = read_dns(topology(zone.server.address, https_fronts.port), SIGNER, deadline=1.5)
    assert time.monotonic() - started < 2.5
    assert answers.counts == {NO_ANSWER: 8}
    assert answers.serving is None and answers.not_a_region == 8
    assert all(f.detail.startswith("no answer in") for f in answers.addresses.values())
    assert "no answer in" in answers.summary()


def test_an_address_that_refuses_is_no_answer_said_in_a_word(
    zone: Zone, https_fronts: HttpsFronts
) -> None:
    """A Region whose front doors refuse (its whole Region down) is counted as not answering,
    which is what makes status say DNS sends players to a Region that does not answer."""
    zone.fronts.doors["primary"] = ["127.0.0.254"]  # nothing listens there: refused
    answers = read_dns(topology(zone.server.address, https_fronts.port), SIGNER, deadline=1.5)
    assert answers.counts == {NO_ANSWER: 8}
    assert [f.detail for f in answers.addresses.values()] == ["refused"]
    assert "127.0.0.254: refused" in answers.summary()
    assert "Errno" not in answers.summary()


def test_an_address_whose_certificate_is_not_trusted_names_no_region(
    zone: Zone, https_fronts: HttpsFronts, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE")  # the sandbox CA is not trusted
    answers = read_dns(topology(zone.server.address, https_fronts.port), SIGNER)
    assert answers.counts == {UNCLASSIFIED: 8}
    assert all("certificate not trusted" in f.detail for f in answers.addresses.values())


def test_each_address_is_asked_its_signed_health_route_in_each_region_in_turn(
    zone: Zone, https_fronts: HttpsFronts
) -> None:
    # The fronts refuse an unsigned GET and a signature scoped to another Region, as API Gateway
    # does: the secondary's addresses answer the second signature.
    zone.serving = "secondary"
    answers = read_dns(topology(zone.server.address, https_fronts.port), SIGNER)
    assert answers.counts == {"secondary": 8}
    assert {f.detail for f in answers.addresses.values()} == {"us-west-2 (secondary)"}


def test_without_credentials_to_sign_each_address_says_so(
    zone: Zone, https_fronts: HttpsFronts
) -> None:
    answers = read_dns(topology(zone.server.address, https_fronts.port), HealthSigner(lambda: None))
    assert answers.counts == {UNCLASSIFIED: 8}
    assert {f.detail for f in answers.addresses.values()} == {NO_CREDENTIALS}
    assert https_fronts.requests == {}


def test_the_topology_port_defaults_to_443() -> None:
    assert topology("127.0.0.1:53", None).front_port == 443
    assert topology("127.0.0.1:53", 8443).front_port == 8443


def test_no_name_server_answering_is_its_own_clear_result() -> None:
    silent = LoopbackDnsServer(lambda name: None)
    address = silent.address
    silent.close()  # nothing listens there any more
    started = time.monotonic()
    with pytest.raises(NameServersUnreachable, match="no name server answered") as raised:
        read_dns(topology(address, 443), SIGNER, timeout=0.3)
    assert time.monotonic() - started < 2
    assert isinstance(raised.value, AwsUnreachable)
