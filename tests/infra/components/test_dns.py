"""DNS failover: per-Region health checks, their us-east-1 alarms, the weighted alias records."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infra.mockrun import ProgramRun
from tests.infra.plan import RunProgram, only

REGIONS = {"primary": "us-east-1", "secondary": "us-west-2"}
APP = "multi-region-authorizer-primary"
HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"


@pytest.mark.parametrize("role", REGIONS)
def test_health_check_targets_the_regions_own_endpoint(default_run: ProgramRun, role: str) -> None:
    region = REGIONS[role]
    check = default_run.named(f"dns-{role}-health-check")
    api_id = default_run.named(f"{role}-rest-api").id
    assert check.region == "us-east-1"
    assert check.inputs["type"] == "HTTPS"
    assert check.inputs["fqdn"] == f"{api_id}.execute-api.{region}.amazonaws.com"
    assert check.inputs["fqdn"] != "auth.example.com"
    assert check.inputs["resourcePath"] == "/prod/health"
    assert check.inputs["port"] == 443
    assert check.inputs["enableSni"] is True
    assert check.inputs["requestInterval"] == 10
    assert check.inputs["failureThreshold"] == 2


@pytest.mark.parametrize("role", REGIONS)
def test_health_check_tags_are_exactly_the_discovery_contract(
    default_run: ProgramRun, role: str
) -> None:
    check = default_run.named(f"dns-{role}-health-check")
    assert check.inputs["tags"] == {
        "Name": f"{APP}-{role}",
        "App": APP,
        "Role": role,
        "Region": REGIONS[role],
        "HostedZoneId": "Z0123456789ABC",
        "RecordName": "auth.example.com.",
        "SetIdentifier": REGIONS[role],
        "AlarmName": f"{APP}-{role}-health",
        "FailureSwitch": f"/{APP}/health/failure-switch",
        "ImpairedAlarmName": f"{APP}-{role}-impaired",
    }


def test_interval_and_threshold_come_from_config(run_with: RunProgram) -> None:
    run = run_with(healthCheckInterval=30, healthCheckFailureThreshold=5)
    for role in REGIONS:
        check = run.named(f"dns-{role}-health-check").inputs
        assert (check["requestInterval"], check["failureThreshold"]) == (30, 5)


@pytest.mark.parametrize("role", REGIONS)
def test_each_alarm_watches_its_own_health_check(default_run: ProgramRun, role: str) -> None:
    alarm = default_run.named(f"dns-{role}-health-alarm")
    check = default_run.named(f"dns-{role}-health-check")
    topic = default_run.named("dns-alarms")
    assert alarm.region == "us-east-1"
    assert alarm.inputs["name"] == f"{APP}-{role}-health"
    assert alarm.inputs["namespace"] == "AWS/Route53"
    assert alarm.inputs["metricName"] == "HealthCheckStatus"
    assert alarm.inputs["dimensions"] == {"HealthCheckId": check.id}
    assert alarm.inputs["statistic"] == "Minimum"
    assert alarm.inputs["comparisonOperator"] == "LessThanThreshold"
    assert alarm.inputs["threshold"] == 1
    assert alarm.inputs["treatMissingData"] == "breaching"
    assert alarm.inputs["alarmActions"] == [topic.outputs["arn"]]
    assert alarm.inputs["okActions"] == [topic.outputs["arn"]]


def test_alarm_topic_lives_in_us_east_1_and_email_is_optional(
    default_run: ProgramRun, run_with: RunProgram
) -> None:
    topic = default_run.named("dns-alarms")
    assert topic.region == "us-east-1"
    assert topic.inputs["name"] == f"{APP}-alarms"
    assert default_run.of_type("aws:sns/topicSubscription:TopicSubscription") == []

    run = run_with(alarmEmail="oncall@example.com")
    subscriptions = run.of_type("aws:sns/topicSubscription:TopicSubscription")
    us_east = [s for s in subscriptions if s.inputs["topic"] == run.named("dns-alarms").id]
    subscription = only(us_east)
    assert subscription.region == "us-east-1"
    assert (subscription.inputs["protocol"], subscription.inputs["endpoint"]) == (
        "email",
        "oncall@example.com",
    )


@pytest.mark.parametrize(("role", "weight"), [("primary", 100), ("secondary", 0)])
def test_weighted_alias_records_start_100_0_and_ignore_weight_updates(
    default_run: ProgramRun, role: str, weight: int
) -> None:
    record = default_run.named(f"dns-{role}-record")
    domain = default_run.named(f"{role}-domain")
    assert record.inputs["zoneId"] == "Z0123456789ABC"
    assert record.inputs["name"] == "auth.example.com"
    assert record.inputs["type"] == "A"
    assert record.inputs["setIdentifier"] == REGIONS[role]
    assert record.inputs["weightedRoutingPolicies"] == [{"weight": weight}]
    assert record.inputs["aliases"] == [
        {
            "name": domain.outputs["regionalDomainName"],
            "zoneId": domain.outputs["regionalZoneId"],
            "evaluateTargetHealth": False,
        }
    ]
    assert REGIONS[role] in domain.outputs["regionalDomainName"]
    # `pulumi up` must never undo an operator's failover.
    assert record.ignore_changes == ("weightedRoutingPolicies",)


def test_every_pulumi_run_refreshes_so_ignored_weights_keep_their_live_value(
    project_root: str,
) -> None:
    # ignoreChanges keeps the *state's* weight; only a refresh makes that the operator's weight.
    project = yaml.safe_load((Path(project_root) / "Pulumi.yaml").read_text())
    assert project["options"]["refresh"] == "always"


def test_by_default_only_the_lever_moves_the_primarys_record(default_run: ProgramRun) -> None:
    # A human approves every shift: the primary's record answers only to the data-plane lever
    # (never to its HTTPS check), and the secondary's record has no health check at all.
    lever = default_run.named("dns-primary-out-of-service-check")
    assert default_run.named("dns-primary-record").inputs["healthCheckId"] == lever.id
    assert "healthCheckId" not in default_run.named("dns-secondary-record").inputs
    assert default_run.of_type(HEALTH_CHECK) and not [
        c for c in default_run.of_type(HEALTH_CHECK) if c.inputs["type"] == "CALCULATED"
    ]


def test_auto_failover_attaches_the_https_check_and_the_lever_both_required(
    run_with: RunProgram,
) -> None:
    run = run_with(autoFailover=True)
    calculated = run.named("dns-primary-calculated-check")
    assert calculated.region == "us-east-1"
    assert calculated.inputs["type"] == "CALCULATED"
    assert calculated.inputs["childHealthchecks"] == [
        run.named("dns-primary-health-check").id,
        run.named("dns-primary-out-of-service-check").id,
    ]
    assert calculated.inputs["childHealthThreshold"] == 2
    assert calculated.inputs["tags"]["Name"] == f"{APP}-primary-calculated"
    assert calculated.inputs["tags"]["App"] == APP
    assert run.named("dns-primary-record").inputs["healthCheckId"] == calculated.id
    # Route 53 counts a record without a health check healthy: the secondary is answered
    # whenever the primary's is not.
    assert "healthCheckId" not in run.named("dns-secondary-record").inputs


def test_hosted_zone_is_looked_up_by_name(default_run: ProgramRun) -> None:
    (lookup,) = [c for c in default_run.calls if c.token == "aws:route53/getZone:getZone"]
    assert lookup.args == {"name": "example.com", "privateZone": False}
    assert lookup.region == "us-east-1"


def test_every_cloud_resource_names_an_explicit_provider(default_run: ProgramRun) -> None:
    providers = {r.urn: r.inputs["region"] for r in default_run.of_type("pulumi:providers:aws")}
    assert sorted(providers.values()) == ["us-east-1", "us-east-1", "us-west-2"]
    for resource in default_run.cloud_resources:
        assert resource.provider in providers, resource.name
        assert resource.region == providers[resource.provider]
    assert all(call.region for call in default_run.calls)
