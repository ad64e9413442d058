"""`opsctl readiness` and its use as the failover preflight.

moto has no Lambda concurrency quota in Service Quotas and no provisioned-concurrency listing, so
the `service-quotas` and `lambda` clients are botocore Stubbers answering as AWS does; API Gateway
(authorizer, stage throttling), DynamoDB and the ReplicationLatency metric are real moto resources.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from typer.testing import CliRunner

from opsctl import cli
from opsctl.aws import AwsClients
from opsctl.cli import app
from opsctl.readiness import rest_api_of
from opsctl.route53 import Weights
from opsctl.topology import parse_topology
from tests.opsctl.conftest import APP, REGIONS, World


@dataclass
class Capacity:
    """What each Region runs with; the test sets it, the stubs and moto serve it."""

    quota: float = 1000
    reserved: int | None = 200
    provisioned: int = 10
    rate_limit: float = 500
    burst_limit: int = 1000


class StubbedClients(AwsClients):
    """Real clients against moto, except the ones moto cannot answer, which are Stubbers."""

    def __init__(self, stubs: dict[tuple[str, str], Any]) -> None:
        super().__init__()
        self._stubs = stubs

    def client(self, service: str, region: str, *, sdk_retries: bool = True) -> Any:
        return self._stubs.get((service, region)) or super().client(
            service, region, sdk_retries=sdk_retries
        )


def _create_api(world: World, region: str, capacity: Capacity) -> str:
    apigateway = world.client("apigateway", region)
    api_id = apigateway.create_rest_api(name=f"{APP}-api")["id"]
    function = f"arn:aws:lambda:{region}:123456789012:function:{APP}-authorizer"
    apigateway.create_authorizer(
        restApiId=api_id,
        name="token",
        type="TOKEN",
        identitySource="method.request.header.Authorization",
        authorizerUri=(
            f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function}/invocations"
        ),
    )
    root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
    apigateway.put_method(
        restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE"
    )
    apigateway.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="MOCK")
    apigateway.create_deployment(restApiId=api_id, stageName="prod")
    apigateway.update_stage(
        restApiId=api_id,
        stageName="prod",
        patchOperations=[
            {"op": "replace", "path": f"/*/*/throttling/{name}", "value": str(value)}
            for name, value in (
                ("rateLimit", capacity.rate_limit),
                ("burstLimit", capacity.burst_limit),
            )
        ],
    )
    return api_id


@pytest.fixture
def capacity_world(world: World) -> World:
    """The world plus a REST API with a Lambda authorizer and stage throttling per Region."""
    document = json.loads(world.topology_path.read_text())
    for role, region in REGIONS.items():
        api_id = _create_api(world, region, Capacity())
        document["regions"][role]["apiUrl"] = (
            f"https://{api_id}.execute-api.{region}.amazonaws.com/prod"
        )
    world.topology_path.write_text(json.dumps(document))
    world.topology = parse_topology(document)
    return world


@pytest.fixture
def capacities(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Capacity]]:
    """Per-role capacity answered by the stubs; install them for every CLI call in the test."""
    wanted = {"primary": Capacity(), "secondary": Capacity()}
    stubbers: list[Stubber] = []

    def clients_for(profile: str | None) -> AwsClients:
        stubs: dict[tuple[str, str], Any] = {}
        for role, region in REGIONS.items():
            capacity = wanted[role]
            quotas = boto3.client("service-quotas", region_name=region)
            quota_stub = Stubber(quotas)
            quota_stub.add_response(
                "get_service_quota",
                {"Quota": {"QuotaCode": "L-B99A9384", "Value": capacity.quota}},
                {"ServiceCode": "lambda", "QuotaCode": "L-B99A9384"},
            )
            lambda_ = boto3.client("lambda", region_name=region)
            lambda_stub = Stubber(lambda_)
            reserved = (
                {}
                if capacity.reserved is None
                else {"ReservedConcurrentExecutions": capacity.reserved}
            )
            lambda_stub.add_response("get_function_concurrency", reserved)
            lambda_stub.add_response(
                "list_provisioned_concurrency_configs",
                {
                    "ProvisionedConcurrencyConfigs": [
                        {"AllocatedProvisionedConcurrentExecutions": capacity.provisioned}
                    ]
                },
            )
            for stub in (quota_stub, lambda_stub):
                stub.activate()
                stubbers.append(stub)
            stubs[("service-quotas", region)] = quotas
            stubs[("lambda", region)] = lambda_
        return StubbedClients(stubs)

    monkeypatch.setattr(cli.AwsClients, "from_profile", staticmethod(clients_for))
    yield wanted
    for stub in stubbers:
        stub.deactivate()


def put_replication_latency(world: World, milliseconds: float) -> None:
    """Published in the sending Region (the primary), dimensioned by the receiving one."""
    world.client("cloudwatch", REGIONS["primary"]).put_metric_data(
        Namespace="AWS/DynamoDB",
        MetricData=[
            {
                "MetricName": "ReplicationLatency",
                "Dimensions": [
                    {"Name": "TableName", "Value": f"{APP}-state"},
                    {"Name": "ReceivingRegion", "Value": REGIONS["secondary"]},
                ],
                "Value": milliseconds,
                "Unit": "Milliseconds",
            }
        ],
    )


def readiness(runner: CliRunner, world: World, *args: str) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(
        app, ["readiness", "--json", *args, "--topology", str(world.topology_path)]
    )
    assert result.exit_code in (0, 4), result.stderr
    return result.exit_code, json.loads(result.stdout)


def results(report: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["result"] for c in report["checks"]}


def test_rest_api_of_execute_api_urls_only() -> None:
    assert rest_api_of("https://abc123.execute-api.us-west-2.amazonaws.com/prod") == (
        "abc123",
        "prod",
    )
    assert rest_api_of("https://auth.example.com/prod") is None
    assert rest_api_of("http://127.0.0.1:8080/prod") is None


def test_everything_ready(
    runner: CliRunner, capacity_world: World, capacities: dict[str, Capacity]
) -> None:
    put_replication_latency(capacity_world, 850)
    code, report = readiness(runner, capacity_world)
    assert code == 0
    assert (report["role"], report["region"], report["ready"]) == ("secondary", "us-west-2", True)
    assert set(results(report).values()) == {"pass"}
    values = {c["name"]: c["value"] for c in report["checks"]}
    assert values["lambda-concurrency-quota"] == "1000 vs 1000"
    assert values["authorizer-concurrency"] == (
        "reserved 200, provisioned 10 vs reserved 200, provisioned 10"
    )
    assert values["replication-latency"] == "850 ms (max 5000 ms)"
    assert values["table-replicas"] == "ACTIVE vs ACTIVE"


@pytest.mark.parametrize(
    ("change", "check", "result"),
    [
        (lambda c: setattr(c["secondary"], "quota", 500), "lambda-concurrency-quota", "warn"),
        (lambda c: setattr(c["secondary"], "reserved", 50), "authorizer-concurrency", "fail"),
        (lambda c: setattr(c["primary"], "reserved", None), "authorizer-concurrency", "fail"),
        (lambda c: setattr(c["secondary"], "provisioned", 0), "authorizer-concurrency", "warn"),
    ],
)
def test_lambda_capacity_comparisons(
    runner: CliRunner,
    capacity_world: World,
    capacities: dict[str, Capacity],
    change: Any,
    check: str,
    result: str,
) -> None:
    put_replication_latency(capacity_world, 100)
    change(capacities)
    code, report = readiness(runner, capacity_world)
    assert results(report)[check] == result
    assert code == (4 if result == "fail" else 0)


def test_lower_stage_throttling_on_the_target_fails(
    runner: CliRunner, capacity_world: World, capacities: dict[str, Capacity]
) -> None:
    put_replication_latency(capacity_world, 100)
    api_id, stage = rest_api_of(capacity_world.topology.secondary.api_url) or ("", "")
    capacity_world.client("apigateway", "us-west-2").update_stage(
        restApiId=api_id,
        stageName=stage,
        patchOperations=[{"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "50"}],
    )
    code, report = readiness(runner, capacity_world)
    assert code == 4
    (throttling,) = [c for c in report["checks"] if c["name"] == "api-throttling"]
    assert throttling["result"] == "fail"
    assert throttling["value"] == "rate 50.0/burst 1000 vs rate 500.0/burst 1000"


def test_replication_lag_over_the_threshold_fails(
    runner: CliRunner, capacity_world: World, capacities: dict[str, Capacity]
) -> None:
    put_replication_latency(capacity_world, 9000)
    code, report = readiness(runner, capacity_world)
    assert (code, results(report)["replication-latency"]) == (4, "fail")
    relaxed_code, relaxed = readiness(
        runner, capacity_world, "--max-replication-latency-ms", "10000"
    )
    assert (relaxed_code, results(relaxed)["replication-latency"]) == (0, "pass")


def test_missing_table_in_the_target_fails(
    runner: CliRunner, capacity_world: World, capacities: dict[str, Capacity]
) -> None:
    put_replication_latency(capacity_world, 100)
    capacity_world.client("dynamodb", "us-west-2").delete_table(TableName=f"{APP}-state")
    code, report = readiness(runner, capacity_world)
    assert (code, results(report)["table-replicas"]) == (4, "fail")


def test_target_signals_are_part_of_readiness(
    runner: CliRunner, capacity_world: World, capacities: dict[str, Capacity]
) -> None:
    put_replication_latency(capacity_world, 100)
    capacity_world.set_impaired("primary", "ALARM")
    code, report = readiness(runner, capacity_world, "--role", "primary")
    assert code == 4
    assert results(report)["impaired-alarm"] == "fail"
    # Readiness of the primary compares it with the secondary; the latency metric of that
    # direction has no data here, which is a warning.
    assert results(report)["replication-latency"] == "warn"


def test_table_output(
    runner: CliRunner, capacity_world: World, capacities: dict[str, Capacity]
) -> None:
    put_replication_latency(capacity_world, 100)
    result = runner.invoke(app, ["readiness", "--topology", str(capacity_world.topology_path)])
    assert result.exit_code == 0, result.stderr
    assert "secondary (us-west-2) can take all traffic" in result.stdout
    assert "authorizer-concurrency" in result.stdout


def test_failing_readiness_refuses_failover_and_force_overrides(
    runner: CliRunner, capacity_world: World, capacities: dict[str, Capacity]
) -> None:
    put_replication_latency(capacity_world, 100)
    capacities["secondary"].reserved = 20
    capacities["secondary"].quota = 500
    args = ["failover", "--approve", "--reason", "INC-7", "--topology"]
    refused = runner.invoke(app, [*args, str(capacity_world.topology_path)])
    assert refused.exit_code == 4
    assert "authorizer-concurrency: reserved 20" in refused.stderr
    assert "warning: lambda-concurrency-quota: 500 vs 1000" in refused.stderr
    assert capacity_world.weights() == Weights(100, 0)
    forced = runner.invoke(app, [*args, str(capacity_world.topology_path), "--force"])
    assert forced.exit_code == 0, forced.stderr
    assert capacity_world.weights() == Weights(0, 100)
    (line,) = capacity_world.audit_lines()
    assert (line["forced"], line["overridden"]) == (True, ["authorizer-concurrency"])
