"""Fixtures shared by the sandbox tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from opsctl.sandbox.provisioning.provision import Provisioned, provision
from opsctl.sandbox.route53.name_server import DnsAnswer, DnsServer

# Provisioning only records where each Region's front would listen; nothing binds these ports.
FRONT_ADDRESSES = {"us-east-1": "127.0.0.2:41001", "us-west-2": "127.0.0.3:41001"}
JWKS_URL = "http://127.0.0.1:41003/.well-known/jwks.json"
SHARED = "auth.example.com"
# The program's health alarm on a Route 53 health check, as DescribeAlarms shows it.
HEALTH_ALARM = {
    "AlarmName": "app-primary-health",
    "Namespace": "AWS/Route53",
    "MetricName": "HealthCheckStatus",
    "Statistic": "Minimum",
    "Period": 60,
    "EvaluationPeriods": 1,
    "Threshold": 1.0,
    "ComparisonOperator": "LessThanThreshold",
    "TreatMissingData": "breaching",
}


@pytest.fixture
def provisioned(aws_endpoint: str, project_root: str) -> Provisioned:
    """The real program's stack provisioned into an empty emulator."""
    return provision(
        Path(project_root) / "Pulumi.primary.yaml",
        endpoint_url=aws_endpoint,
        front_addresses=FRONT_ADDRESSES,
        jwks_url=JWKS_URL,
    )


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
def dns_server(answers: Answers) -> Iterator[DnsServer]:
    with DnsServer(answers, "example.com.") as running:
        yield running
