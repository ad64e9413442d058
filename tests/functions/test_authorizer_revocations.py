"""The authorizer handler and the revoked-token list: revocations from the global table in the
emulator, refreshed on a schedule, never assumed empty; and the health function's canary event,
which fails when they cannot be read."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from functions.authorizer import app as authorizer_app
from functions.authorizer.revocations import RevocationList, RevocationsUnavailable
from functions.authorizer.store import load_revoked_token_ids
from infra.settings.function_specs import SPEC_BY_NAME
from tests.functions.authorizer_calls import (
    allows,
    assert_fails,
    authorize,
)
from tests.functions.support import (
    METHOD_ARN,
    REGION,
    TABLE_NAME,
    FakeClock,
    FakeLambdaContext,
    FunctionEnv,
    SigningKey,
    claims,
)

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
