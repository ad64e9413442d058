"""The emulator's CloudWatch datapoints, indexed per metric for alarm evaluation."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC

from moto.cloudwatch.models import MetricDatum, cloudwatch_backends
from moto.core import DEFAULT_ACCOUNT_ID

from opsctl.sandbox.cloudwatch.alarms import MetricSeries, dimension_map

MetricKey = tuple[str, str, str, frozenset[tuple[str, str]]]  # Region, namespace, name, dims


@dataclass
class CloudWatchStore:
    """The emulator's CloudWatch datapoints, indexed per metric for alarm evaluation.

    moto keeps every datum put_metric_data receives but never evaluates an alarm, and its
    statistics API works in whole CloudWatch periods while the sandbox's alarm periods are
    scaled down. The evaluator runs in the emulator's process, so it reads the datums directly:
    `refresh` indexes what arrived since the last call (moto only appends), `series` returns one
    metric's points by its exact dimension set, as CloudWatch matches alarms to metrics.
    """

    account_id: str = DEFAULT_ACCOUNT_ID
    retain_seconds: float = 3600.0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _indexed: dict[str, tuple[int, int]] = field(default_factory=dict)  # Region -> (list, count)
    _series: dict[MetricKey, MetricSeries] = field(default_factory=dict)

    def refresh(self) -> None:
        with self._lock:
            for region, backend in list(cloudwatch_backends[self.account_id].items()):
                data = backend.metric_data
                identity, count = self._indexed.get(region, (id(data), 0))
                if identity != id(data) or count > len(data):  # the emulator was reset
                    self._series = {k: v for k, v in self._series.items() if k[0] != region}
                    count = 0
                end = len(data)
                for datum in data[count:end]:
                    if isinstance(datum, MetricDatum):
                        self._add(region, datum)
                self._indexed[region] = (id(data), end)

    def _add(self, region: str, datum: MetricDatum) -> None:
        dimensions = frozenset(dimension_map(datum.dimensions).items())
        key = (region, datum.namespace, datum.name, dimensions)
        stamp = datum.timestamp
        if stamp.tzinfo is None:  # moto keeps UTC, sometimes without a zone
            stamp = stamp.replace(tzinfo=UTC)
        series = self._series.setdefault(key, MetricSeries())
        series.add(stamp.timestamp(), float(datum.value), self.retain_seconds)

    def series(
        self, region: str, namespace: str, name: str, dimensions: dict[str, str]
    ) -> MetricSeries | None:
        with self._lock:
            return self._series.get((region, namespace, name, frozenset(dimensions.items())))
