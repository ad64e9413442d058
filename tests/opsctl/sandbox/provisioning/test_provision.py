"""Provisioning the emulator from the real Pulumi program: what runs exists, with real ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3

from opsctl.aws import AwsClients
from opsctl.read.capacity import read_capacity, rest_api_of
from opsctl.read.capacity_checks import capacity_checks
from opsctl.read.readiness_report import Check
from opsctl.sandbox.emulator import Emulator
from opsctl.sandbox.provisioning.provision import Provisioned, provision
from opsctl.topology import parse_topology
from stack_topology import Topology
from tests.opsctl.sandbox.conftest import FRONT_ADDRESSES, JWKS_URL


def client(service: str, region: str = "us-east-1") -> Any:
    return boto3.client(service, region_name=region)


def _capacity_checks(clients: AwsClients, topology: Topology, role: str) -> dict[str, Check]:
    readings = read_capacity(
        clients, topology.role(role), topology.other(role), topology.names.table_name
    )
    return {c.name: c for c in capacity_checks(readings)}


def test_topology_names_what_exists_in_the_emulator(provisioned: Provisioned) -> None:
    topology = provisioned.topology
    route53 = client("route53")
    zone = route53.get_hosted_zone(Id=topology["hostedZoneId"])["HostedZone"]
    assert zone["Name"] == "example.com."
    records = route53.list_resource_record_sets(HostedZoneId=topology["hostedZoneId"])
    weighted = {
        r["SetIdentifier"]: r
        for r in records["ResourceRecordSets"]
        if r["Name"] == "auth.example.com."
    }
    assert {k: r["Weight"] for k, r in weighted.items()} == {"us-east-1": 100, "us-west-2": 0}
    for set_identifier, record in weighted.items():
        target = record["AliasTarget"]["DNSName"].rstrip(".")
        assert provisioned.host_map[target] == FRONT_ADDRESSES[set_identifier]
    for role in ("primary", "secondary"):
        region = topology["regions"][role]
        tags = route53.list_tags_for_resource(
            ResourceType="healthcheck", ResourceId=region["healthCheckId"]
        )
        tag_map = {t["Key"]: t["Value"] for t in tags["ResourceTagSet"]["Tags"]}
        assert tag_map["Role"] == role and tag_map["HostedZoneId"] == topology["hostedZoneId"]
        check = route53.get_health_check(HealthCheckId=region["healthCheckId"])["HealthCheck"]
        fqdn = check["HealthCheckConfig"]["FullyQualifiedDomainName"]
        assert provisioned.host_map[fqdn] == FRONT_ADDRESSES[region["region"]]
        assert region["apiUrl"] == f"https://{fqdn}/prod"


def test_alarms_topic_tables_and_switches_exist(provisioned: Provisioned) -> None:
    topology = provisioned.topology
    cloudwatch = client("cloudwatch", topology["alarmRegion"])
    topics = client("sns", topology["alarmRegion"]).list_topics()["Topics"]
    (topic,) = [
        t["TopicArn"] for t in topics if t["TopicArn"].endswith(f":{topology['app']}-alarms")
    ]
    for role in ("primary", "secondary"):
        region = topology["regions"][role]
        (alarm,) = cloudwatch.describe_alarms(AlarmNames=[region["alarmName"]])["MetricAlarms"]
        assert alarm["Dimensions"] == [{"Name": "HealthCheckId", "Value": region["healthCheckId"]}]
        assert alarm["AlarmActions"] == [topic]
        # moto routes no PutCompositeAlarm; the emulator serves it (see moto_patches.py).
        regional = client("cloudwatch", region["region"])
        composite = regional.describe_alarms(
            AlarmNames=[region["impairedAlarmName"]], AlarmTypes=["CompositeAlarm"]
        )["CompositeAlarms"]
        assert [a["AlarmName"] for a in composite] == [region["impairedAlarmName"]]
        ssm = client("ssm", region["region"])
        switch = ssm.get_parameter(Name=region["failureSwitch"])["Parameter"]["Value"]
        assert switch == "healthy"
        table = client("dynamodb", region["region"]).describe_table(
            TableName="multi-region-authorizer-primary-state"
        )["Table"]
        assert table["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert [k["AttributeName"] for k in table["KeySchema"]] == ["pk", "sk"]


def test_front_specs_come_from_the_declared_api(provisioned: Provisioned) -> None:
    for region, spec in provisioned.fronts.items():
        routes = {(r.method, r.resource_path): r for r in spec.routes}
        assert set(routes) == {
            ("GET", "/health"),
            ("GET", "/whoami"),
            ("POST", "/sessions"),
            ("GET", "/sessions/{id}"),
        }
        assert not routes[("GET", "/health")].authorized
        assert routes[("GET", "/sessions/{id}")].authorized
        assert spec.authorizer is not None and spec.authorizer.result_ttl_seconds == 300
        handlers = {f.name: f.handler for f in spec.functions}
        assert handlers[spec.authorizer.function] == "functions.authorizer.app.handler"
        health = next(f for f in spec.functions if f.handler == "functions.health.app.handler")
        assert health.environment["AUTH_JWKS_URI"] == JWKS_URL
        assert health.environment["FAILURE_SWITCH_PARAMETER"].endswith("/health/failure-switch")
        # The canary's target is the alias the authorizer is published behind.
        authorizer = next(f for f in spec.functions if f.name == spec.authorizer.function)
        assert authorizer.aliases == ["live"]
        assert health.environment["AUTHORIZER_ALIAS_ARN"].endswith(f":{authorizer.name}:live")
        assert spec.custom_domains == ["auth.example.com"]
        assert spec.region == region
        # The stage's `*/*` method throttling: each method's own bucket on the front.
        assert (spec.throttle_rate, spec.throttle_burst) == (100, 200)


def test_recorded_checker_observations_answer_get_health_check_status(
    emulator: Emulator, provisioned: Provisioned
) -> None:
    health_check_id = provisioned.topology["regions"]["primary"]["healthCheckId"]
    observation = {
        "Region": "eu-west-1",
        "IPAddress": "127.0.0.1",
        "StatusReport": {"Status": "Failure: HTTP Status Code 500, Internal Server Error"},
    }
    emulator.health_checks.record(health_check_id, [observation, observation])
    status = client("route53").get_health_check_status(HealthCheckId=health_check_id)
    reports = [o["StatusReport"]["Status"] for o in status["HealthCheckObservations"]]
    assert reports == [observation["StatusReport"]["Status"]] * 2


def test_readiness_reads_the_declared_api_and_functions(
    aws_endpoint: str, project_root: str
) -> None:
    # Given the program provisioned with provisioned concurrency on the secondary's authorizer,
    provisioned = provision(
        Path(project_root) / "Pulumi.primary.yaml",
        endpoint_url=aws_endpoint,
        front_addresses=FRONT_ADDRESSES,
        jwks_url=JWKS_URL,
        overrides={"secondaryProvisionedConcurrency": 2},
    )
    topology = parse_topology(provisioned.topology)
    clients = AwsClients()
    # the stage carries the declared throttling and access logs under its real id,
    api_id, stage = rest_api_of(topology.primary.api_url) or ("", "")
    described = client("apigateway").get_stage(restApiId=api_id, stageName=stage)
    assert described["methodSettings"]["*/*"]["throttlingRateLimit"] == 100.0
    assert described["methodSettings"]["*/*"]["throttlingBurstLimit"] == 200
    assert described["accessLogSettings"]["destinationArn"].endswith("-access")
    assert provisioned.fronts["us-east-1"].api_id == api_id
    # and opsctl's readiness reads real values where the sandbox used to say "unknown".
    checks = _capacity_checks(clients, topology, "secondary")
    assert (
        checks["lambda-concurrency-quota"].result,
        checks["lambda-concurrency-quota"].value,
    ) == (
        "pass",
        "limit 1000, unreserved 1000 vs limit 1000, unreserved 1000",
    )
    assert checks["authorizer-concurrency"].result == "pass"
    assert checks["authorizer-concurrency"].value == (
        "unreserved, provisioned 2 vs unreserved, provisioned 0"
    )
    assert checks["api-throttling"].result == "pass"
    assert checks["api-throttling"].value == "rate 100.0/burst 200 vs rate 100.0/burst 200"
    assert checks["table-replicas"].result == "pass"
    # Back to the primary, the standby's warm instances would be missing: a warning, not a refusal.
    back = _capacity_checks(clients, topology, "primary")
    assert back["authorizer-concurrency"].result == "warn"
