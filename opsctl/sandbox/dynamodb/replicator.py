"""Global-table replication between the sandbox's Regional tables (moto ignores replicas).

DynamoDB global tables replicate every write asynchronously through the table's stream and
resolve concurrent writes to the same item with last writer wins. The replicator does the same:
it tails each Regional table's stream (NEW_AND_OLD_IMAGES, enabled when the sandbox creates the
table), applies each change to the other Regions' tables after `delay_seconds`, skips a change
older than the newest one already applied to that item, and recognises its own writes when they
come back through the target's stream so nothing ping-pongs. Like global tables, it publishes
AWS/DynamoDB ReplicationLatency (TableName, ReceivingRegion) in the source Region, measured from
the stream record's creation to the write in the receiving Region.

A Region that is out (`isolate`) neither sends nor receives: its stream is not read and changes for
it wait. When it comes back (`rejoin`) its backlog flows both ways, last writer wins per item.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from opsctl.periodic import PeriodicWorker

KeyId = str  # canonical JSON of the item's key attributes
DYNAMODB_NAMESPACE = "AWS/DynamoDB"


@dataclass(frozen=True)
class RegionalTable:
    region: str
    table_name: str
    dynamodb: Any  # a boto3 dynamodb client for that Region
    streams: Any  # a boto3 dynamodbstreams client for that Region
    # Where this Region's replication metrics go (None: not published).
    cloudwatch: Any | None = None


@dataclass(frozen=True)
class Change:
    source_region: str
    event_name: str  # INSERT | MODIFY | REMOVE
    keys: dict[str, Any]
    new_image: dict[str, Any] | None
    written_at: float  # ApproximateCreationDateTime, epoch seconds

    @property
    def key_id(self) -> KeyId:
        return json.dumps(self.keys, sort_keys=True)


def fingerprint(key_id: KeyId, image: dict[str, Any] | None) -> str:
    return key_id + "|" + json.dumps(image, sort_keys=True)


class GlobalTableReplicator(PeriodicWorker):
    """Tails every table's stream and replicates its changes to the others, last writer wins."""

    def __init__(
        self,
        tables: list[RegionalTable],
        *,
        poll_seconds: float = 0.1,
        delay_seconds: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.tables = tables
        self.poll_seconds = poll_seconds
        self.delay_seconds = delay_seconds
        self.clock = clock
        self._iterators: dict[str, str] = {}
        # The newest write each Region's copy of an item holds, for last writer wins.
        self._newest_write: dict[tuple[str, KeyId], float] = {}
        self._isolated: set[str] = set()
        # Held for each replication round, so once `isolate` returns nothing more flows.
        self._round = threading.Lock()
        # Writes this replicator made, per target Region, to drop when they echo back.
        self._own_writes: dict[str, dict[str, int]] = {table.region: {} for table in tables}
        self._pending: list[tuple[float, Change, str]] = []  # (due at, change, receiving Region)
        super().__init__("global-table-replicator", self._tick, poll_seconds)
        self.replicated = 0

    def start(self) -> None:
        for table in self.tables:
            self._iterators[table.region] = self._latest_iterator(table)
        super().start()

    def isolate(self, region: str) -> None:
        """Stop replicating into and out of `region` (it is out); changes for it wait."""
        with self._round:
            self._isolated.add(region)

    def rejoin(self, region: str) -> None:
        """Replicate `region` again, beginning with everything that waited."""
        with self._round:
            self._isolated.discard(region)

    def isolated(self) -> set[str]:
        with self._round:
            return set(self._isolated)

    def _latest_iterator(self, table: RegionalTable) -> str:
        description = table.dynamodb.describe_table(TableName=table.table_name)["Table"]
        stream_arn = description.get("LatestStreamArn")
        if not stream_arn:
            raise RuntimeError(
                f"table {table.table_name} in {table.region} has no stream to replicate from"
            )
        shards = table.streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
        return table.streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shards[0]["ShardId"], ShardIteratorType="LATEST"
        )["ShardIterator"]

    def _tick(self) -> None:
        try:
            with self._round:
                self._pending = self._replicate_round(self._pending)
        except Exception as error:  # keep replicating; a transient emulator error is not fatal
            print(f"replicator: {error!r}", file=sys.stderr)

    def _replicate_round(
        self, pending: list[tuple[float, Change, str]]
    ) -> list[tuple[float, Change, str]]:
        """Read every stream not isolated, apply what is due; returns what still waits."""
        isolated = self._isolated
        for table in self.tables:
            if table.region in isolated:
                continue  # its stream keeps the backlog until it rejoins
            for change in self._read(table):
                ready_at = self.clock() + self.delay_seconds
                pending.extend(
                    (ready_at, change, other.region)
                    for other in self.tables
                    if other.region != change.source_region
                )
        now = self.clock()
        waiting = []
        for entry in pending:
            ready_at, change, region = entry
            if ready_at > now or region in isolated:
                waiting.append(entry)
                continue
            try:
                self.apply_to(change, region)
            except Exception as error:  # a transient emulator error: try again next round
                print(f"replicator: applying to {region}: {error!r}", file=sys.stderr)
                waiting.append(entry)
        return waiting

    def _read(self, table: RegionalTable) -> list[Change]:
        response = table.streams.get_records(
            ShardIterator=self._iterators[table.region], Limit=1000
        )
        self._iterators[table.region] = response["NextShardIterator"]
        changes = []
        for record in response["Records"]:
            data = record["dynamodb"]
            created = data.get("ApproximateCreationDateTime")
            change = Change(
                source_region=table.region,
                event_name=record["eventName"],
                keys=data["Keys"],
                new_image=data.get("NewImage"),
                written_at=created.timestamp()
                if hasattr(created, "timestamp")
                else float(created or self.clock()),
            )
            echoes = self._own_writes[table.region]
            mark = fingerprint(change.key_id, change.new_image)
            if echoes.get(mark):
                echoes[mark] -= 1
                if not echoes[mark]:
                    del echoes[mark]
                continue
            self._held(table.region, change)
            changes.append(change)
        return changes

    def _held(self, region: str, change: Change) -> bool:
        """Note that `region`'s copy holds `change` now, unless it holds a newer write already
        (then False: last writer wins)."""
        key = (region, change.key_id)
        if change.written_at < self._newest_write.get(key, float("-inf")):
            return False
        self._newest_write[key] = change.written_at
        return True

    def apply(self, change: Change) -> None:
        """Apply one change to every other Region, unless a newer write to the item won there."""
        self._held(change.source_region, change)
        for table in self.tables:
            if table.region != change.source_region:
                self.apply_to(change, table.region)

    def apply_to(self, change: Change, region: str) -> None:
        """Apply one change to `region`'s table, unless that copy holds a newer write."""
        if not self._held(region, change):
            return
        table = next(t for t in self.tables if t.region == region)
        mark = fingerprint(change.key_id, change.new_image)
        if change.new_image is None:
            existing = table.dynamodb.get_item(TableName=table.table_name, Key=change.keys).get(
                "Item"
            )
            if existing is None:
                return  # nothing to delete, so no stream record will echo back
            table.dynamodb.delete_item(TableName=table.table_name, Key=change.keys)
        else:
            table.dynamodb.put_item(TableName=table.table_name, Item=change.new_image)
        self._own_writes[table.region][mark] = self._own_writes[table.region].get(mark, 0) + 1
        self._publish_latency(change, table.region)
        # Counted last, so a reader that sees the count also finds the latency datapoint.
        self.replicated += 1

    def _publish_latency(self, change: Change, receiving_region: str) -> None:
        """AWS/DynamoDB ReplicationLatency in the source Region, as global tables publish it:
        write in the source (the stream record's creation time) to applied in the receiver."""
        source = next(t for t in self.tables if t.region == change.source_region)
        if source.cloudwatch is None:
            return
        now = self.clock()
        try:
            source.cloudwatch.put_metric_data(
                Namespace=DYNAMODB_NAMESPACE,
                MetricData=[
                    {
                        "MetricName": "ReplicationLatency",
                        "Dimensions": [
                            {"Name": "TableName", "Value": source.table_name},
                            {"Name": "ReceivingRegion", "Value": receiving_region},
                        ],
                        "Timestamp": datetime.fromtimestamp(now, UTC),
                        "Value": max(0.0, (now - change.written_at) * 1000),
                        "Unit": "Milliseconds",
                    }
                ],
            )
        except Exception as error:  # a lost datapoint must not stop replication
            print(f"replicator: publishing ReplicationLatency failed: {error!r}", file=sys.stderr)
