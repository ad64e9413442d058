"""Each Region's watch on the other, as the sandbox runs it: the schedule read back from the
program, the watcher pointed at the peer's front, run on the scaled minute, and a Region's
outage taking its CloudWatch evaluation and SNS delivery with it."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from opsctl.sandbox.cloudwatch.evaluator import AlarmEvaluator
from opsctl.sandbox.emulator import Emulator
from opsctl.sandbox.front.schedule import Schedules, scheduled_event
from opsctl.sandbox.front.spec import FrontSpec, ScheduleSpec
from opsctl.sandbox.provisioning.provision import Provisioned, rate_seconds
from tests.opsctl.sandbox.conftest import FRONT_ADDRESSES

APP = "multi-region-authorizer-primary"
PEER = {"us-east-1": ("secondary", "us-west-2"), "us-west-2": ("primary", "us-east-1")}


def test_each_regions_watcher_is_scheduled_and_points_at_the_peers_front(
    provisioned: Provisioned,
) -> None:
    for region, spec in provisioned.fronts.items():
        (schedule,) = spec.schedules
        assert schedule == ScheduleSpec(f"{APP}-watcher", 60.0, f"{APP}-watch")
        (watcher,) = spec.scheduled_functions()
        assert watcher.handler == "functions.watcher.app.handler"
        role, peer_region = PEER[region]
        env = watcher.environment
        assert env["WATCH_PEER_ROLE"] == role and env["WATCH_PEER_REGION"] == peer_region
        # The peer's custom-domain target "resolves" to the peer's front (HTTPS, one port).
        assert env["WATCH_PEER_ADDRESS"] == FRONT_ADDRESSES[peer_region]
        assert env["WATCH_PEER_URL"] == "https://auth.example.com/health"
        # No route reaches it: API Gateway does not invoke the watcher.
        assert all(route.function != watcher.name for route in spec.routes)


@pytest.mark.unit
def test_rate_expressions_in_seconds() -> None:
    assert rate_seconds("rate(1 minute)") == 60
    assert rate_seconds("rate(5 minutes)") == 300
    assert rate_seconds("rate(2 hours)") == 7200
    with pytest.raises(ValueError, match="rate expressions only"):
        rate_seconds("cron(0 12 * * ? *)")


class CountingRuntime:
    def __init__(self, fail: bool = False) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.fail = fail

    def invoke(self, function_name: str, event: dict[str, Any]) -> Any:
        self.events.append((function_name, event))
        if self.fail:
            raise RuntimeError("the handler raised")
        return {}


def _spec() -> FrontSpec:
    return FrontSpec(
        region="us-west-2",
        account_id="123456789012",
        api_id="abc",
        stage="prod",
        routes=[],
        functions=[],
        authorizer=None,
        schedules=[ScheduleSpec(f"{APP}-watcher", 60.0, f"{APP}-watch")],
    )


@pytest.mark.unit
def test_the_schedule_invokes_on_the_scaled_minute_with_eventbridges_event() -> None:
    runtime = CountingRuntime()
    schedules = Schedules(_spec(), runtime, time_scale=0.002)
    schedules.start()
    time.sleep(0.5)
    schedules.stop()
    # One run each 0.12 s: about four in half a second, never a burst of retries.
    assert 3 <= len(runtime.events) <= 6
    function, event = runtime.events[0]
    assert function == f"{APP}-watcher"
    assert event["source"] == "aws.events" and event["detail-type"] == "Scheduled Event"
    assert event["resources"] == [f"arn:aws:events:us-west-2:123456789012:rule/{APP}-watch"]


@pytest.mark.unit
def test_a_failed_run_is_not_retried() -> None:
    runtime = CountingRuntime(fail=True)
    schedules = Schedules(_spec(), runtime, time_scale=0.005)
    schedules.invoke(_spec().schedules[0])
    assert len(runtime.events) == 1
    assert scheduled_event(_spec(), _spec().schedules[0])["region"] == "us-west-2"


def test_a_region_that_is_out_neither_evaluates_nor_notifies(
    aws_endpoint: str, emulator: Emulator
) -> None:
    """The secondary's watcher alarm fires and notifies; the primary's own alarm, in the Region
    that is out, stays as it was and sends nothing until the Region is back."""
    regions = ("us-east-1", "us-west-2")
    cloudwatch = {r: boto3.client("cloudwatch", region_name=r) for r in regions}
    sns = {r: boto3.client("sns", region_name=r) for r in regions}
    sqs = boto3.client("sqs", region_name="us-west-2")
    queue_url = sqs.create_queue(QueueName="pager")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    for region in regions:
        topic = sns[region].create_topic(Name=f"{APP}-alerts")["TopicArn"]
        sns[region].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        watched = PEER[region][0]
        cloudwatch[region].put_metric_alarm(
            AlarmName=f"{APP}-{watched}-unreachable",
            Namespace="MultiRegionAuthorizer/Watch",
            MetricName="PeerHealthy",
            Dimensions=[{"Name": "App", "Value": APP}, {"Name": "Peer", "Value": watched}],
            Statistic="Minimum",
            Period=60,
            EvaluationPeriods=2,
            DatapointsToAlarm=2,
            Threshold=1,
            ComparisonOperator="LessThanThreshold",
            TreatMissingData="breaching",
            AlarmActions=[topic],
            OKActions=[topic],
        )
    evaluator = AlarmEvaluator(cloudwatch, sns, emulator.metrics, time_scale=0.01)
    evaluator.isolate("us-east-1")

    def publish(region: str, value: float, at: float) -> None:
        cloudwatch[region].put_metric_data(
            Namespace="MultiRegionAuthorizer/Watch",
            MetricData=[
                {
                    "MetricName": "PeerHealthy",
                    "Dimensions": [
                        {"Name": "App", "Value": APP},
                        {"Name": "Peer", "Value": PEER[region][0]},
                    ],
                    "Timestamp": datetime.fromtimestamp(at, UTC),
                    "Value": value,
                }
            ],
        )

    def state(region: str) -> str:
        alarm = cloudwatch[region].describe_alarms()["MetricAlarms"][0]
        return str(alarm["StateValue"])

    # Periods are 0.6 s at this scale; both watchers see their peer unreachable.
    now = time.time()
    for offset in (0.0, 0.6, 1.2):
        publish("us-west-2", 0.0, now + offset)
        publish("us-east-1", 0.0, now + offset)
    before = state("us-east-1")
    evaluator.evaluate_all(now + 1.3)
    assert state("us-west-2") == "ALARM"
    assert state("us-east-1") == before  # out: nothing evaluated there
    notices = [
        json.loads(json.loads(m["Body"])["Message"])
        for m in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    ]
    assert [(n["AlarmName"], n["NewStateValue"]) for n in notices] == [
        (f"{APP}-primary-unreachable", "ALARM")
    ]
    # Back: evaluation resumes there from the datapoints it has.
    evaluator.rejoin("us-east-1")
    evaluator.evaluate_all(now + 1.3)
    assert state("us-east-1") == "ALARM"
