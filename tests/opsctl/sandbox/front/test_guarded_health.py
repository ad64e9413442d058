"""A Region's front with the program's guard on its health route, as API Gateway applies it: the
resource policy the program builds (admitting GET /health from the health-checker range only),
the health method's own throttle bucket, and the signed twin for every other caller.

A flood of GET /health from anywhere else is refused 403 before it can use up the checkers'
bucket, so the checkers keep reading 200; the watcher and opsctl's probe, signed, read 200 too."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from botocore.credentials import ReadOnlyCredentials

from infra.components.health_guard import (
    HEALTH_METHOD_PATH,
    HEALTH_THROTTLE_BURST_LIMIT,
    resource_policy,
)
from opsctl.read.signing import HealthSigner
from opsctl.sandbox.front.api import Front
from opsctl.sandbox.front.policy import UnsupportedCondition, evaluate_policy
from opsctl.sandbox.front.spec import RouteSpec
from opsctl.sandbox.route53.checkers import CHECKER_SOURCE_RANGE, checker_source
from tests.opsctl.sandbox.front.test_api import API_ID, make_front

REGION = "us-east-1"
EXECUTION_ARN = f"arn:aws:execute-api:{REGION}:123456789012:{API_ID}"
SANDBOX = ReadOnlyCredentials("sandbox-key", "sandbox-secret", None)
FLOODER = "127.0.0.1"


def guarded_front(throttle_rate: float = 0.001) -> Front:
    """The front with the routes the program declares, its policy for the sandbox's checker
    range, and a health bucket as the program sizes it but refilling (almost) never."""
    plain, invoker = make_front()
    open_routes = ["GET/whoami", "POST/sessions", "GET/sessions/*"]
    spec = dataclasses.replace(
        plain.spec,
        routes=[
            *plain.spec.routes,
            RouteSpec("GET", "/health/signed", "health", authorized=False, signed=True),
        ],
        throttle_rate=100.0,
        throttle_burst=200,
        method_throttles={HEALTH_METHOD_PATH: [throttle_rate, HEALTH_THROTTLE_BURST_LIMIT]},
        resource_policy=resource_policy(EXECUTION_ARN, open_routes, [CHECKER_SOURCE_RANGE]),
    )
    return Front(spec, invoker, credentials=SANDBOX)


def from_address(front: Front, path: str, source: str, **headers: str) -> Any:
    return front.handle("GET", path, {"Host": "x", **headers}, b"", source)


def signed(front: Front, path: str, credentials: ReadOnlyCredentials, region: str = REGION) -> Any:
    """A GET signed as the watcher and opsctl sign it (opsctl.read.signing)."""
    headers = HealthSigner(lambda: credentials).headers("x", path, region)
    return from_address(front, path, "127.0.0.9", **headers)


def test_a_flood_from_elsewhere_is_refused_and_the_checkers_stay_healthy() -> None:
    front = guarded_front()
    flood = [from_address(front, "/prod/health", FLOODER) for _ in range(3 * 40)]
    assert {response.status for response in flood} == {403}
    message = json.loads(flood[0].body)["Message"]
    assert message == (
        "User: anonymous is not authorized to perform: execute-api:Invoke on resource: "
        f"{EXECUTION_ARN}/prod/GET/health with an explicit deny"
    )
    # The checkers, from their range, still find the whole bucket there.
    checkers = [from_address(front, "/prod/health", checker_source(i)) for i in range(16)]
    assert [response.status for response in checkers] == [200] * 16
    # The other callers of the health route, signed, on the twin.
    assert signed(front, "/prod/health/signed", SANDBOX).status == 200
    # The token routes stay open to anyone: their authorizer decides, as before.
    assert from_address(front, "/prod/whoami", FLOODER).status == 401


def test_the_health_bucket_is_the_health_methods_own() -> None:
    front = guarded_front()
    burst = [from_address(front, "/prod/health", checker_source(0)) for _ in range(41)]
    assert [response.status for response in burst] == [200] * 40 + [429]
    # The API's methods (and the twin) keep the stage's bucket.
    assert signed(front, "/prod/health/signed", SANDBOX).status == 200


def test_the_signed_twin_refuses_what_api_gateway_refuses() -> None:
    front = guarded_front()
    unsigned = from_address(front, "/prod/health/signed", checker_source(0))
    assert unsigned.status == 403
    assert json.loads(unsigned.body) == {"message": "Missing Authentication Token"}
    forged = signed(front, "/prod/health/signed", ReadOnlyCredentials("sandbox-key", "guess", None))
    assert forged.status == 403
    assert json.loads(forged.body)["message"].startswith("The request signature we calculated")
    stranger = signed(front, "/prod/health/signed", ReadOnlyCredentials("other", "x", None))
    assert json.loads(stranger.body)["message"].startswith("The security token")
    elsewhere = signed(front, "/prod/health/signed", SANDBOX, region="us-west-2")
    assert elsewhere.status == 403
    assert json.loads(elsewhere.body)["message"].startswith("Credential should be scoped")


def test_a_condition_the_sandbox_cannot_judge_is_refused_not_skipped() -> None:
    """Skipping a Deny whose condition it cannot judge would let through what AWS refuses."""
    deny = {
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "execute-api:Invoke",
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-0123"}},
            }
        ]
    }
    with pytest.raises(UnsupportedCondition, match="StringNotEquals on aws:SourceVpce"):
        evaluate_policy(deny, "arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/health")
