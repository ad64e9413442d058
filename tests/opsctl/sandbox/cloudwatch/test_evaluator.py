"""CloudWatch-like alarm evaluation against the emulator: a Region's metric alarms from the
metrics its front publishes, and the composite alarm they drive, with SNS notices."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import boto3

from opsctl.sandbox.cloudwatch.evaluator import AlarmEvaluator
from opsctl.sandbox.emulator import Emulator
from opsctl.sandbox.provisioning.provision import Provisioned


def test_region_alarms_and_composite_follow_the_published_api_metrics(
    aws_endpoint: str, emulator: Emulator
) -> None:
    """The Region's own 5xx alarm, from API Gateway's metrics, drives the composite alarm."""
    region = "us-west-2"
    cloudwatch = boto3.client("cloudwatch", region_name=region)
    sns = boto3.client("sns", region_name=region)
    sqs = boto3.client("sqs", region_name=region)
    topic = sns.create_topic(Name="app-secondary-region-alarms")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="region-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    api = [{"Name": "ApiName", "Value": "app-secondary"}, {"Name": "Stage", "Value": "prod"}]
    cloudwatch.put_metric_alarm(
        AlarmName="app-secondary-api-5xx",
        Namespace="AWS/ApiGateway",
        MetricName="5XXError",
        Dimensions=api,
        Statistic="Average",
        Period=60,
        EvaluationPeriods=2,
        DatapointsToAlarm=2,
        Threshold=0.05,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
    )
    cloudwatch.put_composite_alarm(
        AlarmName="app-secondary-impaired",
        AlarmRule='ALARM("app-secondary-api-5xx") OR ALARM("app-secondary-lambda-throttles")',
        AlarmActions=[topic],
        OKActions=[topic],
    )
    evaluator = AlarmEvaluator(
        {region: cloudwatch}, {region: sns}, emulator.metrics, time_scale=0.01
    )

    def publish_requests(failed_share: float, at: float) -> None:
        cloudwatch.put_metric_data(
            Namespace="AWS/ApiGateway",
            MetricData=[
                {
                    "MetricName": "5XXError",
                    "Dimensions": api,
                    "Timestamp": datetime.fromtimestamp(at - i * 0.01, UTC),
                    "Value": float(i < failed_share * 100),
                }
                for i in range(100)
            ],
        )

    def states() -> tuple[str, str]:
        alarms = cloudwatch.describe_alarms(AlarmTypes=["MetricAlarm", "CompositeAlarm"])
        return (
            alarms["MetricAlarms"][0]["StateValue"],
            alarms["CompositeAlarms"][0]["StateValue"],
        )

    # Periods are 0.6 s at this scale: two periods of 20 % 5xx breach the 5 % threshold.
    now = time.time()
    publish_requests(0.02, now - 1.0)
    publish_requests(0.02, now - 0.1)
    evaluator.evaluate_all(now)
    assert states() == ("OK", "OK")
    publish_requests(0.2, now + 0.5)
    publish_requests(0.2, now + 1.1)
    evaluator.evaluate_all(now + 1.2)
    assert states() == ("ALARM", "ALARM")
    publish_requests(0.0, now + 1.7)
    evaluator.evaluate_all(now + 1.8)
    assert states() == ("OK", "OK")
    notices = [
        json.loads(json.loads(m["Body"])["Message"])
        for m in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    ]
    composite = [n for n in notices if n["AlarmName"] == "app-secondary-impaired"]
    assert [n["NewStateValue"] for n in composite] == ["ALARM", "OK"]
    assert composite[0]["Region"] == "US West (Oregon)"


def test_the_programs_5xx_alarm_ignores_the_health_routes_own_500s(
    provisioned: Provisioned, emulator: Emulator
) -> None:
    """On the idle standby the checkers are the only traffic: a failing health route (a drill)
    must not read as an impaired Region. Players' 5xx do."""
    region = "us-west-2"
    cloudwatch = boto3.client("cloudwatch", region_name=region)
    sns = boto3.client("sns", region_name=region)
    (alarm,) = [
        a
        for a in cloudwatch.describe_alarms(AlarmTypes=["MetricAlarm"])["MetricAlarms"]
        if a["AlarmName"].endswith("-api-5xx")
    ]
    (api_name,) = {
        d["Value"]
        for q in alarm["Metrics"]
        if "MetricStat" in q
        for d in q["MetricStat"]["Metric"]["Dimensions"]
        if d["Name"] == "ApiName"
    }
    evaluator = AlarmEvaluator(
        {region: cloudwatch}, {region: sns}, emulator.metrics, time_scale=0.01
    )

    def answered(method: str, resource: str, failed: bool, at: float) -> None:
        """One request as the front publishes it: stage-wide and by method and resource."""
        stage = [{"Name": "ApiName", "Value": api_name}, {"Name": "Stage", "Value": "prod"}]
        detailed = [*stage, {"Name": "Method", "Value": method},
                    {"Name": "Resource", "Value": resource}]  # fmt: skip
        cloudwatch.put_metric_data(
            Namespace="AWS/ApiGateway",
            MetricData=[
                {
                    "MetricName": name,
                    "Dimensions": dims,
                    "Value": value,
                    "Timestamp": datetime.fromtimestamp(at, UTC),
                }
                for dims in (stage, detailed)
                for name, value in (("5XXError", float(failed)), ("Count", 1.0))
            ],
        )

    def state() -> str:
        described = cloudwatch.describe_alarms(AlarmNames=[alarm["AlarmName"]])
        return str(described["MetricAlarms"][0]["StateValue"])

    # Periods are 0.6 s at this scale; the alarm needs 3 of 3.
    now = time.time()
    for step in range(12):
        answered("GET", "/health", True, now - 1.9 + step * 0.15)
    evaluator.evaluate_all(now)
    assert state() == "OK"
    for step in range(12):
        answered("GET", "/whoami", True, now + 0.1 + step * 0.15)
    evaluator.evaluate_all(now + 1.9)
    assert state() == "ALARM"
