"""GET /health: deep checks, their time budget, and the failure switch an operator drills with."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from functions.health import app as health_app
from functions.health.checks import CheckResult, run_checks
from tests.functions.support import (
    FAILURE_SWITCH,
    REGION,
    TABLE_NAME,
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


def test_a_healthy_region_answers_200_with_every_check(function_env: FunctionEnv) -> None:
    status, body, headers = get_health()
    assert status == 200
    assert body == {
        "status": "healthy",
        "region": REGION,
        "checks": {
            "table": {"ok": True, "detail": "readable"},
            "signingKeys": {"ok": True, "detail": "2 keys (remote)"},
            "failureSwitch": {"ok": True, "detail": "healthy"},
        },
    }
    assert headers["Content-Type"] == "application/json"
    assert headers["Cache-Control"] == "no-store"


def test_the_failure_switch_makes_the_region_unhealthy(function_env: FunctionEnv) -> None:
    function_env.set_switch("failing")
    status, body, _ = get_health()
    assert status == 500
    assert body["status"] == "unhealthy"
    assert body["checks"]["failureSwitch"] == {"ok": False, "detail": "failing"}
    assert body["checks"]["table"]["ok"] and body["checks"]["signingKeys"]["ok"]


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
    assert body["checks"]["failureSwitch"] == {"ok": False, "detail": "unexpected value"}


def test_a_missing_switch_parameter_is_unhealthy(function_env: FunctionEnv) -> None:
    function_env.ssm.delete_parameter(Name=FAILURE_SWITCH)
    status, body, _ = get_health()
    assert status == 500
    assert body["checks"]["failureSwitch"]["ok"] is False
    assert body["checks"]["failureSwitch"]["detail"].startswith("error: ")


def test_an_unreadable_table_is_unhealthy(function_env: FunctionEnv) -> None:
    function_env.dynamodb.delete_table(TableName=TABLE_NAME)
    status, body, _ = get_health()
    assert status == 500
    assert body["checks"]["table"] == {"ok": False, "detail": "error: ResourceNotFoundException"}


def test_pinned_keys_keep_the_region_healthy_through_an_idp_outage(
    function_env: FunctionEnv, rs_key: SigningKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTH_JWKS_PINNED", jwks_document(rs_key).decode())
    function_env.jwks.go_down()
    status, body, _ = get_health()
    assert status == 200
    assert body["checks"]["signingKeys"] == {"ok": True, "detail": "1 keys (pinned)"}


def test_no_loadable_keys_is_unhealthy(function_env: FunctionEnv) -> None:
    function_env.jwks.go_down()
    status, body, _ = get_health()
    assert status == 500
    assert body["checks"]["signingKeys"] == {"ok": False, "detail": "error: KeysUnavailable"}


def test_missing_configuration_is_unhealthy_and_says_what_is_missing(
    function_env: FunctionEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FAILURE_SWITCH_PARAMETER")
    status, body, _ = get_health()
    assert status == 500
    assert body["checks"] == {
        "configuration": {
            "ok": False,
            "detail": "environment variable FAILURE_SWITCH_PARAMETER is required",
        }
    }


def test_a_check_over_its_budget_fails_without_holding_up_the_answer() -> None:
    release = threading.Event()

    def hung() -> CheckResult:
        release.wait(10)
        return CheckResult(ok=True, detail="too late")

    results = run_checks(
        {"hung": hung, "quick": lambda: CheckResult(ok=True, detail="fine")}, budget_seconds=0.05
    )
    # The hung check is still blocked, so run_checks returned on its budget, not on the check.
    assert not release.is_set()
    release.set()
    assert results == {
        "hung": CheckResult(ok=False, detail="timeout"),
        "quick": CheckResult(ok=True, detail="fine"),
    }


def test_a_check_that_raises_is_a_failed_check() -> None:
    def broken() -> CheckResult:
        raise ConnectionError("no route to host 10.0.0.1")

    results = run_checks({"broken": broken}, budget_seconds=1)
    assert results == {"broken": CheckResult(ok=False, detail="error: ConnectionError")}


def test_an_unknown_route_on_the_health_function_is_404(function_env: FunctionEnv) -> None:
    event = load_event("health_get")
    event["path"] = event["resource"] = "/healthz"
    response = health_app.handler(event, FakeLambdaContext())
    assert response["statusCode"] == 404
