"""Stack outputs: `topology` exactly as the contract says, filled from the declared resources."""

from __future__ import annotations

import json
from pathlib import Path

from infra.mockrun import ProgramRun
from opsctl.topology import load_topology_file, parse_topology
from stack_topology import (
    HealthCheckTiming,
    NameServer,
    OutOfService,
    RecordRef,
    RegionTopology,
    Role,
    Topology,
    Watch,
    to_document,
)
from tests.infra.plan import RunProgram

APP = "multi-region-authorizer-primary"


def test_topology_matches_the_contract(default_run: ProgramRun) -> None:
    topology = default_run.outputs["topology"]
    (lookup,) = [c for c in default_run.calls if c.token == "aws:route53/getZone:getZone"]
    zone_lookup = lookup.result
    assert zone_lookup["nameServers"]
    regions = {}
    for role, region in (("primary", "us-east-1"), ("secondary", "us-west-2")):
        invoke_url = default_run.named(f"{role}-stage").outputs["invokeUrl"]
        regions[role] = {
            "region": region,
            "setIdentifier": region,
            "healthCheckId": default_run.named(f"dns-{role}-health-check").id,
            "alarmName": f"{APP}-{role}-health",
            "apiUrl": invoke_url,
            "healthUrl": f"{invoke_url}/health",
            "failureSwitch": f"/{APP}/health/failure-switch",
            "impairedAlarmName": f"{APP}-{role}-impaired",
            # The Regional domain name the weighted alias record points to.
            "aliasTarget": default_run.named(f"{role}-domain").outputs["regionalDomainName"],
            # Watched from the other Region, by the alarm there.
            "watch": {
                "region": {"us-east-1": "us-west-2", "us-west-2": "us-east-1"}[region],
                "alarmName": f"{APP}-{role}-unreachable",
            },
        }
        assert invoke_url.startswith("https://") and region in invoke_url
        assert (
            default_run.named(f"dns-{role}-record").inputs["aliases"][0]["name"]
            == (regions[role]["aliasTarget"])
        )
    expected = {
        "version": 1,
        "app": APP,
        "hostedZoneId": "Z0123456789ABC",
        "records": [{"name": "auth.example.com.", "type": "A"}],
        "alarmRegion": "us-east-1",
        "regions": regions,
        "outOfService": {
            "region": "us-west-2",
            "namespace": "MultiRegionAuthorizer/Lever",
            "metricName": "PrimaryOutOfService",
            "dimensions": {"App": APP},
            "alarmName": f"{APP}-primary-out-of-service",
            "healthCheckId": default_run.named("dns-primary-out-of-service-check").id,
        },
        # From the zone lookup, without Route 53's final dot.
        "nameServers": [ns.rstrip(".") for ns in zone_lookup["nameServers"]],
        "dashboardUrl": "https://us-east-1.console.aws.amazon.com/cloudwatch/home"
        f"?region=us-east-1#dashboards/dashboard/{APP}",
        # The endpoint checks' timing, as declared: what opsctl's stepped fallback dwells for.
        "healthCheck": {
            "requestInterval": default_run.named("dns-primary-health-check").inputs[
                "requestInterval"
            ],
            "failureThreshold": default_run.named("dns-primary-health-check").inputs[
                "failureThreshold"
            ],
        },
    }
    assert topology == expected
    assert default_run.outputs["url"] == "https://auth.example.com"
    assert default_run.outputs["dashboardUrl"] == expected["dashboardUrl"]
    assert default_run.outputs["primaryApiUrl"] == regions["primary"]["apiUrl"]
    assert default_run.outputs["secondaryApiUrl"] == regions["secondary"]["apiUrl"]
    policy = default_run.named("operator")
    assert default_run.outputs["operatorPolicyArn"] == policy.outputs["arn"]
    assert policy.outputs["arn"] == f"arn:aws:iam::123456789012:policy/{APP}-operator"


def test_topology_follows_the_configured_regions(run_with: RunProgram) -> None:
    run = run_with(primaryRegion="us-west-2", secondaryRegion="us-east-2")
    regions = run.outputs["topology"]["regions"]
    assert (regions["primary"]["region"], regions["secondary"]["region"]) == (
        "us-west-2",
        "us-east-2",
    )
    assert regions["secondary"]["apiUrl"].startswith("https://")
    assert ".us-east-2." in regions["secondary"]["healthUrl"]
    assert ".us-east-2." in regions["secondary"]["aliasTarget"]
    # The lever lives in whichever Region stands by.
    assert run.outputs["topology"]["outOfService"]["region"] == "us-east-2"


def test_opsctl_reads_the_lever_and_dns_additions(run_with: RunProgram) -> None:
    # The contract from both sides: what the program exports is what opsctl acts on.
    run = run_with(autoFailover=True)
    topology = parse_topology(run.outputs["topology"])
    lever = topology.out_of_service
    assert lever is not None
    assert (lever.region, lever.alarm_name) == ("us-west-2", f"{APP}-primary-out-of-service")
    assert lever.health_check_id == run.named("dns-primary-out-of-service-check").id
    assert [str(server) for server in topology.name_servers] == [
        "ns-1.awsdns-01.org",
        "ns-2.awsdns-02.net",
    ]
    for region in topology.regions:
        domain = run.named(f"{region.role}-domain")
        assert region.alias_target == domain.outputs["regionalDomainName"]


def test_opsctl_reads_back_exactly_what_the_program_declared(
    default_run: ProgramRun, tmp_path: Path
) -> None:
    # The program's real output, saved as `pulumi stack output --json` would, read by opsctl.
    document = default_run.outputs["topology"]
    saved = tmp_path / "stack-output.json"
    saved.write_text(json.dumps({"topology": document, "url": default_run.outputs["url"]}))
    read = load_topology_file(saved)

    def region(role: Role, name: str, watched_from: str) -> RegionTopology:
        invoke_url = default_run.named(f"{role}-stage").outputs["invokeUrl"]
        return RegionTopology(
            role=role,
            region=name,
            set_identifier=name,
            health_check_id=default_run.named(f"dns-{role}-health-check").id,
            alarm_name=f"{APP}-{role}-health",
            api_url=invoke_url,
            health_url=f"{invoke_url}/health",
            failure_switch=f"/{APP}/health/failure-switch",
            impaired_alarm_name=f"{APP}-{role}-impaired",
            alias_target=default_run.named(f"{role}-domain").outputs["regionalDomainName"],
            watch=Watch(region=watched_from, alarm_name=f"{APP}-{role}-unreachable"),
        )

    declared = Topology(
        app=APP,
        hosted_zone_id="Z0123456789ABC",
        records=(RecordRef(name="auth.example.com.", type="A"),),
        alarm_region="us-east-1",
        regions=(
            region(Role.PRIMARY, "us-east-1", "us-west-2"),
            region(Role.SECONDARY, "us-west-2", "us-east-1"),
        ),
        out_of_service=OutOfService(
            region="us-west-2",
            namespace="MultiRegionAuthorizer/Lever",
            metric_name="PrimaryOutOfService",
            dimensions={"App": APP},
            alarm_name=f"{APP}-primary-out-of-service",
            health_check_id=default_run.named("dns-primary-out-of-service-check").id,
        ),
        name_servers=(NameServer("ns-1.awsdns-01.org"), NameServer("ns-2.awsdns-02.net")),
        dashboard_url="https://us-east-1.console.aws.amazon.com/cloudwatch/home"
        f"?region=us-east-1#dashboards/dashboard/{APP}",
        health_check=HealthCheckTiming(
            request_interval=default_run.named("dns-primary-health-check").inputs[
                "requestInterval"
            ],
            failure_threshold=default_run.named("dns-primary-health-check").inputs[
                "failureThreshold"
            ],
        ),
    )
    assert read == declared
    # One spelling both ways: writing what was read gives the program's document back.
    assert to_document(read) == document
    assert parse_topology(to_document(declared)) == declared


def test_alert_topics_name_every_topic_an_alarm_notifies(run_with: RunProgram) -> None:
    run = run_with(alarmEmail="oncall@example.com")
    topics = {topic.name: topic.outputs["arn"] for topic in run.of_type("aws:sns/topic:Topic")}
    assert run.outputs["alertTopics"] == {
        "health": topics["dns-alarms"],
        "primaryRegion": topics["primary-alarms-topic"],
        "secondaryRegion": topics["secondary-alarms-topic"],
        "primaryAlerts": topics["primary-watch-alerts"],
        "secondaryAlerts": topics["secondary-watch-alerts"],
    }
    notified = {
        action
        for kind in (
            "aws:cloudwatch/metricAlarm:MetricAlarm",
            "aws:cloudwatch/compositeAlarm:CompositeAlarm",
        )
        for alarm in run.of_type(kind)
        for action in alarm.inputs.get("alarmActions", [])
    }
    assert notified == set(run.outputs["alertTopics"].values())
    assert notified == set(topics.values())
