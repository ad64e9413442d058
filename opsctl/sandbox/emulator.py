"""The local AWS emulator: moto in server mode on loopback, made faithful where the product
relies on AWS's behaviour.

moto serves every Region and us-east-1 from one endpoint. `start_emulator` installs the sandbox's
patches to moto (`motopatches`: Route 53's change semantics and data plane, composite alarms,
Lambda's account settings and provisioned concurrency) and starts the server; `CloudWatchStore`
indexes the emulator's datapoints for the alarm evaluator, which runs in the same process.

Only the sandbox and the tests use this module; nothing in the product imports it.
"""

from __future__ import annotations

import threading
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC

from moto.cloudwatch.models import MetricDatum, cloudwatch_backends
from moto.core import DEFAULT_ACCOUNT_ID
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from opsctl.sandbox import motopatches
from opsctl.sandbox.alarms import MetricSeries, dimension_map
from opsctl.sandbox.lambdaapis import LambdaAccountSettings, ProvisionedConcurrency
from opsctl.sandbox.route53changes import FaithfulRoute53
from opsctl.sandbox.route53dataplane import HealthCheckObservations, Route53DataPlane

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


@dataclass
class Emulator:
    """A running moto server on 127.0.0.1 serving every Region."""

    endpoint_url: str
    route53: FaithfulRoute53
    _server: ThreadedMotoServer
    health_checks: HealthCheckObservations = field(default_factory=HealthCheckObservations)
    data_plane: Route53DataPlane = field(default_factory=Route53DataPlane)
    metrics: CloudWatchStore = field(default_factory=CloudWatchStore)
    lambda_account: LambdaAccountSettings = field(default_factory=LambdaAccountSettings)
    provisioned_concurrency: ProvisionedConcurrency = field(default_factory=ProvisionedConcurrency)

    def reset(self) -> None:
        """Forget every resource in every service (moto's reset API), and what the Lambda
        additions keep beside moto: provisioned concurrency configs, concurrency limits."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass
        self.provisioned_concurrency.reset()
        self.lambda_account.reset()

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_emulator(
    port: int = 0, propagation_seconds: float = 0.0, time_scale: float = 1.0
) -> Emulator:
    """Start moto on 127.0.0.1 (port 0 picks a free one) with the faithful Route 53 layer;
    `time_scale` scales Route 53's lag behind a metric check's data stream."""
    route53 = FaithfulRoute53(propagation_seconds=propagation_seconds)
    health_checks = HealthCheckObservations()
    metrics = CloudWatchStore()
    data_plane = Route53DataPlane(metrics=metrics, time_scale=time_scale)
    lambda_account = LambdaAccountSettings()
    provisioned_concurrency = ProvisionedConcurrency()
    motopatches.install(
        route53=route53,
        health_checks=health_checks,
        data_plane=data_plane,
        lambda_account=lambda_account,
        provisioned_concurrency=provisioned_concurrency,
    )
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound_port = server.get_host_and_port()
    return Emulator(
        endpoint_url=f"http://{host}:{bound_port}",
        route53=route53,
        _server=server,
        health_checks=health_checks,
        data_plane=data_plane,
        metrics=metrics,
        lambda_account=lambda_account,
        provisioned_concurrency=provisioned_concurrency,
    )
