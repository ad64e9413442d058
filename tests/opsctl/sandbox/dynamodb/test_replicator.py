"""Global-table replication between two Regional tables in the emulator, last writer wins, and the
ReplicationLatency it publishes as global tables do, where opsctl's readiness reads it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from opsctl.read.capacity import read_replication_latency
from opsctl.sandbox.dynamodb.replicator import Change, GlobalTableReplicator, RegionalTable
from tests.support.aws import create_state_table

TABLE = "app-state"
REGIONS = ("us-east-1", "us-west-2")


def make_table(region: str) -> RegionalTable:
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
def tables(aws_endpoint: str) -> list[RegionalTable]:
    return [make_table(region) for region in REGIONS]


@pytest.fixture
def replicator(tables: list[RegionalTable]) -> Iterator[GlobalTableReplicator]:
    running = GlobalTableReplicator(tables, poll_seconds=0.02)
    running.start()
    yield running
    running.stop()


def item(table: RegionalTable, pk: str, sk: str) -> dict[str, Any] | None:
    key = {"pk": {"S": pk}, "sk": {"S": sk}}
    return table.dynamodb.get_item(TableName=TABLE, Key=key).get("Item")


def eventually(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "replication did not happen in time"
        time.sleep(0.02)


def test_writes_and_deletes_replicate_both_ways(
    tables: list[RegionalTable], replicator: GlobalTableReplicator
) -> None:
    east, west = tables
    session = {"pk": {"S": "session#s-1"}, "sk": {"S": "meta"}, "player": {"S": "ada"}}
    east.dynamodb.put_item(TableName=TABLE, Item=session)
    eventually(lambda: item(west, "session#s-1", "meta") == session)

    updated = {**session, "player": {"S": "grace"}}
    west.dynamodb.put_item(TableName=TABLE, Item=updated)
    eventually(lambda: item(east, "session#s-1", "meta") == updated)

    east.dynamodb.delete_item(TableName=TABLE, Key={"pk": session["pk"], "sk": session["sk"]})
    eventually(lambda: item(west, "session#s-1", "meta") is None)


def test_replicated_writes_do_not_echo_back(
    tables: list[RegionalTable], replicator: GlobalTableReplicator
) -> None:
    east, west = tables
    east.dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "revoked"}, "sk": {"S": "jti-1"}})
    eventually(lambda: item(west, "revoked", "jti-1") is not None)
    time.sleep(0.3)  # several polls: an echo would replicate again
    assert replicator.replicated == 1


def test_an_older_write_loses_to_a_newer_one(tables: list[RegionalTable]) -> None:
    east, west = tables
    keys = {"pk": {"S": "session#s-2"}, "sk": {"S": "meta"}}
    newer = Change("us-east-1", "MODIFY", keys, {**keys, "v": {"S": "new"}}, written_at=200.0)
    older = Change("us-west-2", "MODIFY", keys, {**keys, "v": {"S": "old"}}, written_at=100.0)
    replicator = GlobalTableReplicator(tables)
    replicator.apply(newer)
    replicator.apply(older)
    assert item(west, "session#s-2", "meta") == {**keys, "v": {"S": "new"}}
    assert item(east, "session#s-2", "meta") is None  # the losing write is not copied over


def test_an_isolated_region_neither_sends_nor_receives_until_it_rejoins(
    tables: list[RegionalTable], replicator: GlobalTableReplicator
) -> None:
    east, west = tables
    replicator.isolate("us-west-2")
    # Written in the Region that is out just before it went (still in its stream), and a write to
    # the same item elsewhere afterwards: the later one must win everywhere on rejoin.
    west.dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "s-3"}, "sk": {"S": "meta"},
                                                  "v": {"S": "west-before"}})  # fmt: skip
    west.dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "s-4"}, "sk": {"S": "meta"}})
    time.sleep(0.01)
    east.dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "s-3"}, "sk": {"S": "meta"},
                                                  "v": {"S": "east-later"}})  # fmt: skip
    east.dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "s-5"}, "sk": {"S": "meta"}})
    time.sleep(0.3)  # many polls
    assert item(west, "s-5", "meta") is None and item(east, "s-4", "meta") is None
    assert replicator.replicated == 0

    replicator.rejoin("us-west-2")
    eventually(lambda: item(west, "s-5", "meta") is not None)
    eventually(lambda: item(east, "s-4", "meta") is not None)
    eventually(lambda: item(west, "s-3", "meta")["v"] == {"S": "east-later"})
    time.sleep(0.3)
    assert item(east, "s-3", "meta")["v"] == {"S": "east-later"}


DELAY_SECONDS = 0.2


@pytest.fixture
def delayed_replicator(tables: list[RegionalTable]) -> Iterator[GlobalTableReplicator]:
    running = GlobalTableReplicator(tables, poll_seconds=0.02, delay_seconds=DELAY_SECONDS)
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
    delayed_replicator: GlobalTableReplicator,
) -> None:
    source, receiver = REGIONS
    delayed_replicator.tables[0].dynamodb.put_item(
        TableName=TABLE, Item={"pk": {"S": "session"}, "sk": {"S": "s-1"}, "game": {"S": "arena"}}
    )
    eventually(lambda: delayed_replicator.replicated > 0)
    (latency,) = latencies(source, receiver)
    # At least the replication delay, well under the readiness threshold.
    assert DELAY_SECONDS * 1000 <= latency < 5000
    # Nothing flowed the other way, so nothing is published for it.
    assert latencies(receiver, source) == []
    # opsctl's readiness finds it where it looks: the sending Region, by receiving Region.
    cloudwatch = boto3.client("cloudwatch", region_name=source)
    read = read_replication_latency(cloudwatch, TABLE, receiver)
    assert read is not None and read == pytest.approx(latency)
