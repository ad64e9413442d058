"""`opsctl readiness` and its use as the failover preflight.

Every read goes to the emulator: API Gateway (authorizer, stage throttling), DynamoDB and the
ReplicationLatency metric are moto's; Lambda functions, aliases and reserved concurrency are moto's
too, with the emulator's provisioned concurrency configs and GetAccountSettings (moto answers
neither). A Region's account concurrency limit is set through the emulator, as a quota increase.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from opsctl.cli.app import app
from opsctl.model import Weights
from opsctl.read.capacity import rest_api_of
from opsctl.read.signals import read_alarms
from opsctl.sandbox.emulator import Emulator
from opsctl.topology import parse_topology
from tests.opsctl.world import World
from tests.support.aws import create_aliased_function
from tests.support.stack import APP, REGIONS

AUTHORIZER = f"{APP}-authorizer"
# What each Region runs with unless a test changes it.
RESERVED, PROVISIONED, RATE_LIMIT, BURST_LIMIT = 200, 10, 500.0, 1000


def _create_api(world: World, region: str, authorizer_arn: str) -> str:
    apigateway = world.client("apigateway", region)
    api_id = apigateway.create_rest_api(name=f"{APP}-api")["id"]
    apigateway.create_authorizer(
        restApiId=api_id,
        name="token",
        type="TOKEN",
        identitySource="method.request.header.Authorization",
        authorizerUri=(
            f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{authorizer_arn}"
            "/invocations"
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
            for name, value in (("rateLimit", RATE_LIMIT), ("burstLimit", BURST_LIMIT))
        ],
    )
    return api_id


@pytest.fixture
def capacity_world(world: World) -> World:
    """The world plus, per Region, the authorizer (reserved and provisioned concurrency on its
    alias) behind a REST API with stage throttling."""
    document = json.loads(world.topology_path.read_text())
    for role, region in REGIONS.items():
        alias_arn = create_aliased_function(region, AUTHORIZER)
        lambda_ = world.client("lambda", region)
        lambda_.put_function_concurrency(
            FunctionName=AUTHORIZER, ReservedConcurrentExecutions=RESERVED
        )
        lambda_.put_provisioned_concurrency_config(
            FunctionName=AUTHORIZER, Qualifier="live", ProvisionedConcurrentExecutions=PROVISIONED
        )
        api_id = _create_api(world, region, alias_arn)
        document["regions"][role]["apiUrl"] = (
            f"https://{api_id}.execute-api.{region}.amazonaws.com/prod"
        )
    world.topology_path.write_text(json.dumps(document))
    world.topology = parse_topology(document)
    return world


def set_reserved(role: str, reserved: int | None) -> None:
    lambda_ = boto3.client("lambda", region_name=REGIONS[role])
    if reserved is None:
        lambda_.delete_function_concurrency(FunctionName=AUTHORIZER)
    else:
        lambda_.put_function_concurrency(
            FunctionName=AUTHORIZER, ReservedConcurrentExecutions=reserved
        )


def remove_provisioned(role: str) -> None:
    boto3.client("lambda", region_name=REGIONS[role]).delete_provisioned_concurrency_config(
        FunctionName=AUTHORIZER, Qualifier="live"
    )


def reserve_for_another_function(role: str, reserved: int) -> None:
    """Another function of the account takes `reserved` out of the Region's unreserved pool."""
    create_aliased_function(REGIONS[role], f"{APP}-batch")
    boto3.client("lambda", region_name=REGIONS[role]).put_function_concurrency(
        FunctionName=f"{APP}-batch", ReservedConcurrentExecutions=reserved
    )


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


def test_everything_ready(runner: CliRunner, capacity_world: World) -> None:
    put_replication_latency(capacity_world, 850)
    capacity_world.client("route53").update_hosted_zone_features(
        HostedZoneId=capacity_world.topology.hosted_zone_id, EnableAcceleratedRecovery=True
    )
    code, report = readiness(runner, capacity_world)
    assert code == 0
    assert (report["role"], report["region"], report["ready"]) == ("secondary", "us-west-2", True)
    assert set(results(report).values()) == {"pass"}
    values = {c["name"]: c["value"] for c in report["checks"]}
    # AWS's default limit, less the authorizer's reservation in each Region.
    assert values["lambda-concurrency-quota"] == (
        "us-west-2: limit 1000, unreserved 800 vs us-east-1: limit 1000, unreserved 800"
    )
    assert values["authorizer-concurrency"] == (
        "us-west-2: reserved 200, provisioned 10 vs us-east-1: reserved 200, provisioned 10"
    )
    assert values["replication-latency"] == "850 ms (max 5000 ms)"
    assert values["table-replicas"] == "us-west-2: ACTIVE vs us-east-1: ACTIVE"
    # Static keys: nothing depends on the primary's Region.
    assert values["credentials"] == "resolved through us-west-2"
    assert values["accelerated-recovery"] == "ENABLED"


def test_a_zone_without_accelerated_recovery_is_a_warning(
    runner: CliRunner, capacity_world: World
) -> None:
    code, report = readiness(runner, capacity_world)
    assert code == 0  # a warning, never a refusal
    check = {c["name"]: c for c in report["checks"]}["accelerated-recovery"]
    assert (check["result"], check["value"]) == ("warn", "DISABLED")
    assert "only the data-plane lever can" in check["detail"]


@pytest.mark.parametrize(
    ("change", "check", "result", "detail"),
    [
        (
            lambda e: e.lambda_account.set_concurrency_limit(REGIONS["secondary"], 500),
            "lambda-concurrency-quota",
            "warn",
            "limit (quota) is lower",
        ),
        (
            lambda e: reserve_for_another_function("secondary", 300),
            "lambda-concurrency-quota",
            "warn",
            "less to functions without reserved concurrency",
        ),
        # A raised limit in the target is more than enough.
        (
            lambda e: e.lambda_account.set_concurrency_limit(REGIONS["secondary"], 3000),
            "lambda-concurrency-quota",
            "pass",
            "",
        ),
        (lambda e: set_reserved("secondary", 50), "authorizer-concurrency", "fail", "caps it"),
        (lambda e: set_reserved("primary", None), "authorizer-concurrency", "fail", "caps it"),
        (
            lambda e: remove_provisioned("secondary"),
            "authorizer-concurrency",
            "warn",
            "cold starts",
        ),
    ],
)
def test_lambda_capacity_comparisons(
    runner: CliRunner,
    capacity_world: World,
    emulator: Emulator,
    change: Any,
    check: str,
    result: str,
    detail: str,
) -> None:
    put_replication_latency(capacity_world, 100)
    change(emulator)
    code, report = readiness(runner, capacity_world)
    (judged,) = [c for c in report["checks"] if c["name"] == check]
    assert (judged["result"], code) == (result, 4 if result == "fail" else 0)
    assert detail in judged["detail"]


def test_only_the_invoked_aliass_provisioned_concurrency_counts(
    runner: CliRunner, capacity_world: World
) -> None:
    """ListProvisionedConcurrencyConfigs takes the unqualified function and lists every
    qualifier's config: a config on another version must not count as the authorizer's."""
    put_replication_latency(capacity_world, 100)
    lambda_ = capacity_world.client("lambda", REGIONS["secondary"])
    # Lambda publishes a new version only for a changed function.
    lambda_.update_function_configuration(FunctionName=AUTHORIZER, Description="next")
    version = lambda_.publish_version(FunctionName=AUTHORIZER)["Version"]
    assert version != "1"  # not the version `live` points at
    lambda_.put_provisioned_concurrency_config(
        FunctionName=AUTHORIZER, Qualifier=version, ProvisionedConcurrentExecutions=50
    )
    listed = lambda_.list_provisioned_concurrency_configs(FunctionName=AUTHORIZER)
    assert len(listed["ProvisionedConcurrencyConfigs"]) == 2
    alias_arn = lambda_.get_alias(FunctionName=AUTHORIZER, Name="live")["AliasArn"]
    with pytest.raises(ClientError, match="ValidationException"):
        lambda_.list_provisioned_concurrency_configs(FunctionName=alias_arn)

    code, report = readiness(runner, capacity_world)
    values = {c["name"]: c["value"] for c in report["checks"]}
    assert code == 0
    assert results(report)["authorizer-concurrency"] == "pass"
    assert values["authorizer-concurrency"] == (
        "us-west-2: reserved 200, provisioned 10 vs us-east-1: reserved 200, provisioned 10"
    )


def test_lower_stage_throttling_on_the_target_fails(
    runner: CliRunner, capacity_world: World
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
    assert (
        throttling["value"] == "us-west-2: rate 50.0/burst 1000 vs us-east-1: rate 500.0/burst 1000"
    )


def test_replication_lag_over_the_threshold_fails(runner: CliRunner, capacity_world: World) -> None:
    put_replication_latency(capacity_world, 9000)
    code, report = readiness(runner, capacity_world)
    assert (code, results(report)["replication-latency"]) == (4, "fail")
    relaxed_code, relaxed = readiness(
        runner, capacity_world, "--max-replication-latency-ms", "10000"
    )
    assert (relaxed_code, results(relaxed)["replication-latency"]) == (0, "pass")


def test_missing_table_in_the_target_fails(runner: CliRunner, capacity_world: World) -> None:
    put_replication_latency(capacity_world, 100)
    capacity_world.client("dynamodb", "us-west-2").delete_table(TableName=f"{APP}-state")
    code, report = readiness(runner, capacity_world)
    assert (code, results(report)["table-replicas"]) == (4, "fail")


def test_target_signals_are_part_of_readiness(runner: CliRunner, capacity_world: World) -> None:
    put_replication_latency(capacity_world, 100)
    capacity_world.set_impaired("primary", "ALARM")
    code, report = readiness(runner, capacity_world, "--role", "primary")
    assert code == 4
    assert results(report)["impaired-alarm"] == "fail"
    # Readiness of the primary compares it with the secondary; the latency metric of that
    # direction has no data here, which is a warning.
    assert results(report)["replication-latency"] == "warn"


def test_table_output(runner: CliRunner, capacity_world: World) -> None:
    put_replication_latency(capacity_world, 100)
    result = runner.invoke(app, ["readiness", "--topology", str(capacity_world.topology_path)])
    assert result.exit_code == 0, result.stderr
    assert "secondary (us-west-2) can take all traffic" in result.stdout
    assert "authorizer-concurrency" in result.stdout


def test_failing_readiness_refuses_failover_and_force_overrides(
    runner: CliRunner, capacity_world: World, emulator: Emulator
) -> None:
    put_replication_latency(capacity_world, 100)
    set_reserved("secondary", 20)
    emulator.lambda_account.set_concurrency_limit(REGIONS["secondary"], 500)
    args = ["failover", "--approve", "--reason", "INC-7", "--topology"]
    refused = runner.invoke(app, [*args, str(capacity_world.topology_path)])
    assert refused.exit_code == 4
    assert "authorizer-concurrency: us-west-2: reserved 20" in refused.stderr
    # Each warning once: in the preflight table on stdout, not again on stderr.
    assert "lambda-concurrency-quota" in refused.stdout
    assert "us-west-2: limit 500, unreserved 480" in " ".join(refused.stdout.split())
    assert "warning: lambda-concurrency-quota" not in refused.stderr
    assert capacity_world.weights() == Weights(100, 0)
    forced = runner.invoke(app, [*args, str(capacity_world.topology_path), "--force"])
    assert forced.exit_code == 0, forced.stderr
    assert capacity_world.weights() == Weights(0, 100)
    (line,) = capacity_world.audit_outcomes()
    assert (line["forced"], line["overridden"]) == (True, ["authorizer-concurrency"])


def test_read_alarms_tells_an_alarm_for_missing_data(world: World) -> None:
    cloudwatch = world.client("cloudwatch")
    name = world.topology.primary.alarm_name
    cloudwatch.set_alarm_state(
        AlarmName=name,
        StateValue="ALARM",
        StateReason="Threshold Crossed: no datapoints were received for 1 period and 1 missing "
        "datapoint was treated as [Breaching].",
        StateReasonData=json.dumps({"version": "1.0", "recentDatapoints": [], "threshold": 1.0}),
    )
    assert read_alarms(cloudwatch, [name])[name].missing_data is True
    cloudwatch.set_alarm_state(
        AlarmName=name,
        StateValue="ALARM",
        StateReason="Threshold Crossed: 1 out of the last 1 datapoints [0.0] was less than 1.0",
        StateReasonData=json.dumps({"version": "1.0", "recentDatapoints": [0.0]}),
    )
    assert read_alarms(cloudwatch, [name])[name].missing_data is False


def test_capacity_reads_that_overrun_their_bound_are_unknown_not_a_crash(
    runner: CliRunner, capacity_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a starved machine the capacity gather can outlive readiness's own bound: its checks
    are warnings that say why, never 'a bug in opsctl'."""
    monkeypatch.setenv("OPSCTL_READ_DEADLINE", "2")
    release = threading.Event()
    monkeypatch.setattr("opsctl.read.readiness.read_capacity", lambda *_: release.wait(30))
    try:
        _, report = readiness(runner, capacity_world)  # exit 0 or 4, never 1 (a crash)
    finally:
        release.set()
    checks = {c["name"]: c for c in report["checks"]}
    for name in ("lambda-concurrency-quota", "authorizer-concurrency", "replication-latency"):
        assert (checks[name]["result"], checks[name]["value"]) == ("warn", "unknown")
        assert checks[name]["detail"].startswith("could not read in ")
