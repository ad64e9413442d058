"""How Route 53's data plane answers the shared hostname in the sandbox.

Route 53 answers a weighted name with one record chosen at random in proportion to the weights,
among the records it considers healthy (Route 53 developer guide, "How Amazon Route 53 chooses
records when health checking is configured"):
- a record without a health check is always healthy;
- only healthy records with a non-zero weight are considered; when every non-zero-weight record
  is unhealthy, the healthy zero-weight records are (an equal split among them);
- when no record is healthy, all of them are treated as healthy (the weights decide again; all
  zero is an equal split).

`DataPlaneResolver` applies these rules to the records and health-check states the emulator
holds in-process (emulator.Route53DataPlane): it keeps answering when an outage takes away the
control-plane API, as Route 53's DNS does. The sandbox's DNS server (name_server.py) serves
its answers; clients ask that server (stub_resolver.py).
"""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from opsctl.sandbox.route53.name_server import DnsAnswer, Lookup


class ResolutionError(RuntimeError):
    """The name has no weighted records, or their target is not a sandbox front."""


@dataclass(frozen=True)
class WeightedAnswer:
    set_identifier: str
    weight: int
    target: str  # alias DNS name (or first value), lower case, no trailing dot
    health_check_id: str | None = None


def considered(
    answers: list[WeightedAnswer], healthy: Callable[[str], bool]
) -> list[WeightedAnswer]:
    """The records Route 53 chooses among, by its rules for weighted records and health."""

    def is_healthy(answer: WeightedAnswer) -> bool:
        return answer.health_check_id is None or healthy(answer.health_check_id)

    for weighted in (True, False):
        candidates = [a for a in answers if (a.weight > 0) == weighted and is_healthy(a)]
        if candidates:
            return candidates
    return answers  # none healthy: all treated as healthy


def choose_weighted(answers: list[WeightedAnswer], rng: random.Random) -> WeightedAnswer:
    """Route 53's weighted choice: proportional to weight; all zero means an equal split."""
    if not answers:
        raise ResolutionError("no weighted records to answer from")
    weights = [answer.weight for answer in answers]
    if sum(weights) == 0:
        return rng.choice(answers)
    return rng.choices(answers, weights=weights, k=1)[0]


def weighted_answers(records: list[dict[str, Any]]) -> list[WeightedAnswer]:
    """The weighted records among `records` (ListResourceRecordSets' shape)."""
    answers = []
    for record in records:
        if "Weight" not in record:
            continue
        if "AliasTarget" in record:
            target = record["AliasTarget"]["DNSName"]
        else:
            value = record["ResourceRecords"][0]
            target = value["Value"] if isinstance(value, dict) else value
        answers.append(
            WeightedAnswer(
                record["SetIdentifier"],
                int(record["Weight"]),
                target.lower().rstrip("."),
                record.get("HealthCheckId"),
            )
        )
    return answers


class DataPlane(Protocol):
    """What Route 53's data plane reads: emulator.Route53DataPlane."""

    def records(self, hosted_zone_id: str, name: str, record_type: str) -> list[dict[str, Any]]: ...

    def healthy(self, health_check_id: str) -> bool: ...


class DataPlaneResolver:
    """Answers the shared record name as Route 53's DNS would, from the emulator's own state."""

    def __init__(
        self,
        data_plane: DataPlane,
        hosted_zone_id: str,
        record_type: str,
        rng: random.Random | None = None,
    ) -> None:
        self.data_plane = data_plane
        self.hosted_zone_id = hosted_zone_id
        self.record_type = record_type
        self.rng = rng or random.Random()

    def answer(self, hostname: str) -> WeightedAnswer:
        records = self.data_plane.records(self.hosted_zone_id, hostname, self.record_type)
        answers = weighted_answers(records)
        return choose_weighted(considered(answers, self.data_plane.healthy), self.rng)


def _host(address: str) -> str:
    return address.rsplit(":", 1)[0]


def dns_lookup(
    resolver: DataPlaneResolver,
    hostname: str,
    host_map: dict[str, str],
    front_doors: Mapping[str, Sequence[str]],
    ttl: int,
) -> Lookup:
    """The DNS server's lookup: each API name (execute-api, a Regional domain name: host_map's
    keys) answers its front's own address; the shared name answers one of its chosen alias
    target's front doors (`front_doors`: a front's own "host:port" -> its doors), the next one
    each time. So, as on AWS, the shared name's answers are never what a lookup of the alias
    target returns, and only the answered address itself can tell which Region it is."""
    shared = hostname.lower().rstrip(".")
    addresses = {name.lower().rstrip("."): address for name, address in host_map.items()}
    turns = {own: itertools.cycle([_host(d) for d in doors]) for own, doors in front_doors.items()}
    lock = threading.Lock()

    def lookup(name: str) -> DnsAnswer | None:
        if name == shared:
            own = addresses.get(resolver.answer(shared).target)
            if own is None or own not in turns:
                return None
            with lock:
                return DnsAnswer(next(turns[own]), ttl)
        address = addresses.get(name)
        return DnsAnswer(_host(address), ttl) if address is not None else None

    return lookup
