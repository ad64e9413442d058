"""Fixtures for the Lambda functions: signing keys, the loopback JWKS endpoint, the functions'
environment backed by the emulator, and a cold start for every test."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import boto3
import pytest

from functions.api import app as api_app
from functions.authorizer import app as authorizer_app
from functions.health import app as health_app
from functions.shared import aws
from functions.watcher import app as watcher_app
from opsctl.sandbox.front.lambda_endpoint import LambdaEndpoint
from tests.functions.support import (
    AUDIENCE,
    AUTHORIZER_ALIAS_ARN,
    FAILURE_SWITCH,
    ISSUER,
    REGION,
    TABLE_NAME,
    FakeLambdaContext,
    FunctionEnv,
    JwksServer,
    SigningKey,
    create_state_table,
    ec_key,
    rsa_key,
)


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture(scope="session")
def rs_key() -> SigningKey:
    return rsa_key("rsa-2026-11")


@pytest.fixture(scope="session")
def es_key() -> SigningKey:
    return ec_key("ec-2026-11")


@pytest.fixture(scope="session")
def rotated_key() -> SigningKey:
    """The identity provider's next key: not published until a test rotates to it."""
    return rsa_key("rsa-2026-12")


@pytest.fixture(scope="session")
def attacker_key() -> SigningKey:
    """Never published: whatever it signs must not verify, whatever kid it claims."""
    return rsa_key("rsa-2026-11")


@pytest.fixture(scope="session")
def jwks_server() -> Iterator[JwksServer]:
    server = JwksServer()
    yield server
    server.close()


@pytest.fixture
def jwks(jwks_server: JwksServer, rs_key: SigningKey, es_key: SigningKey) -> JwksServer:
    """The JWKS endpoint publishing the RSA and EC keys, with its request count reset."""
    jwks_server.publish(rs_key, es_key)
    jwks_server.requests = 0
    return jwks_server


@pytest.fixture(autouse=True)
def fresh_function_state() -> Iterator[None]:
    """Every test starts cold: no cached clients, settings, keys or revocation lists."""
    caches = (
        aws.client,
        authorizer_app.authorizer,
        health_app.runtime,
        api_app.runtime,
        watcher_app.runtime,
    )
    for cached in caches:
        cached.cache_clear()
    with warnings.catch_warnings():
        # Read-only API routes add no metric of their own; Powertools warns about that.
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        yield
    for cached in caches:
        cached.cache_clear()


@pytest.fixture(scope="session")
def lambda_endpoint() -> Iterator[LambdaEndpoint]:
    """Lambda's Invoke API for this Region's authorizer (its `live` alias): the health
    function's canary reaches the real handler through botocore and HTTP."""

    def invoke(name: str, event: dict) -> object:
        return authorizer_app.handler(event, FakeLambdaContext())

    endpoint = LambdaEndpoint(invoke, {AUTHORIZER_ALIAS_ARN.split(":")[6]: ["live"]})
    yield endpoint
    endpoint.close()


@pytest.fixture
def function_env(
    aws_endpoint: str,
    jwks: JwksServer,
    lambda_endpoint: LambdaEndpoint,
    monkeypatch: pytest.MonkeyPatch,
) -> FunctionEnv:
    for name, value in {
        "AWS_REGION": REGION,
        "TABLE_NAME": TABLE_NAME,
        "AUTH_ISSUERS": f"{ISSUER},https://login.partner.example/",
        "AUTH_AUDIENCE": AUDIENCE,
        "AUTH_JWKS_URI": jwks.url,
        "FAILURE_SWITCH_PARAMETER": FAILURE_SWITCH,
        "AUTHORIZER_ALIAS_ARN": AUTHORIZER_ALIAS_ARN,
        "AWS_ENDPOINT_URL_LAMBDA": lambda_endpoint.url,
        "POWERTOOLS_SERVICE_NAME": "multi-region-authorizer",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AUTH_JWKS_PINNED", raising=False)
    # Handler tests judge what the checks say, not how fast a loaded machine runs them: the
    # overall budget and the canary's read get room here (the budget is tested on run_checks,
    # test_a_check_over_its_budget_...); the switch's and the keys' own deadlines still apply.
    monkeypatch.setattr(health_app, "CHECK_BUDGET_SECONDS", 10.0)
    monkeypatch.setattr(health_app, "CANARY_TIMEOUTS", aws.ClientTimeouts(2.0, 5.0, attempts=1))
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    ssm = boto3.client("ssm", region_name=REGION)
    create_state_table(dynamodb)
    env = FunctionEnv(dynamodb=dynamodb, ssm=ssm, jwks=jwks)
    env.set_switch("healthy")
    return env
