"""The opsctl test world: the deployed stack's run-time resources, created in the moto server.

A hosted zone with two weighted alias records (primary 100 / secondary 0), one tagged HTTPS health
check per Region (tags per docs/contracts.md), their HealthCheckStatus alarms in us-east-1, a
composite "Region impaired" alarm, an SSM failure switch and the global table's replica in each
Region. Health
is driven the way moto allows: datapoints on AWS/Route53 HealthCheckStatus and set_alarm_state.

The data-plane lever: its alarm in the secondary Region and the CLOUDWATCH_METRIC check on it. Each
Region's healthUrl is a loopback stand-in (`World.set_front`), so the operator's direct probe never
leaves the machine. The `dataplane` fixture adds what moto lacks: an evaluator that moves the lever
alarm like CloudWatch would, and name servers answering the shared name by Route 53's rules.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import random
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner, Result

from opsctl.aws import AwsClients
from opsctl.change.route53 import read_records
from opsctl.cli import output
from opsctl.cli.app import app
from opsctl.model import Weights
from opsctl.read.dns_answers import ADDRESS_CACHE
from opsctl.read.status import RegionStatus
from opsctl.sandbox.emulator import Emulator
from opsctl.sandbox.faults.proxy import FaultProxy
from opsctl.sandbox.route53.data_plane import HealthCheckObservations
from opsctl.sandbox.state import SandboxState
from opsctl.topology import parse_topology
from stack_topology import Topology
from tests.support.aws import create_state_table
from tests.support.dns import LoopbackDnsServer
from tests.support.fronts import HttpsFronts
from tests.support.http import LoopbackServer, QuietHandler

APP = "multi-region-authorizer-primary"
ZONE_NAME = "example.com."
RECORD_NAME = "auth.example.com."
REGIONS = {"primary": "us-east-1", "secondary": "us-west-2"}
OTHER_ROLE = {"primary": "secondary", "secondary": "primary"}
# The Regional API Gateway custom-domain targets the alias records point at.
ALIAS_ZONES = {"us-east-1": "Z1UJRXOUMOOFQ8", "us-west-2": "Z2OJLYMUO9EFXC"}
API_IDS = {"primary": "a1b2c3d4e5", "secondary": "f6g7h8i9j0"}
# The data-plane lever (contract: docs/contracts.md), in the secondary Region.
LEVER_NAMESPACE = "MultiRegionAuthorizer/Lever"
LEVER_METRIC = "PrimaryOutOfService"
LEVER_ALARM = f"{APP}-primary-out-of-service"


def alias_target(region: str) -> str:
    """The Regional custom domain's regional domain name the Region's alias record points at."""
    return f"d-{region.replace('-', '')}.execute-api.{region}.amazonaws.com"


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
            _put_alarm_in_ok(
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
                {"Action": "UPSERT", "ResourceRecordSet": _record(region.region, weight)}
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
                        "ResourceRecordSet": _record(own, self.weights().of(role), region),
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


def _record(region: str, weight: int, points_at: str | None = None) -> dict[str, Any]:
    """The Region's weighted alias record; `points_at` another Region's domain to misroute it."""
    target = points_at or region
    return {
        "Name": RECORD_NAME,
        "Type": "A",
        "SetIdentifier": region,
        "Weight": weight,
        "AliasTarget": {
            "HostedZoneId": ALIAS_ZONES[target],
            "DNSName": alias_target(target) + ".",
            "EvaluateTargetHealth": False,
        },
    }


def _put_alarm_in_ok(
    cloudwatch: Any,
    name: str,
    namespace: str,
    metric: str,
    dimensions: list[dict[str, str]],
    *,
    comparison: str,
    threshold: float,
    statistic: str,
) -> None:
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace=namespace,
        MetricName=metric,
        Dimensions=dimensions,
        Statistic=statistic,
        Period=60,
        EvaluationPeriods=1,
        Threshold=threshold,
        ComparisonOperator=comparison,
    )
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="setup")


def _create_lever(client: Any, region: str) -> dict[str, Any]:
    """The lever's alarm in the secondary Region and the CLOUDWATCH_METRIC check on it."""
    dimensions = {"App": APP}
    _put_alarm_in_ok(
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
                {"Action": "CREATE", "ResourceRecordSet": _record(REGIONS["primary"], 100)},
                {"Action": "CREATE", "ResourceRecordSet": _record(REGIONS["secondary"], 0)},
            ]
        },
    )
    front_status = dict.fromkeys(REGIONS, 200)

    class HealthFront(QuietHandler):
        def do_GET(self) -> None:
            role = self.path.split("/")[1]
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
        _put_alarm_in_ok(
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
            _put_alarm_in_ok(
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


def make_sandbox_state(directory: Path, pid: int) -> SandboxState:
    """A sandbox state file's content naming `pid` as supervisor and fronts (nothing serves)."""
    return SandboxState(
        supervisor_pid=pid,
        front_pids={"us-east-1": pid, "us-west-2": pid},
        endpoint_url="http://127.0.0.1:9",
        ports={"emulator": 9},
        host_map={},
        jwks_url="http://127.0.0.1:9/jwks.json",
        topology_file=str(directory / "stack-outputs.json"),
        key_file=str(directory / "idp-key.pem"),
        issuer="https://idp.sandbox.local",
        audience="authorizer",
        hostname="auth.example.com",
        time_scale=0.1,
        checkers=3,
        log_file=str(directory / "sandbox.log"),
        front_addresses={"us-east-1": "127.0.0.2:9", "us-west-2": "127.0.0.3:9"},
    )


def region_status(role: str, region: str, **fields: Any) -> RegionStatus:
    """A Region as status reads it when all is well (all traffic on the primary), with `fields`
    changed: for judging and rendering tests that need no AWS."""
    well = RegionStatus(
        role=role,
        region=region,
        set_identifier=role,
        weight=100 if role == "primary" else 0,
        share=1.0 if role == "primary" else 0.0,
        healthy=True,
        checkers_healthy=16,
        checkers_total=16,
        alarm="OK",
        alarm_since="2026-11-29T07:00:00Z",
        failure_switch="healthy",
        impaired_alarm="OK",
        impaired_alarm_since="2026-11-29T07:00:00Z",
    )
    return replace(well, **fields)


def invoke(runner: CliRunner, world: World, *args: str) -> Result:
    """opsctl in-process, acting on the world's topology file."""
    return runner.invoke(app, [*args, "--topology", str(world.topology_path)])


def create_aliased_function(region: str, name: str, alias: str = "live") -> str:
    """A published Lambda function with an alias on version 1, as the stack deploys the
    authorizer (provisioned concurrency lives on the alias); returns the alias ARN."""
    role = boto3.client("iam").create_role(
        RoleName=f"{name}-{region}",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as bundle:
        bundle.writestr("functions/__init__.py", "")
    lambda_ = boto3.client("lambda", region_name=region)
    lambda_.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role["Arn"],
        Handler="functions.authorizer.app.handler",
        Code={"ZipFile": code.getvalue()},
        Publish=True,
    )
    return str(lambda_.create_alias(FunctionName=name, Name=alias, FunctionVersion="1")["AliasArn"])


@contextmanager
def failover_waiting_for_insync(
    world: World, emulator: Emulator, audit: Path, reason: str = "drill"
) -> Iterator[subprocess.Popen[str]]:
    """`python -m opsctl failover --approve` as a real process, yielded once its change was
    applied and it is polling for INSYNC (the emulator keeps the change PENDING meanwhile)."""
    emulator.route53.propagation_seconds = 60
    environment = {
        **os.environ,
        "AWS_ENDPOINT_URL": world.endpoint_url,
        "OPSCTL_AUDIT_LOG": str(audit),
        "NO_COLOR": "1",
    }
    command = [sys.executable, "-m", "opsctl", "failover", "--approve", "--reason", reason]
    try:
        process = subprocess.Popen(
            [*command, "--topology", str(world.topology_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
        )
        deadline = time.monotonic() + 30
        while world.weights() != Weights(0, 100):  # applied: now it is waiting for INSYNC
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the failover never applied"
            time.sleep(0.05)
        time.sleep(0.5)  # past the submit's response: polling GetChange (every 2 s), PENDING
        yield process
    finally:
        emulator.route53.propagation_seconds = 0.0


def assert_one_line_error(result: Result, exit_code: int, message: str) -> None:
    """The error contract: the exit code, one `opsctl: error: <message>...` line, last on stderr
    (after any warnings the command printed first), and no exception escaping the command."""
    assert result.exit_code == exit_code, result.stderr
    lines = result.stderr.splitlines()
    assert [line for line in lines if line.startswith("opsctl: error:")] == lines[-1:], lines
    assert lines[-1].startswith(f"opsctl: error: {message}"), lines[-1]
    assert result.exc_info is None or result.exc_info[0] is SystemExit


@pytest.fixture(autouse=True)
def isolated_opsctl_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test writes its audit log under tmp_path and starts without OPSCTL_TOPOLOGY."""
    audit = tmp_path / "audit.jsonl"
    monkeypatch.setenv("OPSCTL_AUDIT_LOG", str(audit))
    monkeypatch.delenv("OPSCTL_TOPOLOGY", raising=False)
    # Wide tables: assertions read whole cells. The environment is for `python -m opsctl`
    # children; in-process consoles get the width set, since rich fixes it at import when COLUMNS
    # is set then (pytest-xdist starts its workers with COLUMNS=80).
    monkeypatch.setenv("COLUMNS", "200")
    for console in (output.stdout, output.stderr):
        monkeypatch.setattr(console, "width", 200)
    # The emulator answers GetChange at once (or after a set delay): no need to poll every 2 s.
    monkeypatch.setattr("opsctl.change.route53.INSYNC_POLL_INTERVAL", 0.05)
    # A loaded test machine's emulator may take seconds to answer a round of reads; the tests
    # that black-hole a Region set the production deadline themselves (`read_deadline`).
    monkeypatch.setenv("OPSCTL_READ_DEADLINE", "60")  # also for `python -m opsctl` children
    # The DataPlane fixture evaluates the lever alarm every 50 ms, not once a minute.
    monkeypatch.setattr("opsctl.change.routing.CONFIRM_POLL_INTERVAL", 0.05)
    return audit


@pytest.fixture
def read_deadline(monkeypatch: pytest.MonkeyPatch) -> float:
    """A deadline for a round of reads well below the SDK's own timeouts (3 x (3 + 10) s), for
    tests where a Region does not answer: opsctl must not wait for it. (Production's is shorter;
    this leaves a loaded test machine's emulator time to answer the other Region.)"""
    monkeypatch.setenv("OPSCTL_READ_DEADLINE", "10")
    return 10.0


@pytest.fixture
def fault_proxy(aws_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    """A FaultProxy in front of this test's emulator; opsctl's clients go through it.

    The World keeps talking to the emulator directly, so a test can still arrange state in a
    Region the proxy has taken away."""
    with FaultProxy(upstream=aws_endpoint) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        yield proxy


@pytest.fixture
def world(aws_endpoint: str, tmp_path: Path) -> Iterator[World]:
    built = build_world(aws_endpoint, tmp_path)
    yield built
    built.close()


class DataPlane:
    """What AWS's data plane does and moto does not, refreshed every `interval` s on a thread:

    - CloudWatch: the lever alarm takes the newest minute's Maximum of its metric (>= 1: ALARM,
      else OK; no data: unchanged);
    - Route 53's view of the lever's CLOUDWATCH_METRIC check: its own evaluation of the metric's
      datapoints, not the alarm (SetAlarmState does not move it): unhealthy when the newest
      minute it saw data in has a 1, healthy when only 0s, else its last status. Route 53 may
      miss a datapoint: `lose_engage_datapoints(n)` drops the next n 1s from its view only, and
      `hold_route53_view()` keeps the view where it is until `let_route53_view_follow()`.
      GetHealthCheckStatus on the check reports that view (three checkers);
    - Route 53's name servers: the shared name answered by the rules for weighted records
      (healthy non-zero weights first, then zero weights, else all), the primary unhealthy while
      Route 53 sees the lever's check unhealthy, with one of the chosen Region's front doors in
      turn; each aliasTarget with another of that Region's addresses (as on AWS, never the same
      ones);
    - the front doors (`fronts`): HTTPS for the shared name, answering /health with the Region.

    It reads the emulator directly (not through any fault proxy), as the data plane does not go
    through the control plane; answers come from the newest snapshot, so they are immediate."""

    def __init__(
        self,
        world: World,
        fronts: HttpsFronts,
        observations: HealthCheckObservations,
        interval: float = 0.05,
    ) -> None:
        self._world = world
        self._observations = observations
        self._held = False
        self.fronts = fronts
        self._turn = itertools.count()
        self._interval = interval
        self._weights = world.weights().as_dict()
        self._lever_alarm = world.lever_alarm()
        # Route 53's own view of the lever's check, and what it has seen per minute:
        # minute -> [samples accounted, ones accounted, ones seen].
        self.lever_check_healthy = True
        self._minutes: dict[datetime, list[int]] = {}
        self._to_lose = 0
        self.last_error: Exception | None = None
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self.server = LoopbackDnsServer(self.answer)

    def hold_route53_view(self) -> None:
        """Route 53's view of the lever's check stays where it is (its evaluation trails)."""
        self._held = True

    def let_route53_view_follow(self) -> None:
        self._held = False

    def _report_route53_view(self) -> None:
        lever = self._world.topology.out_of_service
        assert lever is not None
        status = (
            "Success: the alarm's metric is within its threshold"
            if self.lever_check_healthy
            else "Failure: the alarm's metric breaches its threshold"
        )
        checked = datetime.now(UTC)
        self._observations.record(
            lever.health_check_id,
            [
                {
                    "Region": region,
                    "IPAddress": "127.0.0.1",
                    "StatusReport": {"Status": status, "CheckedTime": checked},
                }
                for region in ("us-east-1", "us-west-1", "eu-west-1")
            ],
        )

    def lose_engage_datapoints(self, count: int) -> None:
        """Route 53 will not see the next `count` datapoints of 1 (late, or never listed)."""
        self._to_lose += count

    def _route53_view(self, points: list[dict[str, Any]]) -> bool:
        for point in sorted(points, key=lambda p: p["Timestamp"]):
            accounted = self._minutes.setdefault(point["Timestamp"], [0, 0, 0])
            new_samples = int(point["SampleCount"]) - accounted[0]
            new_ones = int(point["Sum"]) - accounted[1]
            lost = min(new_ones, self._to_lose)
            self._to_lose -= lost
            accounted[0] += new_samples
            accounted[1] += new_ones
            accounted[2] += new_ones - lost
        seen = [
            (minute, counts)
            for minute, counts in self._minutes.items()
            if counts[2] or counts[0] > counts[1]  # a seen 1, or a 0
        ]
        if not seen:
            return self.lever_check_healthy  # InsufficientDataHealthStatus LastKnownStatus
        return max(seen, key=lambda item: item[0])[1][2] == 0

    def _evaluate_lever_alarm(self, cloudwatch: Any) -> str:
        end = datetime.now(UTC) + timedelta(minutes=1)
        points = cloudwatch.get_metric_statistics(
            Namespace=LEVER_NAMESPACE,
            MetricName=LEVER_METRIC,
            Dimensions=[{"Name": "App", "Value": APP}],
            StartTime=end - timedelta(minutes=10),
            EndTime=end,
            Period=60,
            Statistics=["Maximum", "Sum", "SampleCount"],
        )["Datapoints"]
        view = self._route53_view(points)
        if not self._held:
            self.lever_check_healthy = view
        self._report_route53_view()
        state = self._world.lever_alarm()
        if points:
            newest = max(points, key=lambda point: point["Timestamp"])
            wanted = "ALARM" if newest["Maximum"] >= 1 else "OK"
            if wanted != state:
                self._world.set_lever_alarm(wanted)
                state = wanted
        return state

    def _run(self) -> None:
        cloudwatch = self._world.client("cloudwatch", REGIONS["secondary"])
        while not self._stopped.wait(self._interval):
            try:
                self._lever_alarm = self._evaluate_lever_alarm(cloudwatch)
                self._weights = self._world.weights().as_dict()
            except Exception as error:  # a busy emulator: keep the last snapshot, try again
                self.last_error = error

    def answer(self, name: str) -> list[str] | None:
        targets = {alias_target(region): role for role, region in REGIONS.items()}
        if name in targets:
            return [self.fronts.own[targets[name]]]
        if name != RECORD_NAME.rstrip("."):
            return None
        weights = self._weights
        healthy = {"primary": self.lever_check_healthy, "secondary": True}
        pool = [r for r in REGIONS if weights[r] > 0 and healthy[r]] or [
            r for r in REGIONS if healthy[r]
        ]
        chosen = random.choices(pool, weights=[weights[r] or 1 for r in pool])[0]
        doors = self.fronts.doors[chosen]
        return [doors[next(self._turn) % len(doors)]]

    def close(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)
        self.server.close()


@pytest.fixture
def https_fronts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HttpsFronts]:
    """Both Regions' HTTPS front doors for the shared name, their CA trusted (SSL_CERT_FILE)."""
    fronts = HttpsFronts(tmp_path / "tls", RECORD_NAME.rstrip("."), REGIONS)
    monkeypatch.setenv("SSL_CERT_FILE", fronts.trust_bundle)
    yield fronts
    fronts.close()


@pytest.fixture(autouse=True)
def _forget_addresses() -> Iterator[None]:
    """Each test asks its own fronts: no Region remembered from another test's addresses."""
    ADDRESS_CACHE.clear()
    yield
    ADDRESS_CACHE.clear()


@pytest.fixture
def dataplane(world: World, https_fronts: HttpsFronts, emulator: Emulator) -> Iterator[DataPlane]:
    """The World with name servers and front doors in its topology, its lever alarm evaluated."""
    plane = DataPlane(world, https_fronts, emulator.health_checks)
    world.set_topology(
        {
            **world.topology_document,
            "nameServers": [plane.server.address],
            "httpsPort": https_fronts.port,
        }
    )
    yield plane
    plane.close()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()
