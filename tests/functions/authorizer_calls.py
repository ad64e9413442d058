"""Calling the authorizer handler as API Gateway does (a TOKEN event), and judging the policy it
answers with as API Gateway would."""

from __future__ import annotations

import re
from typing import Any

import pytest

from functions.authorizer import app as authorizer_app
from tests.functions.support import (
    METHOD_ARN,
    FakeLambdaContext,
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
