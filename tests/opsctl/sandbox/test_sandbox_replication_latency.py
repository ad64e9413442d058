"""The replicator publishes AWS/DynamoDB ReplicationLatency as global tables do, and opsctl's
readiness reads it: in the source Region, dimensioned by table and receiving Region."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from opsctl.read.signals import read_replication_latency
from opsctl.sandbox.replicator import GlobalTableReplicator, RegionalTable
from tests.support.aws import create_state_table

TABLE = "app-state"
SOURCE, RECEIVER = "us-east-1", "us-west-2"
DELAY_SECONDS = 0.2


def regional_table(region: str) -> RegionalTable:
    dynamodb = boto3.client("dynamodb", region_name=region)
    create_state_table(dynamodb, TABLE, stream=True)
    return RegionalTable(
        region,
        TABLE,
        dynamodb,
        boto3.client("dynamodbstreams", region_name=region),
        cloudwatch=boto3.client("cloudwatch", region_name=region),
    )


@pytest.fixture
def replicator(aws_endpoint: str) -> Iterator[GlobalTableReplicator]:
    running = GlobalTableReplicator(
        [regional_table(SOURCE), regional_table(RECEIVER)],
        poll_seconds=0.02,
        delay_seconds=DELAY_SECONDS,
    )
    running.start()
    yield running
    running.stop()


def latencies(region: str, receiving_region: str) -> list[float]:
    now = datetime.now(UTC)
    datapoints = boto3.client("cloudwatch", region_name=region).get_metric_statistics(
        Namespace="AWS/DynamoDB",
        MetricName="ReplicationLatency",
        Dimensions=[
            {"Name": "TableName", "Value": TABLE},
            {"Name": "ReceivingRegion", "Value": receiving_region},
        ],
        StartTime=now - timedelta(minutes=5),
        EndTime=now + timedelta(minutes=1),
        Period=60,
        Statistics=["Maximum", "SampleCount"],
    )["Datapoints"]
    return [point["Maximum"] for point in datapoints for _ in range(int(point["SampleCount"]))]


def test_a_replicated_write_publishes_its_measured_latency_in_the_source_region(
    replicator: GlobalTableReplicator,
) -> None:
    source = replicator.tables[0]
    source.dynamodb.put_item(
        TableName=TABLE, Item={"pk": {"S": "session"}, "sk": {"S": "s-1"}, "game": {"S": "arena"}}
    )
    deadline = time.monotonic() + 5
    while replicator.replicated == 0:
        assert time.monotonic() < deadline, "the write was not replicated"
        time.sleep(0.02)
    (latency,) = latencies(SOURCE, RECEIVER)
    # At least the replication delay, well under the readiness threshold.
    assert DELAY_SECONDS * 1000 <= latency < 5000
    # Nothing flowed the other way, so nothing is published for it.
    assert latencies(RECEIVER, SOURCE) == []
    # opsctl's readiness finds it where it looks: the sending Region, by receiving Region.
    cloudwatch = boto3.client("cloudwatch", region_name=SOURCE)
    read = read_replication_latency(cloudwatch, TABLE, RECEIVER)
    assert read is not None and read == pytest.approx(latency)
