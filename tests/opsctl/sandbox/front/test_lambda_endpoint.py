"""The front's Lambda Invoke API: what a function reaches when it invokes another function of
its Region (the health function's authorizer canary), and the canary end to end on the real
program's front spec."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from opsctl.sandbox.front.api import Front
from opsctl.sandbox.front.lambda_endpoint import LambdaEndpoint
from opsctl.sandbox.front.lambda_runtime import LambdaRuntime
from opsctl.sandbox.front.spec import FrontSpec
from opsctl.sandbox.provisioning.provision import Provisioned
from opsctl.sandbox.route53.checkers import checker_source

REGION = "us-east-1"


def scripted(name: str, event: dict[str, Any]) -> Any:
    if event.get("fail"):
        raise RuntimeError("handler blew up")
    return {"echo": event, "function": name}


@pytest.fixture
def endpoint() -> Iterator[LambdaEndpoint]:
    served = LambdaEndpoint(scripted, {"app-authorizer": ["live"], "app-api": []})
    yield served
    served.close()


def lambda_client(endpoint: LambdaEndpoint) -> Any:
    return boto3.client(
        "lambda",
        region_name=REGION,
        endpoint_url=endpoint.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def invoke(endpoint: LambdaEndpoint, function: str, event: dict[str, Any]) -> dict[str, Any]:
    response = lambda_client(endpoint).invoke(
        FunctionName=function, Payload=json.dumps(event).encode()
    )
    return {"error": response.get("FunctionError"), "payload": json.load(response["Payload"])}


@pytest.mark.parametrize(
    "function",
    [
        "app-authorizer",
        "app-authorizer:live",
        "arn:aws:lambda:us-east-1:123456789012:function:app-authorizer:live",
        "123456789012:function:app-authorizer",
    ],
)
def test_invoke_by_name_arn_or_alias_runs_the_handler(
    endpoint: LambdaEndpoint, function: str
) -> None:
    assert invoke(endpoint, function, {"type": "X"}) == {
        "error": None,
        "payload": {"echo": {"type": "X"}, "function": "app-authorizer"},
    }


@pytest.mark.parametrize("function", ["app-nothing", "app-authorizer:gone", "app-api:live"])
def test_an_unknown_function_or_alias_is_resource_not_found(
    endpoint: LambdaEndpoint, function: str
) -> None:
    with pytest.raises(ClientError) as raised:
        invoke(endpoint, function, {})
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert endpoint.invoked == []


def test_a_raising_handler_is_an_unhandled_function_error(endpoint: LambdaEndpoint) -> None:
    assert invoke(endpoint, "app-authorizer", {"fail": True}) == {
        "error": "Unhandled",
        "payload": {"errorMessage": "handler blew up", "errorType": "RuntimeError"},
    }


# --- the health function's canary on the real program's front ----------------------------------


def health_of(spec: FrontSpec, monkeypatch: pytest.MonkeyPatch) -> tuple[int, dict[str, Any]]:
    """GET /prod/health on a front running the real handlers of `spec`, with the Lambda
    endpoint the front process gives them."""
    # What the front process sets for its functions.
    monkeypatch.setenv("AWS_REGION", spec.region)
    runtime = LambdaRuntime(spec.functions, spec.region, spec.account_id)
    runtime.preload()  # as the front does: no cold import inside a check's budget
    endpoint = LambdaEndpoint(
        runtime.invoke_from_function, {f.name: f.aliases for f in spec.functions}
    )
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", endpoint.url)
    for function in spec.functions:
        if function.aliases:
            # A warm authorizer, as between Route 53's checks: its first build (clients, the
            # first revocation read) can outlast one check's budget on a loaded machine.
            with contextlib.suppress(Exception):
                runtime.invoke(function.name, {"type": "HEALTH_CANARY"})
    try:
        # From a health checker's address: the program's resource policy admits only them.
        response = Front(spec, runtime).handle(
            "GET", "/prod/health", {"Host": "x"}, b"", checker_source(0)
        )
    finally:
        endpoint.close()
    return response.status, json.loads(response.body)


def with_authorizer(spec: FrontSpec, **changes: Any) -> FrontSpec:
    assert spec.authorizer is not None
    functions = [
        dataclasses.replace(f, **changes) if f.name == spec.authorizer.function else f
        for f in spec.functions
    ]
    return dataclasses.replace(spec, functions=functions)


def test_the_health_functions_canary_needs_a_working_authorizer_alias(
    provisioned: Provisioned, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One provisioning, three fronts: working, alias gone, authorizer misconfigured."""
    spec = provisioned.fronts[REGION]
    status, body = health_of(spec, monkeypatch)
    assert status == 200, body
    assert body["checks"]["authorizer"] == {"status": "ok", "detail": "answers"}

    status, body = health_of(with_authorizer(spec, aliases=[]), monkeypatch)
    assert status == 500, body
    assert body["checks"]["authorizer"] == {"status": "failed", "detail": "unavailable"}

    (authorizer,) = [f for f in spec.functions if f.aliases]
    environment = {k: v for k, v in authorizer.environment.items() if k != "AUTH_AUDIENCE"}
    status, body = health_of(with_authorizer(spec, environment=environment), monkeypatch)
    assert status == 500, body
    assert body["checks"]["authorizer"] == {"status": "failed", "detail": "error"}
