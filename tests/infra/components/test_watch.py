"""Each Region watches the other: the watcher, its schedule and permission, the alarm on the
other Region and the Region's own alert topic, all in the watching Region, pointing the right
way."""

from __future__ import annotations

import json

import pytest

from functions.watcher import metric
from infra.mockrun import ProgramRun
from infra.settings.function_specs import PEER_HEALTHY_METRIC, WATCH_NAMESPACE
from tests.infra.plan import APP, REGIONS, RunProgram

OTHER = {"primary": "secondary", "secondary": "primary"}
EMAIL = "oncall@example.com"


@pytest.fixture(scope="module")
def paging_run(run_with: RunProgram) -> ProgramRun:
    return run_with(alarmEmail=EMAIL)


@pytest.mark.parametrize("role", REGIONS)
def test_the_watcher_gets_the_other_regions_custom_domain_and_nothing_else(
    default_run: ProgramRun, role: str
) -> None:
    region, peer = REGIONS[role], OTHER[role]
    function = default_run.named(f"{role}-watcher")
    assert function.region == region
    assert function.inputs["name"] == f"{APP}-watcher"
    assert function.inputs["handler"] == "functions.watcher.app.handler"
    assert function.inputs["architectures"] == ["arm64"]
    assert function.inputs["layers"] == [default_run.named(f"{role}-deps").outputs["arn"]]
    env = function.inputs["environment"]["variables"]
    assert env == {
        "POWERTOOLS_SERVICE_NAME": "watcher",
        "POWERTOOLS_METRICS_NAMESPACE": "MultiRegionAuthorizer",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "WATCH_APP": APP,
        "WATCH_PEER_ROLE": peer,
        "WATCH_PEER_REGION": REGIONS[peer],
        # Through the custom domain of the shared name, connected at the peer's Regional target.
        "WATCH_PEER_URL": "https://auth.example.com/health/signed",
        "WATCH_PEER_ADDRESS": default_run.named(f"{peer}-domain").outputs["regionalDomainName"],
    }
    log_group = default_run.named(f"{role}-watcher-logs")
    assert log_group.region == region
    assert log_group.inputs["retentionInDays"] == 30
    assert function.inputs["loggingConfig"]["logGroup"] == log_group.inputs["name"]
    # No retry storm: neither EventBridge nor Lambda's asynchronous invoke retries a run.
    invoke_config = default_run.named(f"{role}-watcher-invoke-config")
    assert invoke_config.region == region
    assert invoke_config.inputs["functionName"] == function.outputs["name"]
    assert invoke_config.inputs["maximumRetryAttempts"] == 0


@pytest.mark.parametrize("role", REGIONS)
def test_a_schedule_each_minute_invokes_the_watcher_in_its_region(
    default_run: ProgramRun, role: str
) -> None:
    region = REGIONS[role]
    function = default_run.named(f"{role}-watcher")
    rule = default_run.named(f"{role}-watch-schedule")
    assert rule.region == region
    assert rule.inputs["scheduleExpression"] == "rate(1 minute)"
    assert rule.inputs["name"] == f"{APP}-watch"
    target = default_run.named(f"{role}-watch-schedule-target")
    assert target.region == region
    assert target.inputs["rule"] == rule.inputs["name"]
    assert target.inputs["arn"] == function.outputs["arn"]
    assert target.inputs["retryPolicy"]["maximumRetryAttempts"] == 0
    permission = default_run.named(f"{role}-watch-schedule-permission")
    assert permission.region == region
    assert permission.inputs["action"] == "lambda:InvokeFunction"
    assert permission.inputs["function"] == function.outputs["name"]
    assert permission.inputs["principal"] == "events.amazonaws.com"
    assert permission.inputs["sourceArn"] == rule.outputs["arn"]
    assert rule.outputs["arn"] == f"arn:aws:events:{region}:123456789012:rule/{APP}-watch"


@pytest.mark.parametrize("role", REGIONS)
def test_the_alarm_on_the_other_region_pages_through_this_regions_topic(
    paging_run: ProgramRun, role: str
) -> None:
    region, peer = REGIONS[role], OTHER[role]
    alarm = paging_run.named(f"{role}-watch-unreachable")
    topic = paging_run.named(f"{role}-watch-alerts")
    assert alarm.region == topic.region == region
    assert topic.inputs["name"] == f"{APP}-alerts"
    inputs = alarm.inputs
    assert inputs["name"] == f"{APP}-{peer}-unreachable"
    assert (inputs["namespace"], inputs["metricName"]) == (
        "MultiRegionAuthorizer/Watch",
        "PeerHealthy",
    )
    assert inputs["dimensions"] == {"App": APP, "Peer": peer}
    assert (inputs["statistic"], inputs["period"], inputs["threshold"]) == ("Minimum", 60, 1)
    assert inputs["comparisonOperator"] == "LessThanThreshold"
    assert (inputs["evaluationPeriods"], inputs["datapointsToAlarm"]) == (2, 2)
    assert inputs["treatMissingData"] == "breaching"
    assert inputs["alarmActions"] == inputs["okActions"] == [topic.outputs["arn"]]
    assert topic.outputs["arn"].startswith(f"arn:aws:sns:{region}:")
    # The same subscriptions as the us-east-1 topic, from the same config.
    subscription = paging_run.named(f"{role}-watch-alerts-email")
    us_east_1 = paging_run.named("dns-alarms-email")
    assert subscription.region == region
    assert subscription.inputs["topic"] == topic.outputs["arn"]
    assert (
        (subscription.inputs["protocol"], subscription.inputs["endpoint"])
        == (
            us_east_1.inputs["protocol"],
            us_east_1.inputs["endpoint"],
        )
        == ("email", EMAIL)
    )


def test_without_alarm_email_no_topic_has_a_subscription(default_run: ProgramRun) -> None:
    assert default_run.of_type("aws:sns/topicSubscription:TopicSubscription") == []


def test_the_watcher_may_put_metrics_only_in_its_namespace(default_run: ProgramRun) -> None:
    for role in REGIONS:
        statements = json.loads(default_run.named(f"{role}-watcher-policy").inputs["policy"])
        (metrics,) = [
            s for s in statements["Statement"] if "cloudwatch:PutMetricData" in s["Action"]
        ]
        assert metrics["Action"] == ["cloudwatch:PutMetricData"]
        assert metrics["Condition"] == {
            "StringEquals": {"cloudwatch:namespace": "MultiRegionAuthorizer/Watch"}
        }
        assert not [s for s in statements["Statement"] if s["Action"][0].startswith("dynamodb:")]


@pytest.mark.parametrize("role", REGIONS)
def test_the_watcher_may_invoke_only_the_peers_signed_health_route(
    default_run: ProgramRun, role: str
) -> None:
    peer_api = default_run.named(f"{OTHER[role]}-rest-api")
    statements = json.loads(default_run.named(f"{role}-watcher-policy").inputs["policy"])
    invokes = [s for s in statements["Statement"] if "execute-api:Invoke" in s["Action"]]
    assert invokes == [
        {
            "Effect": "Allow",
            "Action": ["execute-api:Invoke"],
            "Resource": [f"{peer_api.outputs['executionArn']}/prod/GET/health/signed"],
        }
    ]
    # Its own Region's functions invoke no API.
    for other in ("health", "api", "authorizer"):
        policy = json.loads(default_run.named(f"{role}-{other}-policy").inputs["policy"])
        assert not [s for s in policy["Statement"] if "execute-api:Invoke" in s["Action"]]


def test_the_function_publishes_what_the_alarm_watches() -> None:
    assert (metric.WATCH_NAMESPACE, metric.PEER_HEALTHY_METRIC) == (
        WATCH_NAMESPACE,
        PEER_HEALTHY_METRIC,
    )
