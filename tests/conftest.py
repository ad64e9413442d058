"""Fixtures shared by every test area, and the cost lanes every test is sorted into.

Lanes (markers, set here from what a test uses, so no test has to remember its own):
- `e2e`: everything under tests/e2e (whole sandboxes, the drill);
- `emulator`: tests that use the AWS emulator (moto server) or start sandbox processes;
- `unit`: the rest — pure logic, Pulumi mocks, handlers called in-process.
`make test-fast` runs the unit lane; `make test` runs all three.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsctl.sandbox.emulator import Emulator, start_emulator

# No test may reach a real AWS endpoint: fake credentials and a default Region for every client
# made during the run (set when pytest starts, undone when it ends).
TEST_AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
_environment = pytest.MonkeyPatch()

TESTS = Path(__file__).parent
# Whole directories whose tests start emulator-backed processes without the `emulator` fixture.
EMULATOR_DIRECTORIES = (TESTS / "opsctl" / "sandbox",)


def pytest_configure(config: pytest.Config) -> None:
    for name, value in TEST_AWS_ENVIRONMENT.items():
        _environment.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        _environment.delenv(name, raising=False)


def pytest_unconfigure(config: pytest.Config) -> None:
    _environment.undo()


LANES = ("unit", "emulator", "e2e")


def cost_lane(item: pytest.Item) -> str:
    """A module may declare its lane (`pytestmark = pytest.mark.unit` for pure logic in a directory
    of emulator tests); a test that uses the emulator is in its lane whatever it declares."""
    if "emulator" in getattr(item, "fixturenames", ()):
        return "emulator"
    declared = next((mark.name for mark in item.iter_markers() if mark.name in LANES), None)
    if declared is not None:
        return declared
    path = Path(str(item.path))
    if (TESTS / "e2e") in path.parents:
        return "e2e"
    if any(directory in path.parents for directory in EMULATOR_DIRECTORIES):
        return "emulator"
    return "unit"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        lane = cost_lane(item)
        if item.get_closest_marker(lane) is None:
            item.add_marker(lane)


@pytest.fixture(scope="session")
def project_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    """One moto server on 127.0.0.1 for the whole run (faithful Route 53 layer installed)."""
    with start_emulator() as running:
        yield running


@pytest.fixture
def aws_endpoint(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty emulator for this test; every boto3 client made during it talks to it."""
    emulator.reset()
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.endpoint_url)
    return emulator.endpoint_url
