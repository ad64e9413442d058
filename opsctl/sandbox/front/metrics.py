"""API Gateway's and Lambda's CloudWatch metrics, sent in batches to the Region's CloudWatch."""

from __future__ import annotations

import sys
import threading
from datetime import UTC, datetime
from typing import Any

from opsctl.periodic import PeriodicWorker
from opsctl.sandbox.front.emf import InvalidEmf, emf_metric_data


class MetricsPublisher(PeriodicWorker):
    """API Gateway's and Lambda's CloudWatch metrics for this Region, as AWS publishes them.

    Each request and invocation adds datapoints; a background thread sends them in batches to the
    emulator's CloudWatch, so publishing costs a request nothing. A failed batch is reported and
    dropped (AWS does not back-fill metrics either).
    """

    BATCH = 500  # PutMetricData takes up to 1000 datums

    def __init__(self, cloudwatch: Any, flush_seconds: float = 0.5) -> None:
        self._cloudwatch = cloudwatch
        self._pending: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        super().__init__("metrics", self.flush, flush_seconds)

    def stop(self) -> None:
        super().stop()
        self.flush()  # what came in during the last batch

    def add(self, namespace: str, dimensions: dict[str, str], values: dict[str, float]) -> None:
        stamp = datetime.now(UTC)
        shaped = [{"Name": name, "Value": value} for name, value in dimensions.items()]
        self.queue(
            namespace,
            [
                {
                    "MetricName": name,
                    "Dimensions": shaped,
                    "Timestamp": stamp,
                    "Value": value,
                    "Unit": METRIC_UNITS.get(name, "Count"),
                }
                for name, value in values.items()
            ],
        )

    def queue(self, namespace: str, datums: list[dict[str, Any]]) -> None:
        """PutMetricData datums, sent with the next batch."""
        with self._lock:
            self._pending.setdefault(namespace, []).extend(datums)

    def publish_emf(self, document: dict[str, Any]) -> None:
        """A function's EMF document, as CloudWatch extracts it from the function's logs; an
        invalid one is reported and yields nothing."""
        try:
            data = emf_metric_data(document)
        except InvalidEmf as error:
            print(f"metrics: EMF document rejected: {error}", file=sys.stderr)
            return
        with self._lock:
            for namespace, datum in data:
                self._pending.setdefault(namespace, []).append(datum)

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        for namespace, datums in pending.items():
            for start in range(0, len(datums), self.BATCH):
                try:
                    self._cloudwatch.put_metric_data(
                        Namespace=namespace, MetricData=datums[start : start + self.BATCH]
                    )
                except Exception as error:
                    print(f"metrics: {namespace} batch dropped: {error!r}", file=sys.stderr)


METRIC_UNITS = {"Latency": "Milliseconds", "IntegrationLatency": "Milliseconds",
                "Duration": "Milliseconds"}  # fmt: skip
