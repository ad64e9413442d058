"""The sandbox's API Gateway-like front: routing, TOKEN authorizer semantics, proxy integration."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from opsctl.sandbox.front.api import Front, TokenBucket
from opsctl.sandbox.front.policy import evaluate_policy
from opsctl.sandbox.front.spec import AuthorizerSpec, FrontSpec, LambdaSpec, RouteSpec

API_ID = "a1b2c3d4e5"
ARN_PREFIX = f"arn:aws:execute-api:us-east-1:123456789012:{API_ID}/prod"


def allow_stage_policy(principal: str) -> dict[str, Any]:
    return {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Allow",
                    "Resource": [f"{ARN_PREFIX}/*/*"],
                }
            ],
        },
        "context": {"subject": principal, "region": "us-east-1"},
    }


class RecordingInvoker:
    """Stands in for the Lambda runtime: scripted authorizer verdicts, an echoing API."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.verdicts: dict[str, Any] = {}

    def invoke(self, function_name: str, event: dict[str, Any]) -> Any:
        self.calls.append((function_name, event))
        if function_name == "authorizer":
            verdict = self.verdicts[event["authorizationToken"]]
            if isinstance(verdict, Exception):
                raise verdict
            return verdict
        if function_name == "broken":
            return {"body": "no status code"}
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"resource": event["resource"], "path": event["path"]}),
        }

    def count(self, function_name: str) -> int:
        return sum(name == function_name for name, _ in self.calls)


def make_front(ttl: int = 300) -> tuple[Front, RecordingInvoker]:
    spec = FrontSpec(
        region="us-east-1",
        account_id="123456789012",
        api_id=API_ID,
        stage="prod",
        routes=[
            RouteSpec("GET", "/health", "health", authorized=False),
            RouteSpec("GET", "/whoami", "api", authorized=True),
            RouteSpec("POST", "/sessions", "api", authorized=True),
            RouteSpec("GET", "/sessions/{id}", "api", authorized=True),
            RouteSpec("GET", "/broken", "broken", authorized=False),
        ],
        functions=[LambdaSpec("api", "functions.api.app.handler", {})],
        authorizer=AuthorizerSpec("authorizer", "Authorization", ttl),
        custom_domains=["auth.example.com"],
    )
    invoker = RecordingInvoker()
    return Front(spec, invoker), invoker


def get(front: Front, path: str, token: str | None = None, host: str = "x") -> Any:
    headers = {"Host": host}
    if token is not None:
        headers["Authorization"] = token
    return front.handle("GET", path, headers, b"", "127.0.0.1")


def test_health_route_runs_without_the_authorizer() -> None:
    front, invoker = make_front()
    response = get(front, "/prod/health")
    assert response.status == 200
    assert invoker.count("authorizer") == 0


def test_missing_token_is_401_without_calling_the_authorizer() -> None:
    front, invoker = make_front()
    response = get(front, "/prod/whoami")
    assert response.status == 401
    assert json.loads(response.body) == {"message": "Unauthorized"}
    assert invoker.calls == []


def test_authorizer_gets_a_token_event_and_the_api_its_context() -> None:
    front, invoker = make_front()
    invoker.verdicts["Bearer good"] = allow_stage_policy("player-1")
    response = get(front, "/prod/sessions/s-42", "Bearer good")
    assert response.status == 200
    (_, auth_event), (_, api_event) = invoker.calls
    assert auth_event == {
        "type": "TOKEN",
        "authorizationToken": "Bearer good",
        "methodArn": f"{ARN_PREFIX}/GET/sessions/s-42",
    }
    assert api_event["resource"] == "/sessions/{id}"
    assert api_event["pathParameters"] == {"id": "s-42"}
    assert api_event["requestContext"]["authorizer"]["principalId"] == "player-1"
    assert api_event["requestContext"]["authorizer"]["subject"] == "player-1"
    assert api_event["requestContext"]["path"] == "/prod/sessions/s-42"


def test_cached_policy_is_reused_across_routes_until_the_ttl() -> None:
    front, invoker = make_front(ttl=300)
    invoker.verdicts["Bearer good"] = allow_stage_policy("player-1")
    assert get(front, "/prod/whoami", "Bearer good").status == 200
    assert get(front, "/prod/sessions/abc", "Bearer good").status == 200
    assert invoker.count("authorizer") == 1


def test_ttl_zero_calls_the_authorizer_every_time() -> None:
    front, invoker = make_front(ttl=0)
    invoker.verdicts["Bearer good"] = allow_stage_policy("player-1")
    get(front, "/prod/whoami", "Bearer good")
    get(front, "/prod/whoami", "Bearer good")
    assert invoker.count("authorizer") == 2


def test_policy_naming_only_one_route_gives_403_on_another_from_the_cache() -> None:
    front, invoker = make_front()
    narrow = allow_stage_policy("player-1")
    narrow["policyDocument"]["Statement"][0]["Resource"] = [f"{ARN_PREFIX}/GET/whoami"]
    invoker.verdicts["Bearer narrow"] = narrow
    assert get(front, "/prod/whoami", "Bearer narrow").status == 200
    denied = get(front, "/prod/sessions/abc", "Bearer narrow")
    assert denied.status == 403
    assert invoker.count("authorizer") == 1


def test_explicit_deny_is_403_and_unauthorized_error_is_401() -> None:
    front, invoker = make_front()
    deny = allow_stage_policy("player-1")
    deny["policyDocument"]["Statement"][0]["Effect"] = "Deny"
    invoker.verdicts["Bearer revoked"] = deny
    invoker.verdicts["Bearer bad"] = Exception("Unauthorized")
    denied = get(front, "/prod/whoami", "Bearer revoked")
    assert denied.status == 403
    assert "explicit deny" in json.loads(denied.body)["Message"]
    assert get(front, "/prod/whoami", "Bearer bad").status == 401


def test_custom_domain_host_uses_the_base_path_mapping() -> None:
    front, invoker = make_front()
    invoker.verdicts["Bearer good"] = allow_stage_policy("player-1")
    response = get(front, "/whoami", "Bearer good", host="auth.example.com")
    assert response.status == 200
    assert json.loads(response.body) == {"resource": "/whoami", "path": "/whoami"}


@pytest.mark.parametrize("path", ["/whoami", "/prod/nope", "/stage2/health"])
def test_unknown_route_is_missing_authentication_token(path: str) -> None:
    front, _ = make_front()
    response = get(front, path)
    assert response.status == 403
    assert json.loads(response.body) == {"message": "Missing Authentication Token"}


def test_malformed_lambda_result_is_502() -> None:
    front, _ = make_front()
    response = get(front, "/prod/broken")
    assert response.status == 502
    assert json.loads(response.body) == {"message": "Internal server error"}


def test_policy_evaluation_explicit_deny_wins_over_allow() -> None:
    arn = f"{ARN_PREFIX}/GET/whoami"
    both = {
        "Statement": [
            {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": f"{ARN_PREFIX}/*"},
            {"Effect": "Deny", "Action": ["execute-api:Invoke"], "Resource": arn},
        ]
    }
    assert evaluate_policy(both, arn) is False
    assert evaluate_policy({"Statement": []}, arn) is None
    other_api = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "execute-api:Invoke",
                "Resource": "arn:aws:execute-api:us-east-1:123456789012:other/*",
            }
        ]
    }
    assert evaluate_policy(other_api, arn) is None


def test_a_method_bucket_gives_its_burst_then_refills_at_its_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=2.0, burst=3, clock=lambda: now[0])
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    now[0] = 0.5  # one token back at 2 per second
    assert [bucket.take() for _ in range(2)] == [True, False]
    now[0] = 100.0  # never more than the burst
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]


def test_each_method_is_throttled_on_its_own_bucket_shared_by_every_caller() -> None:
    """As API Gateway applies the stage's `*/*` throttle to each method separately: a flood of
    GET /health from anyone uses up the bucket Route 53's checkers draw from too (429 before
    the function runs), while other methods keep their own."""
    front, invoker = make_front()
    front = Front(dataclasses.replace(front.spec, throttle_rate=0.001, throttle_burst=5), invoker)
    flood = [get(front, "/prod/health").status for _ in range(8)]
    assert flood == [200] * 5 + [429] * 3
    checker = front.handle("GET", "/prod/health", {"Host": "x"}, b"", "15.177.2.10")
    assert (checker.status, json.loads(checker.body)) == (429, {"message": "Too Many Requests"})
    assert invoker.count("health") == 5
    invoker.verdicts["Bearer good"] = allow_stage_policy("player-1")
    assert get(front, "/prod/whoami", "Bearer good").status == 200
