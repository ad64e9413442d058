"""The local AWS emulator: moto in server mode on loopback, made faithful where the product
relies on AWS's behaviour.

moto serves every Region and us-east-1 from one endpoint. `start_emulator` installs the sandbox's
patches to moto (`moto_patches`: Route 53's change semantics and data plane, composite alarms,
Lambda's account settings and provisioned concurrency) and starts the server; `CloudWatchStore`
(cloudwatch/store.py) indexes the emulator's datapoints for the alarm evaluator, which runs in the
same process.

Only the sandbox and the tests use this module; nothing in the product imports it.
"""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass, field

from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from opsctl.sandbox import moto_patches
from opsctl.sandbox.awslambda.apis import LambdaAccountSettings, ProvisionedConcurrency
from opsctl.sandbox.cloudwatch.store import CloudWatchStore
from opsctl.sandbox.route53.changes import FaithfulRoute53
from opsctl.sandbox.route53.data_plane import HealthCheckObservations, Route53DataPlane


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
    moto_patches.install(
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
