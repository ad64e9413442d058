"""Route 53-like checkers against the emulator: a checker's verdict, the metrics they publish and
the health alarm that follows them."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from opsctl.sandbox.cloudwatch.evaluator import AlarmEvaluator
from opsctl.sandbox.emulator import Emulator
from opsctl.sandbox.route53.checkers import (
    CHECKER_SOURCE_RANGE,
    CheckerState,
    HealthTarget,
    Route53HealthCheckers,
    checker_source,
    probe_once,
)
from tests.opsctl.sandbox.conftest import HEALTH_ALARM
from tests.support.http import LoopbackServer, QuietHandler


def test_checker_flips_only_after_failure_threshold_consecutive_results() -> None:
    checker = CheckerState()
    checker.observe(False, 3)
    checker.observe(False, 3)
    assert checker.healthy
    checker.observe(True, 3)  # a success resets the streak
    for _ in range(3):
        checker.observe(False, 3)
    assert not checker.healthy
    checker.observe(True, 3)
    checker.observe(True, 3)
    checker.observe(True, 3)
    assert checker.healthy


class SwitchableHealth:
    """A loopback /health endpoint whose answer the test flips."""

    def __init__(self) -> None:
        self.status = 200
        owner = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                self.reply(owner.status)

        self.server = LoopbackServer(Handler)

    @property
    def url(self) -> str:
        return f"{self.server.base_url}/prod/health"

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def health_endpoint() -> Iterator[SwitchableHealth]:
    endpoint = SwitchableHealth()
    yield endpoint
    endpoint.close()


def test_a_checker_sends_from_the_health_checker_range() -> None:
    # As Route 53's checkers send from the ranges it publishes, which the API's resource policy
    # admits to GET /health.
    seen: list[str] = []

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            seen.append(self.client_address[0])
            self.reply(200)

    server = LoopbackServer(Handler)
    try:
        target = HealthTarget("hc", f"{server.base_url}/prod/health", "x", 1.0, 1)
        assert probe_once(target, checker_source(3)).passed
    finally:
        server.close()
    assert seen == ["127.0.53.4"]
    assert ipaddress.ip_address(seen[0]) in ipaddress.ip_network(CHECKER_SOURCE_RANGE)


def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def test_checkers_publish_status_and_the_alarm_follows_with_sns_notice(
    aws_endpoint: str, emulator: Emulator, health_endpoint: SwitchableHealth
) -> None:
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    sns = boto3.client("sns", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    topic = sns.create_topic(Name="app-alarms")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="alarm-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    cloudwatch.put_metric_alarm(
        **{k: v for k, v in HEALTH_ALARM.items()},
        Dimensions=[{"Name": "HealthCheckId", "Value": "hc-1"}],
        AlarmActions=[topic],
        OKActions=[topic],
    )
    target = HealthTarget("hc-1", health_endpoint.url, "api.example", 0.1, failure_threshold=2)
    checkers = Route53HealthCheckers([target], cloudwatch)
    evaluator = AlarmEvaluator(
        {"us-east-1": cloudwatch},
        {"us-east-1": sns},
        emulator.metrics,
        time_scale=0.02,
        tick_seconds=0.05,
    )
    checkers.start()
    evaluator.start()

    def alarm_state() -> str:
        return cloudwatch.describe_alarms(AlarmNames=["app-primary-health"])["MetricAlarms"][0][
            "StateValue"
        ]

    try:
        wait_for(lambda: alarm_state() == "OK")
        health_endpoint.status = 500
        wait_for(lambda: alarm_state() == "ALARM")
        health_endpoint.status = 200
        wait_for(lambda: alarm_state() == "OK")
    finally:
        evaluator.stop()
        checkers.stop()
    metrics = cloudwatch.list_metrics(Namespace="AWS/Route53", MetricName="HealthCheckStatus")
    assert metrics["Metrics"][0]["Dimensions"] == [{"Name": "HealthCheckId", "Value": "hc-1"}]
    notices = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    assert any("ALARM" in message["Body"] for message in notices)
