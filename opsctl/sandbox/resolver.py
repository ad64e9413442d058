"""Answers the shared hostname in the sandbox as Route 53's data plane would.

Route 53 answers a weighted name with one record chosen at random in proportion to the weights
(a weight-0 record only when every record has weight 0, which is an equal split). The sandbox
reads the weighted records from the emulator's Route 53 on every lookup and maps the chosen alias
target (a Regional API's domain name) to that Region's loopback front through its host map, the
sandbox's stand-in for public DNS.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from opsctl.probe import Endpoint


class ResolutionError(RuntimeError):
    """The name has no weighted records, or their target is not a sandbox front."""


@dataclass(frozen=True)
class WeightedAnswer:
    set_identifier: str
    weight: int
    target: str  # alias DNS name (or first value), lower case, no trailing dot


def choose_weighted(answers: list[WeightedAnswer], rng: random.Random) -> WeightedAnswer:
    """Route 53's weighted choice: proportional to weight; all zero means an equal split."""
    if not answers:
        raise ResolutionError("no weighted records to answer from")
    weights = [answer.weight for answer in answers]
    if sum(weights) == 0:
        return rng.choice(answers)
    return rng.choices(answers, weights=weights, k=1)[0]


class SandboxResolver:
    """Resolves the shared record name to a loopback front, re-reading the weights every time."""

    def __init__(
        self,
        route53: Any,
        hosted_zone_id: str,
        record_type: str,
        host_map: dict[str, str],
        rng: random.Random | None = None,
    ) -> None:
        self.route53 = route53
        self.hosted_zone_id = hosted_zone_id
        self.record_type = record_type
        self.host_map = {name.lower().rstrip("."): address for name, address in host_map.items()}
        self.rng = rng or random.Random()

    def weighted_answers(self, hostname: str) -> list[WeightedAnswer]:
        name = hostname.lower().rstrip(".") + "."
        response = self.route53.list_resource_record_sets(
            HostedZoneId=self.hosted_zone_id,
            StartRecordName=name,
            StartRecordType=self.record_type,
        )
        answers = []
        for record in response["ResourceRecordSets"]:
            if record["Name"].lower() != name or record["Type"] != self.record_type:
                continue
            if "Weight" not in record:
                continue
            if "AliasTarget" in record:
                target = record["AliasTarget"]["DNSName"]
            else:
                target = record["ResourceRecords"][0]["Value"]
            answers.append(
                WeightedAnswer(
                    record["SetIdentifier"], int(record["Weight"]), target.lower().rstrip(".")
                )
            )
        return answers

    def resolve(self, hostname: str) -> Endpoint:
        answer = choose_weighted(self.weighted_answers(hostname), self.rng)
        address = self.host_map.get(answer.target)
        if address is None:
            raise ResolutionError(
                f"{hostname} answers {answer.target}, which is not a sandbox front"
            )
        return Endpoint(base_url=f"http://{address}", host_header=hostname.rstrip("."))
