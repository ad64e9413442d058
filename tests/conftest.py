"""Fixtures shared by every test area."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# No test may reach a real AWS endpoint: fake credentials and a default Region for every client
# made in this process, before any test module imports boto3.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
)
for _variable in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
    os.environ.pop(_variable, None)

from opsctl.sandbox.emulator import Emulator, start_emulator  # noqa: E402


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
