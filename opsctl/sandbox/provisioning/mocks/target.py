"""Where the sandbox's mocks create what runs: the emulator's clients and the account."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3

ClientFactory = Callable[[str, str], Any]  # (service, region) -> boto3 client


@dataclass(frozen=True)
class MockTarget:
    """The emulator's clients by (service, Region), and the account the program deploys to."""

    clients: ClientFactory
    account_id: str


# One declared resource created in the emulator:
# (target, inputs, Region, the mock's id, the mock's outputs) -> (real id, real outputs).
Creator = Callable[[MockTarget, dict[str, Any], str, str, dict], tuple[str, dict]]


def boto3_clients(endpoint_url: str) -> ClientFactory:
    def make(service: str, region: str) -> Any:
        return boto3.client(service, region_name=region, endpoint_url=endpoint_url)

    return make


def pascal(name: str) -> str:
    return name[:1].upper() + name[1:]
