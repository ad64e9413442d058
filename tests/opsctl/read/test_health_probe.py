"""The direct probe of a Region's health from the operator's machine: its signed twin route."""

from __future__ import annotations

from opsctl.read.health_probe import probe_health_url
from opsctl.read.signing import NO_CREDENTIALS, HealthSigner, signed_health_url


def test_the_probe_asks_the_signed_twin_of_the_health_url() -> None:
    assert (
        signed_health_url("https://abc.execute-api.us-east-1.amazonaws.com/prod/health")
        == "https://abc.execute-api.us-east-1.amazonaws.com/prod/health/signed"
    )


def test_without_credentials_the_probe_says_so_in_one_line() -> None:
    probe = probe_health_url(
        "https://abc.execute-api.us-east-1.amazonaws.com/prod/health",
        "us-east-1",
        HealthSigner(lambda: None),
    )
    assert (probe.status, probe.ok) == (None, False)
    assert str(probe) == NO_CREDENTIALS
    assert str(probe).startswith("probe: no credentials to sign")
