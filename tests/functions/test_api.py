"""The session API: whoami, idempotent session creation (also across Regions, with or without
replication), reads, and clear errors for bad input on every route."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from functions.api import app as api_app
from tests.functions.support import (
    ISSUER,
    OTHER_REGION,
    REGION,
    TABLE_NAME,
    FakeLambdaContext,
    FunctionEnv,
    create_state_table,
    load_event,
)

SESSION_BODY = {"game": "chess", "mode": "ranked", "maxPlayers": 2}
PARTNER_ISSUER = "https://login.partner.example/"


def call(event: dict[str, Any], function_name: str = "api") -> tuple[int, dict[str, Any]]:
    response = api_app.handler(event, FakeLambdaContext(function_name=function_name))
    return response["statusCode"], json.loads(response["body"])


def as_caller(event: dict[str, Any], subject: str, issuer: str = ISSUER) -> dict[str, Any]:
    event["requestContext"]["authorizer"].update(
        principalId=subject, subject=subject, issuer=issuer
    )
    return event


def create_event(
    body: Any = SESSION_BODY,
    key: str | None = "3f0c2a8e-5b8d-4f57-9c1e-2d7f0b6a9e41",
    subject: str = "user-8f14e45f",
    issuer: str = ISSUER,
) -> dict[str, Any]:
    event = as_caller(load_event("api_create_session"), subject, issuer)
    event["body"] = body if isinstance(body, str) or body is None else json.dumps(body)
    for headers in (event["headers"], event["multiValueHeaders"]):
        headers.pop("Idempotency-Key")
    if key is not None:
        event["headers"]["Idempotency-Key"] = key
        event["multiValueHeaders"]["Idempotency-Key"] = [key]
    return event


def get_event(
    session_id: str, subject: str = "user-8f14e45f", issuer: str = ISSUER
) -> dict[str, Any]:
    event = as_caller(load_event("api_get_session"), subject, issuer)
    event["path"] = f"/sessions/{session_id}"
    event["pathParameters"] = {"id": session_id}
    return event


def session_items(dynamodb: Any) -> list[dict[str, Any]]:
    items = dynamodb.scan(TableName=TABLE_NAME)["Items"]
    return [item for item in items if item["pk"]["S"].startswith("session#")]


# --- whoami ------------------------------------------------------------------------------------


def test_whoami_returns_the_caller_and_the_serving_region(function_env: FunctionEnv) -> None:
    status, body = call(load_event("api_whoami"))
    assert status == 200
    assert body == {
        "principal": "user-8f14e45f",
        "claims": {
            "sub": "user-8f14e45f",
            "iss": "https://idp.example.com/",
            "scope": ["sessions:read", "sessions:write"],
        },
        "region": REGION,
        "authorizerRegion": REGION,
    }


@pytest.mark.parametrize(
    "authorizer",
    [None, {}, {"principalId": ""}, {"principalId": "user-8f14e45f", "subject": "user-8f14e45f"}],
)
def test_a_request_without_a_caller_is_401(function_env: FunctionEnv, authorizer: Any) -> None:
    event = load_event("api_whoami")
    event["requestContext"]["authorizer"] = authorizer
    assert call(event) == (401, {"message": "no authenticated caller on this request"})


# --- create, replay, read ------------------------------------------------------------------------


def test_creating_a_session_returns_201_and_stores_it(function_env: FunctionEnv) -> None:
    status, session = call(create_event())
    assert status == 201
    assert session["owner"] == {"iss": ISSUER, "sub": "user-8f14e45f"}
    assert {k: session[k] for k in SESSION_BODY} == SESSION_BODY
    assert session["region"] == REGION
    assert len(session["id"]) == 32
    assert [item["pk"]["S"] for item in session_items(function_env.dynamodb)] == [
        f"session#{session['id']}"
    ]


def test_a_replayed_create_returns_the_first_session(function_env: FunctionEnv) -> None:
    first = call(create_event())
    replay = call(create_event())
    assert first[0] == replay[0] == 201
    assert replay[1] == first[1]
    assert len(session_items(function_env.dynamodb)) == 1


def test_a_new_key_creates_a_new_session(function_env: FunctionEnv) -> None:
    _, first = call(create_event(key="key-1"))
    _, second = call(create_event(key="key-2"))
    assert first["id"] != second["id"]


def test_keys_are_scoped_to_the_caller(function_env: FunctionEnv) -> None:
    _, mine = call(create_event(key="shared-key", subject="alice"))
    status, theirs = call(create_event(key="shared-key", subject="mallory"))
    assert status == 201
    assert theirs["id"] != mine["id"] and theirs["owner"]["sub"] == "mallory"


def test_the_same_subject_from_another_issuer_is_another_caller(function_env: FunctionEnv) -> None:
    _, mine = call(create_event(key="shared-key", subject="alice"))
    status, theirs = call(create_event(key="shared-key", subject="alice", issuer=PARTNER_ISSUER))
    assert status == 201
    assert theirs["id"] != mine["id"]
    assert theirs["owner"] == {"iss": PARTNER_ISSUER, "sub": "alice"}
    assert call(get_event(mine["id"], subject="alice", issuer=PARTNER_ISSUER))[0] == 404


def test_reusing_a_key_with_another_body_is_422(function_env: FunctionEnv) -> None:
    call(create_event(key="key-1"))
    status, body = call(create_event(body={**SESSION_BODY, "maxPlayers": 4}, key="key-1"))
    assert status == 422
    assert "Idempotency-Key" in body["message"]
    assert len(session_items(function_env.dynamodb)) == 1


def test_a_retry_landing_in_the_other_region_after_failover_gets_the_first_session(
    function_env: FunctionEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, first = call(create_event(), function_name="app-primary-api-3f9a1c2")

    # The global table replicates every item to the other Region's replica.
    replica = boto3.client("dynamodb", region_name=OTHER_REGION)
    create_state_table(replica)
    for item in function_env.dynamodb.scan(TableName=TABLE_NAME)["Items"]:
        replica.put_item(TableName=TABLE_NAME, Item=item)

    # Failover: the same client retry now reaches the secondary's function (another name).
    monkeypatch.setenv("AWS_REGION", OTHER_REGION)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "app-secondary-api-8d2e4b7")
    api_app.runtime.cache_clear()
    status, replay = call(create_event(), function_name="app-secondary-api-8d2e4b7")
    assert status == 201
    assert replay == first
    assert replay["region"] == REGION  # created once, in the primary
    assert len(session_items(replica)) == 1


def test_the_same_create_in_both_regions_without_replication_yields_one_session_id(
    function_env: FunctionEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inside the replication lag each Region's conditional write sees only its own replica:
    both creates succeed, and they must meet on one item when the replicas converge."""
    _, in_primary = call(create_event())
    replica = boto3.client("dynamodb", region_name=OTHER_REGION)
    create_state_table(replica)  # nothing replicated yet
    monkeypatch.setenv("AWS_REGION", OTHER_REGION)
    api_app.runtime.cache_clear()
    status, in_secondary = call(create_event())
    assert status == 201
    assert in_secondary["id"] == in_primary["id"]
    assert in_secondary["region"] == OTHER_REGION  # each Region wrote its own copy
    primary_keys = [(i["pk"], i["sk"]) for i in session_items(function_env.dynamodb)]
    assert primary_keys == [(i["pk"], i["sk"]) for i in session_items(replica)]
    assert len(primary_keys) == 1  # last writer wins on this one item: one session


def test_an_expired_session_is_gone_and_its_key_creates_a_fresh_one(
    function_env: FunctionEnv,
) -> None:
    _, created = call(create_event())
    key = {"pk": {"S": f"session#{created['id']}"}, "sk": {"S": "session"}}
    # TTL deletes late: the expired item is still in the table.
    function_env.dynamodb.update_item(
        TableName=TABLE_NAME,
        Key=key,
        UpdateExpression="SET expiresAt = :past",
        ExpressionAttributeValues={":past": {"N": "1700000000"}},
    )
    assert call(get_event(created["id"]))[0] == 404
    status, again = call(create_event(body={**SESSION_BODY, "maxPlayers": 8}))
    assert status == 201 and again["id"] == created["id"] and again["maxPlayers"] == 8


def test_the_owner_reads_a_session_back(function_env: FunctionEnv) -> None:
    _, created = call(create_event())
    assert call(get_event(created["id"])) == (200, created)


def test_another_callers_session_is_not_found(function_env: FunctionEnv) -> None:
    _, created = call(create_event(subject="alice"))
    assert call(get_event(created["id"], subject="mallory")) == (
        404,
        {"message": "session not found"},
    )


def test_a_missing_session_is_404(function_env: FunctionEnv) -> None:
    assert call(get_event("0" * 32))[0] == 404


# --- bad input on every route ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (None, "request body is required"),
        ("", "request body is required"),
        ("{not json", "request body must be JSON"),
        ("[1, 2]", "request body must be a JSON object"),
        ({"mode": "ranked", "maxPlayers": 2}, "game must be"),
        ({**SESSION_BODY, "game": "Chess!"}, "game must be"),
        ({**SESSION_BODY, "game": "x" * 65}, "game must be"),
        ({**SESSION_BODY, "game": 7}, "game must be"),
        ({**SESSION_BODY, "mode": "hardcore"}, "mode must be one of: casual, ranked"),
        ({"game": "chess", "mode": "ranked"}, "maxPlayers must be"),
        ({**SESSION_BODY, "maxPlayers": "2"}, "maxPlayers must be"),
        ({**SESSION_BODY, "maxPlayers": True}, "maxPlayers must be"),
        ({**SESSION_BODY, "maxPlayers": 2.5}, "maxPlayers must be"),
        ({**SESSION_BODY, "maxPlayers": 1}, "maxPlayers must be"),
        ({**SESSION_BODY, "maxPlayers": 65}, "maxPlayers must be"),
        ({**SESSION_BODY, "owner": "someone-else"}, "unknown field(s): owner"),
    ],
)
def test_invalid_session_bodies_are_400_and_create_nothing(
    function_env: FunctionEnv, body: Any, message: str
) -> None:
    status, response = call(create_event(body=body))
    assert status == 400
    assert response["message"].startswith(message)
    assert session_items(function_env.dynamodb) == []


def test_an_oversized_body_is_413(function_env: FunctionEnv) -> None:
    status, response = call(create_event(body=json.dumps({"game": "x" * 5000})))
    assert status == 413
    assert "4096 bytes" in response["message"]


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (None, "Idempotency-Key header is required"),
        ("", "Idempotency-Key must be"),
        ("has space", "Idempotency-Key must be"),
        ("k" * 256, "Idempotency-Key must be"),
        ("clé", "Idempotency-Key must be"),
    ],
)
def test_a_missing_or_bad_idempotency_key_is_400(
    function_env: FunctionEnv, key: str | None, message: str
) -> None:
    status, response = call(create_event(key=key))
    assert status == 400
    assert response["message"].startswith(message)


@pytest.mark.parametrize(
    "session_id", ["abc", "0" * 31, "g" * 32, "0123456789ABCDEF0123456789ABCDEF"]
)
def test_a_malformed_session_id_is_400(function_env: FunctionEnv, session_id: str) -> None:
    status, response = call(get_event(session_id))
    assert status == 400
    assert response == {"message": "session id must be 32 lowercase hex characters"}


def test_an_unknown_route_is_a_json_404(function_env: FunctionEnv) -> None:
    event = load_event("api_whoami")
    event["path"] = "/admin"
    assert call(event) == (404, {"message": "no such route"})


def test_a_server_side_failure_is_500_without_internals(function_env: FunctionEnv) -> None:
    function_env.dynamodb.delete_table(TableName=TABLE_NAME)
    status, body = call(create_event())
    assert status == 500
    assert body == {"message": "internal error"}
