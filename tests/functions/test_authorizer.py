"""The authorizer handler end to end: real TOKEN events, keys from the loopback JWKS,
revocations from the global table in the emulator."""

from __future__ import annotations

import contextlib
import io
import json
import re
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from functions.authorizer import app as authorizer_app
from functions.authorizer.revocations import RevocationList, RevocationsUnavailable
from functions.authorizer.store import load_revoked_token_ids
from functions.shared.observability import logger
from infra.settings.function_specs import SPEC_BY_NAME
from tests.functions.support import (
    METHOD_ARN,
    REGION,
    TABLE_NAME,
    FakeClock,
    FakeLambdaContext,
    FromNow,
    FunctionEnv,
    SigningKey,
    claims,
    jwks_document,
    load_event,
)

API = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5"


def authorize(authorization: Any, method_arn: Any = METHOD_ARN) -> dict[str, Any]:
    event = load_event("authorizer_token")
    event["authorizationToken"] = authorization
    event["methodArn"] = method_arn
    return authorizer_app.handler(event, FakeLambdaContext())


def allows(response: dict[str, Any], method_arn: str) -> bool:
    """Evaluate the returned policy like API Gateway: an explicit Deny wins, else any Allow."""

    def matches(resource: str) -> bool:
        pattern = re.escape(resource).replace(r"\*", ".*").replace(r"\?", ".")
        return re.fullmatch(pattern, method_arn) is not None

    effects = {
        statement["Effect"]
        for statement in response["policyDocument"]["Statement"]
        if statement["Action"] == "execute-api:Invoke"
        and any(matches(resource) for resource in statement["Resource"])
    }
    return "Allow" in effects and "Deny" not in effects


def assert_unauthorized(authorization: Any) -> None:
    with pytest.raises(authorizer_app.Unauthorized) as raised:
        authorize(authorization)
    assert str(raised.value) == "Unauthorized"  # API Gateway answers 401 on this exact message


def assert_fails(authorization: Any, reason: str) -> None:
    """The invocation fails: API Gateway answers 500 and caches nothing (no Deny to cache)."""
    with pytest.raises(authorizer_app.AuthorizerFailed) as raised:
        authorize(authorization)
    assert raised.value.reason == reason
    assert str(raised.value) != "Unauthorized"  # that message alone would be a (cached) 401


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


# --- revocation -----------------------------------------------------------------------------------


def test_a_revoked_token_gets_an_explicit_deny(
    function_env: FunctionEnv, rs_key: SigningKey
) -> None:
    function_env.revoke("stolen-token")
    response = authorize(f"Bearer {rs_key.sign(claims(jti='stolen-token'))}")
    assert response["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert not allows(response, METHOD_ARN)
    # Other tokens of the same user are unaffected.
    assert allows(authorize(f"Bearer {rs_key.sign(claims(jti='fresh-token'))}"), METHOD_ARN)


def test_an_expired_revocation_entry_no_longer_counts(function_env: FunctionEnv) -> None:
    function_env.revoke("long-gone", expires_at=int(time.time()) - 60)
    function_env.revoke("still-revoked")
    assert load_revoked_token_ids(function_env.dynamodb, TABLE_NAME) == {"still-revoked"}


def test_revocations_take_effect_at_the_next_refresh_and_not_per_request(
    function_env: FunctionEnv,
) -> None:
    clock = FakeClock()
    calls = []

    def load() -> frozenset[str]:
        calls.append(clock.now)
        return load_revoked_token_ids(function_env.dynamodb, TABLE_NAME)

    revocations = RevocationList(load, max_age=60, clock=clock)
    assert not revocations.is_revoked("jti-1")
    function_env.revoke("jti-1")
    clock.now = 59.0
    assert not revocations.is_revoked("jti-1")  # documented staleness: up to 60 s
    clock.now = 60.0
    assert revocations.is_revoked("jti-1")
    assert calls == [0.0, 60.0]


def test_a_failed_refresh_keeps_the_last_list_and_retries_later() -> None:
    clock = FakeClock()
    outcomes: list[frozenset[str] | Exception] = [
        frozenset({"a"}),
        ConnectionError("dynamodb down"),
        frozenset({"a", "b"}),
    ]

    def load() -> frozenset[str]:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    revocations = RevocationList(load, max_age=60, retry_interval=5, clock=clock)
    assert revocations.is_revoked("a")
    clock.now = 60.0
    assert revocations.is_revoked("a") and not revocations.is_revoked("b")
    clock.now = 64.0
    assert not revocations.is_revoked("b")  # no retry before the retry interval
    clock.now = 65.0
    assert revocations.is_revoked("b")


def test_a_list_never_loaded_is_reported_not_assumed_empty() -> None:
    def load() -> frozenset[str]:
        raise ConnectionError("dynamodb down")

    with pytest.raises(RevocationsUnavailable):
        RevocationList(load).is_revoked("anything")


def test_a_stale_list_serves_tokens_but_is_not_readable_for_the_canary() -> None:
    clock = FakeClock()
    outcomes: list[frozenset[str] | Exception] = [frozenset({"a"}), ConnectionError("down")]

    def load() -> frozenset[str]:
        outcome = outcomes.pop(0) if outcomes else frozenset({"a"})
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    revocations = RevocationList(load, max_age=60, retry_interval=5, clock=clock)
    assert revocations.readable() == 1
    clock.now = 60.0
    with pytest.raises(RevocationsUnavailable):
        revocations.readable()  # the read path is broken...
    assert revocations.is_revoked("a")  # ...while tokens are still judged on the last list
    clock.now = 65.0
    assert revocations.readable() == 1


# --- the health function's canary ---------------------------------------------------------------


def test_the_canary_event_answers_with_the_region_and_the_revocations_read(
    function_env: FunctionEnv,
) -> None:
    function_env.revoke("jti-1")
    answer = authorizer_app.handler({"type": "HEALTH_CANARY"}, FakeLambdaContext())
    assert answer == {"canary": "ok", "region": REGION, "revoked": 1}


def test_the_canary_fails_the_invocation_when_revocations_cannot_be_read(
    function_env: FunctionEnv,
) -> None:
    function_env.dynamodb.delete_table(TableName=TABLE_NAME)
    with pytest.raises(RevocationsUnavailable):
        authorizer_app.handler({"type": "HEALTH_CANARY"}, FakeLambdaContext())


def test_a_token_event_is_never_taken_for_the_canary(function_env: FunctionEnv) -> None:
    """API Gateway's events are typed TOKEN; a client controls only the token."""
    event = {"type": "TOKEN", "authorizationToken": "HEALTH_CANARY", "methodArn": METHOD_ARN}
    with pytest.raises(authorizer_app.Unauthorized):
        authorizer_app.handler(event, FakeLambdaContext())


def test_unreadable_revocations_at_cold_start_fail_the_invocation_instead_of_a_cached_deny(
    function_env: FunctionEnv, rs_key: SigningKey
) -> None:
    function_env.dynamodb.delete_table(TableName=TABLE_NAME)
    assert_fails(f"Bearer {rs_key.sign(claims())}", "revocations_unavailable")


@pytest.fixture
def unresponsive_endpoint() -> Iterator[str]:
    """A TCP endpoint that accepts connections and never answers (a brownout, not an outage)."""
    with socket.create_server(("127.0.0.1", 0), backlog=16) as server:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


def test_a_table_that_stops_answering_fails_well_inside_the_function_timeout(
    function_env: FunctionEnv,
    rs_key: SigningKey,
    unresponsive_endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # An invocation that hits the Lambda timeout never records its failed refresh, so every
    # following request would hang again: the revocation read must give up on its own, with
    # room left for a JWKS fetch. The keys come from the loopback JWKS; only DynamoDB hangs.
    monkeypatch.setenv("AWS_ENDPOINT_URL", unresponsive_endpoint)
    deadline = (
        SPEC_BY_NAME["authorizer"].timeout_seconds - authorizer_app.JWKS_FETCH_DEADLINE_SECONDS
    )
    started = time.monotonic()
    assert_fails(f"Bearer {rs_key.sign(claims())}", "revocations_unavailable")
    assert time.monotonic() - started < deadline


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
