"""The authorizer handler end to end: real TOKEN events, keys from the loopback JWKS; what it
allows, answers 401, and fails on (revocations and the canary: test_authorizer_revocations.py)."""

from __future__ import annotations

import contextlib
import io
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from functions.authorizer import app as authorizer_app
from functions.shared.observability import logger
from tests.functions.authorizer_calls import (
    API,
    allows,
    assert_fails,
    assert_unauthorized,
    authorize,
)
from tests.functions.support import (
    METHOD_ARN,
    REGION,
    FakeLambdaContext,
    FromNow,
    FunctionEnv,
    SigningKey,
    claims,
    jwks_document,
)


def metric_documents(captured: str) -> list[dict[str, Any]]:
    """EMF metric documents printed by the handler (Powertools Metrics writes to stdout)."""
    documents = []
    for line in captured.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            documents.append(json.loads(line))
    return documents


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """Everything the Powertools logger writes during the test, at DEBUG level."""
    buffer = io.StringIO()
    handler = logger.registered_handler
    previous_stream, previous_level = handler.stream, logger.log_level
    handler.setStream(buffer)
    logger.setLevel("DEBUG")
    yield buffer
    handler.setStream(previous_stream)
    logger.setLevel(previous_level)


# --- allow ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("key_name", ["rs_key", "es_key"])
def test_a_valid_token_is_allowed_with_the_caller_in_the_context(
    function_env: FunctionEnv, key_name: str, request: pytest.FixtureRequest
) -> None:
    key: SigningKey = request.getfixturevalue(key_name)
    token = key.sign(claims(sub="player-42", scope="sessions:read sessions:write"))
    response = authorize(f"Bearer {token}")
    assert response["principalId"] == "player-42"
    assert response["context"] == {
        "subject": "player-42",
        "issuer": "https://idp.example.com/",
        "scopes": "sessions:read sessions:write",
        "region": REGION,
    }
    assert allows(response, METHOD_ARN)


def test_the_policy_covers_every_route_of_this_stage_and_nothing_else(
    function_env: FunctionEnv, rs_key: SigningKey
) -> None:
    response = authorize(f"Bearer {rs_key.sign(claims())}")
    # API Gateway caches this policy for the token across the stage's routes.
    assert allows(response, f"{API}/prod/POST/sessions")
    assert allows(response, f"{API}/prod/GET/sessions/0123456789abcdef0123456789abcdef")
    other_api = "arn:aws:execute-api:us-east-1:123456789012:zz9y8x7w6v"
    assert not allows(response, f"{other_api}/prod/GET/whoami")
    assert not allows(response, f"{API}/staging/GET/whoami")
    assert not allows(response, f"{API}/prod2/GET/whoami")
    assert not allows(response, METHOD_ARN.replace("us-east-1", "us-west-2"))
    assert not allows(response, METHOD_ARN.replace("123456789012", "210987654321"))


def test_the_policy_keeps_the_partition_of_the_method_arn(
    function_env: FunctionEnv, rs_key: SigningKey
) -> None:
    china = "arn:aws-cn:execute-api:cn-north-1:123456789012:a1b2c3d4e5/prod/GET/whoami"
    response = authorize(f"Bearer {rs_key.sign(claims())}", method_arn=china)
    assert allows(response, china)
    assert not allows(response, METHOD_ARN)


def test_allow_and_deny_are_counted_by_reason(
    function_env: FunctionEnv, rs_key: SigningKey, capsys: pytest.CaptureFixture[str]
) -> None:
    authorize(f"Bearer {rs_key.sign(claims())}")
    with pytest.raises(authorizer_app.Unauthorized):
        authorize(f"Bearer {rs_key.sign(claims(exp=int(time.time()) - 3600))}")
    documents = metric_documents(capsys.readouterr().out)
    counted = [
        (metric["Name"], document["reason"])
        for document in documents
        if "reason" in document
        for directive in document["_aws"]["CloudWatchMetrics"]
        for metric in directive["Metrics"]
    ]
    assert counted == [("AuthorizerAllow", "valid"), ("AuthorizerDeny", "expired")]
    assert all(
        directive["Namespace"] == "MultiRegionAuthorizer"
        for document in documents
        for directive in document["_aws"]["CloudWatchMetrics"]
    )


# --- 401 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Basic dXNlcjpwYXNz",
        "Bearer not-a-jwt",
        "Bearer " + "a" * 9000,
    ],
)
def test_missing_or_unparseable_tokens_get_401(
    function_env: FunctionEnv, authorization: Any
) -> None:
    assert_unauthorized(authorization)


@pytest.mark.parametrize(
    "overrides",
    [
        {"exp": FromNow(-3600)},
        {"aud": "someone-else"},
        {"iss": "https://evil.example/"},
        {"nbf": FromNow(3600)},
    ],
)
def test_invalid_tokens_get_401(
    function_env: FunctionEnv, rs_key: SigningKey, overrides: dict[str, Any]
) -> None:
    assert_unauthorized(f"Bearer {rs_key.sign(claims(**overrides))}")


def test_a_forged_signature_gets_401(function_env: FunctionEnv, attacker_key: SigningKey) -> None:
    assert_unauthorized(f"Bearer {attacker_key.sign(claims())}")


# --- keys: rotation and static stability ----------------------------------------------------------


def test_key_rotation_is_picked_up_without_a_redeploy(
    function_env: FunctionEnv, rs_key: SigningKey, rotated_key: SigningKey
) -> None:
    assert allows(authorize(f"Bearer {rs_key.sign(claims())}"), METHOD_ARN)
    function_env.jwks.publish(rs_key, rotated_key)
    assert allows(authorize(f"Bearer {rotated_key.sign(claims())}"), METHOD_ARN)
    assert function_env.jwks.requests == 2


def test_pinned_jwks_keeps_the_region_serving_when_the_idp_is_down(
    function_env: FunctionEnv, rs_key: SigningKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTH_JWKS_PINNED", jwks_document(rs_key).decode())
    function_env.jwks.go_down()
    assert allows(authorize(f"Bearer {rs_key.sign(claims())}"), METHOD_ARN)
    assert function_env.jwks.requests == 1


def test_no_keys_at_all_fails_the_invocation_instead_of_a_cached_deny(
    function_env: FunctionEnv, rs_key: SigningKey
) -> None:
    function_env.jwks.go_down()
    assert_fails(f"Bearer {rs_key.sign(claims())}", "keys_unavailable")


def test_transient_faults_count_as_authorizer_errors_not_denials(
    function_env: FunctionEnv, rs_key: SigningKey, capsys: pytest.CaptureFixture[str]
) -> None:
    function_env.jwks.go_down()
    with pytest.raises(authorizer_app.AuthorizerFailed):
        authorize(f"Bearer {rs_key.sign(claims())}")
    counted = [
        (metric["Name"], document["reason"], document["service"])
        for document in metric_documents(capsys.readouterr().out)
        if "reason" in document
        for directive in document["_aws"]["CloudWatchMetrics"]
        for metric in directive["Metrics"]
    ]
    assert counted == [("AuthorizerError", "keys_unavailable", "multi-region-authorizer")]


# --- never allow on error; a bug fails the invocation ---------------------------------------------


def test_missing_configuration_denies_and_counts_an_error(
    function_env: FunctionEnv,
    rs_key: SigningKey,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("AUTH_ISSUERS")
    response = authorize(f"Bearer {rs_key.sign(claims())}")
    assert not allows(response, METHOD_ARN)
    names = {
        metric["Name"]
        for document in metric_documents(capsys.readouterr().out)
        for directive in document["_aws"]["CloudWatchMetrics"]
        for metric in directive["Metrics"]
    }
    assert {"AuthorizerDeny", "AuthorizerError"} <= names


@pytest.mark.parametrize(
    "method_arn",
    [
        None,
        42,
        "",
        "arn:aws:s3:::bucket",
        f"{API}/prod",
        # Wildcards would widen the policy to every API or stage: never echo them back.
        "arn:aws:execute-api:us-east-1:123456789012:*/prod/GET/whoami",
        f"{API}/*/GET/whoami",
        "arn:aws:execute-api:*:123456789012:a1b2c3d4e5/prod/GET/whoami",
    ],
)
def test_a_malformed_method_arn_denies(
    function_env: FunctionEnv, rs_key: SigningKey, method_arn: Any
) -> None:
    response = authorize(f"Bearer {rs_key.sign(claims())}", method_arn=method_arn)
    assert [s["Effect"] for s in response["policyDocument"]["Statement"]] == ["Deny"]


@pytest.mark.parametrize(
    "event", [None, [], "Bearer x", {"type": "TOKEN"}, {"authorizationToken": 7}]
)
def test_events_of_the_wrong_shape_get_401(function_env: FunctionEnv, event: Any) -> None:
    with pytest.raises(authorizer_app.Unauthorized):
        authorizer_app.handler(event, FakeLambdaContext())


def test_an_unexpected_failure_fails_the_invocation_without_logging_the_token(
    function_env: FunctionEnv,
    rs_key: SigningKey,
    monkeypatch: pytest.MonkeyPatch,
    log_output: io.StringIO,
) -> None:
    token = rs_key.sign(claims())

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"bug while handling {token}")

    monkeypatch.setattr(authorizer_app, "caller_context", broken)
    assert_fails(f"Bearer {token}", "error")
    logged = log_output.getvalue()
    assert "RuntimeError" in logged
    assert token.split(".")[2] not in logged


def test_tokens_are_never_logged(
    function_env: FunctionEnv,
    rs_key: SigningKey,
    attacker_key: SigningKey,
    log_output: io.StringIO,
    capsys: pytest.CaptureFixture[str],
) -> None:
    function_env.revoke("revoked-jti")
    tokens = [
        rs_key.sign(claims()),
        rs_key.sign(claims(jti="revoked-jti")),
        rs_key.sign(claims(exp=int(time.time()) - 3600)),
        attacker_key.sign(claims()),
    ]
    for token in tokens:
        with contextlib.suppress(authorizer_app.Unauthorized):
            authorize(f"Bearer {token}")
    everything = log_output.getvalue() + capsys.readouterr().out
    assert "Denied" in everything
    for token in tokens:
        for segment in token.split("."):
            assert segment not in everything
