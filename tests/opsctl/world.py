"""The opsctl test world: the deployed stack's run-time resources, created in the moto server.

A hosted zone with two weighted alias records (primary 100 / secondary 0), one tagged HTTPS health
check per Region (tags per docs/contracts.md), their HealthCheckStatus alarms in us-east-1, a
composite "Region impaired" alarm, an SSM failure switch and the global table's replica in each
Region. Health is driven the way moto allows: datapoints on AWS/Route53 HealthCheckStatus and
set_alarm_state.

The data-plane lever: its alarm in the secondary Region and the CLOUDWATCH_METRIC check on it. Each
Region's healthUrl is a loopback stand-in (`World.set_front`), so the operator's direct probe never
leaves the machine. `DataPlane` (tests/opsctl/dataplane.py) adds what moto lacks: an evaluator
that moves the lever alarm like CloudWatch would, and name servers answering the shared name by
Route 53's rules.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3

from opsctl.aws import AwsClients
from opsctl.model import Weights
from opsctl.read.records import read_records
from opsctl.sandbox.front.sigv4 import MISSING_TOKEN, check_signature
from opsctl.topology import parse_topology
from stack_topology import SIGNED_HEALTH_PATH, Topology
from tests.support.aws import create_state_table, put_alarm_in_ok
from tests.support.fronts import environment_credentials
from tests.support.http import LoopbackServer, QuietHandler
from tests.support.stack import (
    API_IDS,
    APP,
    LEVER_ALARM,
    LEVER_METRIC,
    LEVER_NAMESPACE,
    OTHER_ROLE,
    RECORD_NAME,
    REGIONS,
    ZONE_NAME,
    alias_target,
    weighted_record,
)


@dataclass
class World:
    """Handles on the moto world; every mutator goes through the AWS APIs, like a real change."""

    topology: Topology
    topology_document: dict[str, Any]
    topology_path: Path
    audit_path: Path
    endpoint_url: str
    # The HTTP status each Region's healthUrl stand-in answers (see set_front).
    front_status: dict[str, int] = field(default_factory=dict)
    front: LoopbackServer | None = None

    def close(self) -> None:
        if self.front is not None:
            self.front.close()

    def set_front(self, role: str, status: int) -> None:
        """What the Region's /health answers the operator's direct probe."""
        self.front_status[role] = status

    def set_topology(self, document: dict[str, Any]) -> None:
        """Replace the topology (file and parsed), e.g. to add nameServers."""
        self.topology_document = document
        self.topology_path.write_text(json.dumps(document))
        self.topology = parse_topology(document)

    def add_watches(self) -> None:
        """Each Region watched from the other (docs/contracts.md): the alarm
        `<app>-<role>-unreachable` (OK) in the watching Region and `regions.<role>.watch`."""
        document = json.loads(json.dumps(self.topology_document))
        for role in REGIONS:
            watching = REGIONS[OTHER_ROLE[role]]
            put_alarm_in_ok(
                self.client("cloudwatch", watching),
                f"{APP}-{role}-unreachable",
                "MultiRegionAuthorizer/Watch",
                "PeerHealthy",
                [{"Name": "App", "Value": APP}, {"Name": "Peer", "Value": role}],
                comparison="LessThanThreshold",
                threshold=1,
                statistic="Minimum",
            )
            document["regions"][role]["watch"] = {
                "region": watching,
                "alarmName": f"{APP}-{role}-unreachable",
            }
        self.set_topology(document)

    def set_watch(self, role: str, state: str) -> None:
        """The other Region's watcher's alarm on `role` (in that other Region)."""
        watch = self.topology.role(role).watch
        assert watch is not None, "add_watches() first"
        self.client("cloudwatch", watch.region).set_alarm_state(
            AlarmName=watch.alarm_name, StateValue=state, StateReason="test"
        )

    def lever_alarm(self) -> str:
        alarm = self.client("cloudwatch", REGIONS["secondary"]).describe_alarms(
            AlarmNames=[LEVER_ALARM]
        )["MetricAlarms"][0]
        return str(alarm["StateValue"])

    def set_lever_alarm(self, state: str) -> None:
        self.client("cloudwatch", REGIONS["secondary"]).set_alarm_state(
            AlarmName=LEVER_ALARM, StateValue=state, StateReason="test"
        )

    def engage_lever(self, at: datetime | None = None) -> None:
        """A lever failover made at `at` (default: three minutes ago), the way opsctl makes it:
        the lever metric's datapoint then, and the lever alarm taken by it."""
        moment = at or datetime.now(UTC) - timedelta(minutes=3)
        dimensions = [{"Name": "App", "Value": APP}]
        self.client("cloudwatch", REGIONS["secondary"]).put_metric_data(
            Namespace=LEVER_NAMESPACE,
            MetricData=[
                {
                    "MetricName": LEVER_METRIC,
                    "Dimensions": dimensions,
                    "Timestamp": moment,
                    "Value": 1.0,
                }
            ],
        )
        self.set_lever_alarm("ALARM")

    def client(self, service: str, region: str = "us-east-1") -> Any:
        return boto3.client(service, region_name=region, endpoint_url=self.endpoint_url)

    def clients(self) -> AwsClients:
        return AwsClients()

    def weights(self) -> Weights:
        return read_records(self.client("route53"), self.topology).weights

    def set_health(self, role: str, healthy: bool) -> None:
        self.client("cloudwatch").put_metric_data(
            Namespace="AWS/Route53",
            MetricData=[
                {
                    "MetricName": "HealthCheckStatus",
                    "Dimensions": [
                        {"Name": "HealthCheckId", "Value": self.topology.role(role).health_check_id}
                    ],
                    "Value": 1.0 if healthy else 0.0,
                }
            ],
        )

    def set_alarm(self, role: str, state: str) -> None:
        self.client("cloudwatch").set_alarm_state(
            AlarmName=self.topology.role(role).alarm_name,
            StateValue=state,
            StateReason="test",
        )

    def set_impaired(self, role: str, state: str) -> None:
        region = self.topology.role(role)
        assert region.impaired_alarm_name is not None
        self.client("cloudwatch", region.region).set_alarm_state(
            AlarmName=region.impaired_alarm_name, StateValue=state, StateReason="test"
        )

    def switch(self, role: str) -> str:
        region = self.topology.role(role)
        parameter = self.client("ssm", region.region).get_parameter(Name=region.failure_switch)
        return str(parameter["Parameter"]["Value"])

    def set_switch(self, role: str, value: str) -> None:
        region = self.topology.role(role)
        self.client("ssm", region.region).put_parameter(
            Name=region.failure_switch, Value=value, Type="String", Overwrite=True
        )

    def set_weights(self, primary: int, secondary: int) -> None:
        """Someone else's change (console, another operator): UPSERT both weights."""
        changes = []
        for role, weight in (("primary", primary), ("secondary", secondary)):
            region = self.topology.role(role)
            changes.append(
                {"Action": "UPSERT", "ResourceRecordSet": weighted_record(region.region, weight)}
            )
        self.client("route53").change_resource_record_sets(
            HostedZoneId=self.topology.hosted_zone_id, ChangeBatch={"Changes": changes}
        )

    def point_record_at(self, role: str, region: str) -> None:
        """Alias the role's record to `region`'s domain (a misrouted record), keeping its weight."""
        own = self.topology.role(role).region
        self.client("route53").change_resource_record_sets(
            HostedZoneId=self.topology.hosted_zone_id,
            ChangeBatch={
                "Changes": [
                    {
                        "Action": "UPSERT",
                        "ResourceRecordSet": weighted_record(own, self.weights().of(role), region),
                    }
                ]
            },
        )

    def audit_lines(self) -> list[dict[str, Any]]:
        """Every line of the audit log (intents and outcomes)."""
        if not self.audit_path.exists():
            return []
        return [json.loads(line) for line in self.audit_path.read_text().splitlines()]

    def audit_outcomes(self) -> list[dict[str, Any]]:
        """The outcome line of each change, checking that its intent came first."""
        lines = self.audit_lines()
        outcomes = [line for line in lines if line["phase"] == "outcome"]
        for outcome in outcomes:
            (intent,) = [line for line in lines if line["id"] == outcome["id"] != ""][:1]
            assert intent["phase"] == "intent", "the intent is written before the outcome"
        return outcomes


def _create_lever(client: Any, region: str) -> dict[str, Any]:
    """The lever's alarm in the secondary Region and the CLOUDWATCH_METRIC check on it."""
    dimensions = {"App": APP}
    put_alarm_in_ok(
        client("cloudwatch", region),
        LEVER_ALARM,
        LEVER_NAMESPACE,
        LEVER_METRIC,
        [{"Name": key, "Value": value} for key, value in dimensions.items()],
        comparison="GreaterThanOrEqualToThreshold",
        threshold=1,
        statistic="Maximum",
    )
    health_check_id = client("route53").create_health_check(
        CallerReference="opsctl-tests-out-of-service",
        HealthCheckConfig={
            "Type": "CLOUDWATCH_METRIC",
            "AlarmIdentifier": {"Region": region, "Name": LEVER_ALARM},
            "InsufficientDataHealthStatus": "LastKnownStatus",
        },
    )["HealthCheck"]["Id"]
    client("route53").change_tags_for_resource(
        ResourceType="healthcheck",
        ResourceId=health_check_id,
        AddTags=[
            {"Key": "Name", "Value": f"{APP}-primary-out-of-service"},
            {"Key": "App", "Value": APP},
            {"Key": "Role", "Value": "primary"},
        ],
    )
    return {
        "region": region,
        "namespace": LEVER_NAMESPACE,
        "metricName": LEVER_METRIC,
        "dimensions": dimensions,
        "alarmName": LEVER_ALARM,
        "healthCheckId": health_check_id,
    }


def build_world(endpoint_url: str, tmp_path: Path, impaired_alarms: bool = True) -> World:
    def client(service: str, region: str = "us-east-1") -> Any:
        return boto3.client(service, region_name=region, endpoint_url=endpoint_url)

    route53 = client("route53")
    zone_id = route53.create_hosted_zone(Name=ZONE_NAME, CallerReference="opsctl-tests")[
        "HostedZone"
    ]["Id"].rsplit("/", 1)[-1]
    route53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={
            "Changes": [
                {"Action": "CREATE", "ResourceRecordSet": weighted_record(REGIONS["primary"], 100)},
                {"Action": "CREATE", "ResourceRecordSet": weighted_record(REGIONS["secondary"], 0)},
            ]
        },
    )
    front_status = dict.fromkeys(REGIONS, 200)

    class HealthFront(QuietHandler):
        """Each Region's signed health route, refusing what API Gateway would."""

        def do_GET(self) -> None:
            role = self.path.split("/")[1]
            refusal = MISSING_TOKEN
            if self.path.endswith(SIGNED_HEALTH_PATH):
                headers, credentials = dict(self.headers.items()), environment_credentials()
                refusal = check_signature(
                    "GET", self.path, headers, b"", credentials, REGIONS.get(role, "")
                )
            if refusal is not None:
                self.reply(403, json.dumps({"message": refusal.message}).encode())
                return
            self.reply(front_status.get(role, 404), b'{"status": "checked"}', "application/json")

    front = LoopbackServer(HealthFront)
    regions: dict[str, dict[str, Any]] = {}
    for role, region in REGIONS.items():
        api_host = f"{API_IDS[role]}.execute-api.{region}.amazonaws.com"
        health_check_id = route53.create_health_check(
            CallerReference=f"opsctl-tests-{role}",
            HealthCheckConfig={
                "Type": "HTTPS",
                "FullyQualifiedDomainName": api_host,
                "ResourcePath": "/prod/health",
                "Port": 443,
                "RequestInterval": 10,
                "FailureThreshold": 3,
                "EnableSNI": True,
            },
        )["HealthCheck"]["Id"]
        alarm_name = f"{APP}-{role}-health"
        impaired_name = f"{APP}-{role}-impaired"
        switch = f"/{APP}/health/failure-switch"
        route53.change_tags_for_resource(
            ResourceType="healthcheck",
            ResourceId=health_check_id,
            AddTags=[
                {"Key": "Name", "Value": f"{APP}-{role}"},
                {"Key": "App", "Value": APP},
                {"Key": "Role", "Value": role},
                {"Key": "Region", "Value": region},
                {"Key": "HostedZoneId", "Value": zone_id},
                {"Key": "RecordName", "Value": RECORD_NAME},
                {"Key": "SetIdentifier", "Value": region},
                {"Key": "AlarmName", "Value": alarm_name},
                {"Key": "FailureSwitch", "Value": switch},
                {"Key": "ImpairedAlarmName", "Value": impaired_name},
            ],
        )
        put_alarm_in_ok(
            client("cloudwatch"),
            alarm_name,
            "AWS/Route53",
            "HealthCheckStatus",
            [{"Name": "HealthCheckId", "Value": health_check_id}],
            comparison="LessThanThreshold",
            threshold=1,
            statistic="Minimum",
        )
        if impaired_alarms:
            # moto has no PutCompositeAlarm: a metric alarm of the same name stands in for the
            # composite (opsctl reads alarms of both types by name, so the read path is the same).
            put_alarm_in_ok(
                client("cloudwatch", region),
                impaired_name,
                "AWS/ApiGateway",
                "5XXError",
                [],
                comparison="GreaterThanThreshold",
                threshold=0.05,
                statistic="Average",
            )
        client("ssm", region).put_parameter(Name=switch, Value="healthy", Type="String")
        # The global table's replica in this Region (moto ignores replicas: one table per Region).
        create_state_table(client("dynamodb", region), f"{APP}-state")
        regions[role] = {
            "region": region,
            "setIdentifier": region,
            "healthCheckId": health_check_id,
            "alarmName": alarm_name,
            "apiUrl": f"https://{api_host}/prod",
            "healthUrl": f"{front.base_url}/{role}/prod/health",
            "failureSwitch": switch,
            "aliasTarget": alias_target(region),
            **({"impairedAlarmName": impaired_name} if impaired_alarms else {}),
        }
    document = {
        "version": 1,
        "app": APP,
        "hostedZoneId": zone_id,
        "records": [{"name": RECORD_NAME, "type": "A"}],
        "alarmRegion": "us-east-1",
        "regions": regions,
        "outOfService": _create_lever(client, REGIONS["secondary"]),
    }
    path = tmp_path / "topology.json"
    path.write_text(json.dumps(document))
    world = World(
        topology=parse_topology(document),
        topology_document=document,
        topology_path=path,
        audit_path=tmp_path / "audit.jsonl",
        endpoint_url=endpoint_url,
        front_status=front_status,
        front=front,
    )
    for role in REGIONS:
        world.set_health(role, True)
    return world
