"""GET /health: deep checks, their time budget, and the failure switch an operator drills with."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from functions.authorizer import app as authorizer_app
from functions.health import app as health_app
from functions.health.checks import (
    CANARY_EVENT,
    Check,
    CheckResult,
    CheckState,
    LastKnownSwitch,
    failure_switch,
    run_checks,
)
from opsctl.sandbox.front.lambda_endpoint import LambdaEndpoint
from tests.functions.support import (
    AUTHORIZER_ALIAS_ARN,
    FAILURE_SWITCH,
    REGION,
    TABLE_NAME,
    FakeClock,
    FakeLambdaContext,
    FunctionEnv,
    SigningKey,
    jwks_document,
    load_event,
)


def get_health() -> tuple[int, dict[str, Any], dict[str, str]]:
    response = health_app.handler(load_event("health_get"), FakeLambdaContext())
    # The event carries multiValueHeaders, so Powertools answers in that form too.
    headers = {name: values[-1] for name, values in response["multiValueHeaders"].items()}
    return response["statusCode"], json.loads(response["body"]), headers


def ok(detail: str) -> dict[str, str]:
    return {"status": "ok", "detail": detail}


def test_a_healthy_region_answers_200_with_every_check(function_env: FunctionEnv) -> None:
    status, body, headers = get_health()
    assert status == 200
    assert body == {
        "status": "healthy",
        "region": REGION,
        "checks": {
            "table": ok("readable"),
            "authorizer": ok("answers"),
            "signingKeys": ok("2 keys (remote)"),
            "failureSwitch": ok("healthy"),
        },
    }
    assert headers["Content-Type"] == "application/json"
    assert headers["Cache-Control"] == "no-store"


def test_the_failure_switch_makes_the_region_unhealthy(function_env: FunctionEnv) -> None:
    function_env.set_switch("failing")
    status, body, _ = get_health()
    assert status == 500
    assert body["status"] == "unhealthy"
    assert body["checks"]["failureSwitch"] == {"status": "failed", "detail": "failing"}
    assert body["checks"]["table"] == ok("readable")


def test_a_drill_takes_effect_without_a_redeploy(
    function_env: FunctionEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health_app, "SWITCH_CACHE_SECONDS", 0)
    assert get_health()[0] == 200
    function_env.set_switch("failing")
    assert get_health()[0] == 500
    function_env.set_switch("healthy")
    assert get_health()[0] == 200


def test_the_switch_is_read_through_a_short_cache(function_env: FunctionEnv) -> None:
    # Health checkers call every few seconds from many Regions: not one SSM read per call.
    assert get_health()[0] == 200
    function_env.set_switch("failing")
    assert get_health()[0] == 200
    assert health_app.SWITCH_CACHE_SECONDS <= 10


@pytest.mark.parametrize("value", ["FAILING", " failing\n"])
def test_the_switch_value_is_read_leniently(function_env: FunctionEnv, value: str) -> None:
    function_env.set_switch(value)
    assert get_health()[0] == 500


def test_an_unknown_switch_value_is_unhealthy(function_env: FunctionEnv) -> None:
    function_env.set_switch("maintenance")
    status, body, _ = get_health()
    assert status == 500
    assert body["checks"]["failureSwitch"] == {"status": "failed", "detail": "unexpected value"}


def test_an_unreadable_switch_is_degraded_not_a_failed_region(function_env: FunctionEnv) -> None:
    """SSM is not on the request path: a switch that cannot be read says nothing against
    serving."""
    function_env.ssm.delete_parameter(Name=FAILURE_SWITCH)
    status, body, _ = get_health()
    assert status == 200
    assert body["status"] == "degraded"
    assert body["checks"]["failureSwitch"] == {"status": "degraded", "detail": "unknown"}


def test_the_switch_answers_from_its_last_value_when_ssm_fails(
    function_env: FunctionEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health_app, "SWITCH_CACHE_SECONDS", 0)
    monkeypatch.setattr(health_app, "SWITCH_READ_DEADLINE_SECONDS", 0.9)  # a loaded test machine
    function_env.set_switch("failing")
    assert get_health()[0] == 500
    function_env.ssm.delete_parameter(Name=FAILURE_SWITCH)  # every read fails from now on
    status, body, _ = get_health()
    assert status == 500  # a drill in progress stays in effect
    assert body["checks"]["failureSwitch"] == {"status": "failed", "detail": "failing"}


def test_a_slow_switch_read_is_answered_from_the_last_value_within_the_deadline() -> None:
    clock = FakeClock()
    slow = threading.Event()
    reads = iter(["healthy"])

    def read() -> str:
        value = next(reads, None)
        if value is None:
            slow.wait(10)  # SSM hangs from the second read on
            raise TimeoutError
        return value

    switch = LastKnownSwitch(read, max_age=5, deadline=0.05, clock=clock)
    assert failure_switch(switch) == CheckResult(CheckState.OK, "healthy")
    clock.advance(6)
    started = time.monotonic()
    assert failure_switch(switch) == CheckResult(CheckState.DEGRADED, "healthy (last known)")
    assert time.monotonic() - started < 1  # the deadline, not the hung read
    assert failure_switch(switch).state is CheckState.DEGRADED  # one read in flight, not two
    slow.set()


def test_an_unreadable_table_is_unhealthy_without_revealing_aws_errors(
    function_env: FunctionEnv,
) -> None:
    function_env.dynamodb.delete_table(TableName=TABLE_NAME)
    status, body, _ = get_health()
    assert status == 500
    assert body["checks"]["table"] == {"status": "failed", "detail": "unavailable"}
    assert "Exception" not in json.dumps(body) and "ResourceNotFound" not in json.dumps(body)


def test_pinned_keys_keep_the_region_healthy_through_an_idp_outage(
    function_env: FunctionEnv, rs_key: SigningKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTH_JWKS_PINNED", jwks_document(rs_key).decode())
    function_env.jwks.go_down()
    status, body, _ = get_health()
    assert status == 200
    assert body["status"] == "degraded"
    assert body["checks"]["signingKeys"] == {"status": "degraded", "detail": "1 keys (pinned)"}


def test_an_idp_outage_is_degraded_because_both_regions_share_it(
    function_env: FunctionEnv,
) -> None:
    """Failing over cannot bring the identity provider back: the Region stays in DNS."""
    function_env.jwks.go_down()
    status, body, _ = get_health()
    assert status == 200
    assert body["checks"]["signingKeys"] == {"status": "degraded", "detail": "unavailable"}
    assert body["checks"]["authorizer"] == ok("answers")


# --- the serving path: the authorizer's canary ----------------------------------------------


def test_the_canary_invokes_the_authorizers_alias(
    function_env: FunctionEnv, lambda_endpoint: LambdaEndpoint
) -> None:
    assert get_health()[0] == 200
    assert lambda_endpoint.invoked[-1] == (AUTHORIZER_ALIAS_ARN.split(":")[6], CANARY_EVENT)


def test_a_missing_authorizer_alias_makes_the_region_unhealthy(
    function_env: FunctionEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTHORIZER_ALIAS_ARN", AUTHORIZER_ALIAS_ARN.replace(":live", ":gone"))
    status, body, _ = get_health()
    assert status == 500
    assert body["checks"]["authorizer"] == {"status": "failed", "detail": "unavailable"}


def test_an_authorizer_that_cannot_read_revocations_makes_the_region_unhealthy(
    function_env: FunctionEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The health function's own table read still works: only the authorizer's is broken
    (say, its role lost dynamodb:Query). Tokens would fail here, so the Region must leave DNS."""

    def denied(*_: object) -> frozenset[str]:
        raise ClientError({"Error": {"Code": "AccessDeniedException"}}, "Query")

    monkeypatch.setattr(authorizer_app, "load_revoked_token_ids", denied)
    status, body, _ = get_health()
    assert status == 500
    assert body["checks"]["authorizer"] == {"status": "failed", "detail": "error"}
    assert body["checks"]["table"] == ok("readable")
    assert "AccessDenied" not in json.dumps(body)


def test_a_misconfigured_authorizer_makes_the_region_unhealthy(
    function_env: FunctionEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(env: Any = None) -> Any:
        raise authorizer_app.ConfigurationError("environment variable AUTH_AUDIENCE is required")

    monkeypatch.setattr(authorizer_app.AuthorizerSettings, "from_env", broken)
    status, body, _ = get_health()
    assert status == 500
    assert body["checks"]["authorizer"] == {"status": "failed", "detail": "error"}


def test_missing_configuration_is_unhealthy_and_says_what_is_missing(
    function_env: FunctionEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FAILURE_SWITCH_PARAMETER")
    status, body, _ = get_health()
    assert status == 500
    assert body["checks"] == {
        "configuration": {
            "status": "failed",
            "detail": "environment variable FAILURE_SWITCH_PARAMETER is required",
        }
    }


def test_a_check_over_its_budget_gets_its_error_state_without_holding_up_the_answer() -> None:
    release = threading.Event()

    def hung() -> CheckResult:
        release.wait(10)
        return CheckResult(CheckState.OK, "too late")

    results = run_checks(
        {
            "hung": Check(hung),
            "sharedHung": Check(hung, on_error=CheckState.DEGRADED),
            "quick": Check(lambda: CheckResult(CheckState.OK, "fine")),
        },
        budget_seconds=0.05,
    )
    # The hung check is still blocked, so run_checks returned on its budget, not on the check.
    assert not release.is_set()
    release.set()
    assert results == {
        "hung": CheckResult(CheckState.FAILED, "timeout"),
        "sharedHung": CheckResult(CheckState.DEGRADED, "timeout"),
        "quick": CheckResult(CheckState.OK, "fine"),
    }


def test_a_check_that_raises_is_a_failed_check_without_its_message() -> None:
    def broken() -> CheckResult:
        raise ConnectionError("no route to host 10.0.0.1")

    results = run_checks({"broken": Check(broken)}, budget_seconds=1)
    assert results == {"broken": CheckResult(CheckState.FAILED, "unavailable")}


def test_the_signed_twin_answers_as_the_health_route(function_env: FunctionEnv) -> None:
    # GET /health/signed (AWS_IAM) is the same function for the watchers and opsctl.
    event = load_event("health_get")
    event["path"] = event["resource"] = "/health/signed"
    event["requestContext"]["resourcePath"] = "/health/signed"
    response = health_app.handler(event, FakeLambdaContext())
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["region"] == REGION


def test_an_unknown_route_on_the_health_function_is_404(function_env: FunctionEnv) -> None:
    event = load_event("health_get")
    event["path"] = event["resource"] = "/healthz"
    response = health_app.handler(event, FakeLambdaContext())
    assert response["statusCode"] == 404
