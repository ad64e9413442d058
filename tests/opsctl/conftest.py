"""Fixtures for the opsctl tests: the moto world (tests/opsctl/world.py), its data plane
(tests/opsctl/dataplane.py) and an isolated environment for every test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from typer.testing import CliRunner

from opsctl.cli import output
from opsctl.read.dns_answers import ADDRESS_CACHE
from opsctl.sandbox.emulator import Emulator
from opsctl.sandbox.faults.proxy import FaultProxy
from tests.opsctl.dataplane import DataPlane
from tests.opsctl.world import World, build_world
from tests.support.fronts import HttpsFronts
from tests.support.stack import RECORD_NAME, REGIONS


@pytest.fixture(autouse=True)
def isolated_opsctl_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test writes its audit log under tmp_path and starts without OPSCTL_TOPOLOGY."""
    audit = tmp_path / "audit.jsonl"
    monkeypatch.setenv("OPSCTL_AUDIT_LOG", str(audit))
    monkeypatch.delenv("OPSCTL_TOPOLOGY", raising=False)
    # Wide tables: assertions read whole cells. The environment is for `python -m opsctl`
    # children; in-process consoles get the width set, since rich fixes it at import when COLUMNS
    # is set then (pytest-xdist starts its workers with COLUMNS=80).
    monkeypatch.setenv("COLUMNS", "200")
    for console in (output.stdout, output.stderr):
        monkeypatch.setattr(console, "width", 200)
    # The emulator answers GetChange at once (or after a set delay): no need to poll every 2 s.
    monkeypatch.setattr("opsctl.change.route53.INSYNC_POLL_INTERVAL", 0.05)
    # A loaded test machine's emulator may take seconds to answer a round of reads; the tests
    # that black-hole a Region set the production deadline themselves (`read_deadline`).
    monkeypatch.setenv("OPSCTL_READ_DEADLINE", "60")  # also for `python -m opsctl` children
    # The DataPlane fixture evaluates the lever alarm every 50 ms, not once a minute.
    monkeypatch.setattr("opsctl.change.lever_confirm.CONFIRM_POLL_INTERVAL", 0.05)
    return audit


@pytest.fixture
def read_deadline(monkeypatch: pytest.MonkeyPatch) -> float:
    """A deadline for a round of reads well below the SDK's own timeouts (3 x (3 + 10) s), for
    tests where a Region does not answer: opsctl must not wait for it. (Production's is shorter;
    this leaves a loaded test machine's emulator time to answer the other Region.)"""
    monkeypatch.setenv("OPSCTL_READ_DEADLINE", "10")
    return 10.0


@pytest.fixture
def fault_proxy(aws_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    """A FaultProxy in front of this test's emulator; opsctl's clients go through it.

    The World keeps talking to the emulator directly, so a test can still arrange state in a
    Region the proxy has taken away."""
    with FaultProxy(upstream=aws_endpoint) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        yield proxy


@pytest.fixture
def stubbed_route53() -> Iterator[tuple[Any, Stubber]]:
    """A Route 53 client answering only the responses a test queues (botocore's Stubber), for what
    moto cannot produce: throttling, lost answers, another writer between a read and a write."""
    client = boto3.client("route53", region_name="us-east-1", endpoint_url="http://127.0.0.1:9")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def world(aws_endpoint: str, tmp_path: Path) -> Iterator[World]:
    built = build_world(aws_endpoint, tmp_path)
    yield built
    built.close()


@pytest.fixture
def https_fronts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HttpsFronts]:
    """Both Regions' HTTPS front doors for the shared name, their CA trusted (SSL_CERT_FILE)."""
    fronts = HttpsFronts(tmp_path / "tls", RECORD_NAME.rstrip("."), REGIONS)
    monkeypatch.setenv("SSL_CERT_FILE", fronts.trust_bundle)
    yield fronts
    fronts.close()


@pytest.fixture(autouse=True)
def _forget_addresses() -> Iterator[None]:
    """Each test asks its own fronts: no Region remembered from another test's addresses."""
    ADDRESS_CACHE.clear()
    yield
    ADDRESS_CACHE.clear()


@pytest.fixture
def dataplane(world: World, https_fronts: HttpsFronts, emulator: Emulator) -> Iterator[DataPlane]:
    """The World with name servers and front doors in its topology, its lever alarm evaluated."""
    plane = DataPlane(world, https_fronts, emulator.health_checks)
    world.set_topology(
        {
            **world.topology_document,
            "nameServers": [plane.server.address],
            "httpsPort": https_fronts.port,
        }
    )
    yield plane
    plane.close()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()
