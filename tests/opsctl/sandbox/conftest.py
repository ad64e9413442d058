"""Fixtures shared by the sandbox tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsctl.sandbox.provision import Provisioned, provision

# Provisioning only records where each Region's front would listen; nothing binds these ports.
FRONT_ADDRESSES = {"us-east-1": "127.0.0.2:41001", "us-west-2": "127.0.0.3:41001"}
JWKS_URL = "http://127.0.0.1:41003/.well-known/jwks.json"
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
