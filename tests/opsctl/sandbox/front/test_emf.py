"""The functions' EMF output becomes CloudWatch metrics in the sandbox, and the Region's
authorizer-errors alarm (metric math: e0 + e1) is evaluated from them."""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import (
    AmazonCloudWatchEMFProvider,
)

from opsctl.sandbox.cloudwatch.evaluator import AlarmEvaluator
from opsctl.sandbox.emulator import Emulator
from opsctl.sandbox.front.emf import EmfCapture, InvalidEmf, emf_metric_data
from opsctl.sandbox.front.lambda_runtime import LambdaRuntime
from opsctl.sandbox.front.metrics import MetricsPublisher
from opsctl.sandbox.provisioning.provision import Provisioned

REGION = "us-east-1"
NAMESPACE = "MultiRegionAuthorizer"


def powertools_emf(
    metrics: dict[str, float], reason: str, at: datetime, service: str = "authorizer"
) -> dict[str, Any]:
    """The EMF document Powertools Metrics prints for one authorizer invocation."""
    provider = AmazonCloudWatchEMFProvider(namespace=NAMESPACE, service=service)
    provider.add_dimension(name="reason", value=reason)
    for name, value in metrics.items():
        provider.add_metric(name=name, unit="Count", value=value)
    provider.set_timestamp(at)
    return json.loads(json.dumps(provider.serialize_metric_set()))


class RecordingCloudWatch:
    def __init__(self) -> None:
        self.batches: list[tuple[str, list[dict[str, Any]]]] = []

    def put_metric_data(self, Namespace: str, MetricData: list[dict[str, Any]]) -> None:
        self.batches.append((Namespace, MetricData))


def test_powertools_emf_document_becomes_a_datum_per_metric_with_its_dimensions() -> None:
    at = datetime.now(UTC).replace(microsecond=250000)
    document = powertools_emf({"AuthorizerDeny": 1, "AuthorizerError": 1}, "error", at)
    data = emf_metric_data(document)
    assert [(namespace, datum["MetricName"]) for namespace, datum in data] == [
        (NAMESPACE, "AuthorizerDeny"),
        (NAMESPACE, "AuthorizerError"),
    ]
    for _, datum in data:
        assert {d["Name"]: d["Value"] for d in datum["Dimensions"]} == {
            "service": "authorizer",
            "reason": "error",
        }
        assert datum["Timestamp"] == at
        assert (datum["Value"], datum["Unit"]) == (1.0, "Count")
        assert "StorageResolution" not in datum


def test_every_dimension_set_and_value_is_published_high_resolution_kept() -> None:
    document = {
        "_aws": {
            "Timestamp": 1_772_368_215_000,
            "CloudWatchMetrics": [
                {
                    "Namespace": "Game",
                    "Dimensions": [["service"], ["service", "route"]],
                    "Metrics": [
                        {"Name": "Latency", "Unit": "Milliseconds", "StorageResolution": 1}
                    ],
                }
            ],
        },
        "service": "api",
        "route": "/sessions",
        "Latency": [12.5, 40],
        "requestId": "not a metric",
    }
    data = emf_metric_data(document)
    assert [
        (tuple(d["Value"] for d in datum["Dimensions"]), datum["Value"]) for _, datum in data
    ] == [
        (("api",), 12.5),
        (("api",), 40.0),
        (("api", "/sessions"), 12.5),
        (("api", "/sessions"), 40.0),
    ]
    assert {(datum["Unit"], datum["StorageResolution"]) for _, datum in data} == {
        ("Milliseconds", 1)
    }


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ({"reason": None}, "dimension 'reason'"),
        ({"AuthorizerError": "1"}, "metric 'AuthorizerError'"),
        ({"_aws": {"CloudWatchMetrics": []}}, "Timestamp"),
    ],
)
def test_invalid_emf_document_yields_no_metric(broken: dict[str, Any], message: str) -> None:
    at = datetime.now(UTC)
    document = {**powertools_emf({"AuthorizerError": 1}, "error", at), **broken}
    with pytest.raises(InvalidEmf, match=message):
        emf_metric_data(document)
    cloudwatch = RecordingCloudWatch()
    publisher = MetricsPublisher(cloudwatch)
    publisher.publish_emf(document)
    publisher.flush()
    assert cloudwatch.batches == []


def test_capture_passes_every_write_through_and_finds_emf_lines_split_across_writes() -> None:
    emf_line = json.dumps(powertools_emf({"AuthorizerError": 1}, "error", datetime.now(UTC)))
    log_line = json.dumps({"level": "ERROR", "message": "Authorizer failed", "_aws_note": 1})
    target = io.StringIO()
    found: list[dict[str, Any]] = []
    capture = EmfCapture(target, found.append)
    written = [log_line + "\n", emf_line[:40], emf_line[40:] + "\n", "plain text {\n", emf_line]
    for text in written:
        capture.write(text)
    assert len(found) == 1  # the last EMF line has no newline yet
    capture.finish()
    assert target.getvalue() == "".join(written)
    assert [document["AuthorizerError"] for document in found] == [[1.0], [1.0]]


@pytest.fixture
def lambda_environment(provisioned: Provisioned, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The front process's environment; what the runtime sets per function is undone after."""
    monkeypatch.setenv("AWS_REGION", REGION)
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_misconfigured_authorizer_emits_authorizer_error_into_cloudwatch(
    provisioned: Provisioned,
    lambda_environment: None,
    emulator: Emulator,
    capsys: pytest.CaptureFixture[str],
) -> None:
    spec = provisioned.fronts[REGION]
    assert spec.authorizer is not None
    # The authorizer without its issuers: every invocation denies as "misconfigured". Loaded
    # after the other functions, which import the same shared modules with their own service.
    others = [f for f in spec.functions if f.name != spec.authorizer.function]
    (authorizer,) = [f for f in spec.functions if f.name == spec.authorizer.function]
    environment = {k: v for k, v in authorizer.environment.items() if k != "AUTH_ISSUERS"}
    functions = [*others, replace(authorizer, environment=environment)]
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    publisher = MetricsPublisher(cloudwatch)
    runtime = LambdaRuntime(functions, REGION, spec.account_id, publisher)
    runtime.preload()
    method_arn = f"arn:aws:execute-api:{REGION}:{spec.account_id}:{spec.api_id}/prod/GET/whoami"
    started = time.time()
    for _ in range(3):
        result = runtime.invoke(
            spec.authorizer.function,
            {"type": "TOKEN", "authorizationToken": "Bearer abc", "methodArn": method_arn},
        )
        assert result["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    publisher.flush()

    stdout = capsys.readouterr().out.splitlines()
    assert sum("Authorizer is misconfigured" in line for line in stdout) == 3  # logs intact
    assert sum('"AuthorizerError"' in line and '"_aws"' in line for line in stdout) == 3
    listed = cloudwatch.list_metrics(Namespace=NAMESPACE, MetricName="AuthorizerError")["Metrics"]
    # Each function has its own Powertools service (its POWERTOOLS_SERVICE_NAME), as in Lambda.
    assert {frozenset((d["Name"], d["Value"]) for d in m["Dimensions"]) for m in listed} == {
        frozenset({("service", "authorizer"), ("reason", "misconfigured")})
    }
    emulator.metrics.refresh()
    series = emulator.metrics.series(
        REGION, NAMESPACE, "AuthorizerError", {"service": "authorizer", "reason": "misconfigured"}
    )
    assert series is not None
    points = series.between(started - 1, time.time() + 1)
    assert points == [1.0, 1.0, 1.0]


def test_authorizer_errors_alarm_fires_on_enough_errors_of_either_reason_only(
    provisioned: Provisioned, emulator: Emulator
) -> None:
    app = provisioned.topology["app"]
    alarm_name = f"{app}-primary-authorizer-errors"
    impaired_name = provisioned.topology["regions"]["primary"]["impairedAlarmName"]
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"]
    returned = [q for q in alarm["Metrics"] if q.get("ReturnData")]
    assert [q["Expression"] for q in returned] == ["e0 + e1"]
    threshold = int(alarm["Threshold"])
    periods = alarm["EvaluationPeriods"]
    publisher = MetricsPublisher(cloudwatch)
    time_scale = 0.05
    period = 60 * time_scale
    evaluator = AlarmEvaluator(
        {REGION: cloudwatch},
        {REGION: boto3.client("sns", region_name=REGION)},
        emulator.metrics,
        time_scale=time_scale,
    )

    def publish(errors_by_period: list[dict[str, int]], now: float) -> None:
        """Authorizer invocations' EMF documents, period by period back from `now`."""
        for index, errors in enumerate(errors_by_period):
            middle = now - (index + 0.5) * period
            for reason, count in errors.items():
                for n in range(count):
                    at = datetime.fromtimestamp(middle + n * 0.01, UTC)
                    publisher.publish_emf(
                        powertools_emf({"AuthorizerDeny": 1, "AuthorizerError": 1}, reason, at)
                    )
        publisher.flush()

    def states() -> tuple[str, str]:
        found = cloudwatch.describe_alarms(
            AlarmNames=[alarm_name, impaired_name], AlarmTypes=["MetricAlarm", "CompositeAlarm"]
        )
        return found["MetricAlarms"][0]["StateValue"], found["CompositeAlarms"][0]["StateValue"]

    now = time.time() - 300
    # One error short of the threshold in every period: no alarm.
    publish([{"error": threshold - 1}] * periods, now)
    evaluator.evaluate_all(now)
    assert states() == ("OK", "OK")

    # Enough failures in every period, whichever reason (`+` counts a missing reason as 0: one
    # reason alone still counts, and both reasons add up).
    now += periods * period
    half = threshold // 2
    mixed = [
        {"error": threshold},
        {"misconfigured": threshold},
        {"error": half, "misconfigured": threshold - half},
    ]
    publish([mixed[index % len(mixed)] for index in range(periods)], now)
    evaluator.evaluate_all(now)
    assert states() == ("ALARM", "ALARM")

    # Minutes without a single failure are missing data, not breaching: back to OK.
    now += periods * period
    evaluator.evaluate_all(now)
    assert states() == ("OK", "OK")
    (evaluated,) = cloudwatch.describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"]
    assert json.loads(evaluated["StateReasonData"])["recentDatapoints"] == []
