"""The fault proxy: a Region's requests refused or black-holed, the other Regions untouched."""

from __future__ import annotations

import threading
import time
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError, ReadTimeoutError

from opsctl.sandbox.faults.proxy import Fault, FaultProxy, signed_region

# One attempt: a fault must surface as the client's own error. The read timeout leaves room for
# moto's first call to a service, which loads its backend (~2 s on a busy machine).
ONE_ATTEMPT = Config(connect_timeout=2, read_timeout=20, retries={"total_max_attempts": 1})


def ssm(proxy: FaultProxy, region: str, config: Config = ONE_ATTEMPT) -> Any:
    return boto3.client("ssm", region_name=region, endpoint_url=proxy.url, config=config)


def put_switch(proxy: FaultProxy, region: str) -> None:
    ssm(proxy, region).put_parameter(Name="/app/switch", Value="healthy", Type="String")


def test_forwards_every_region_without_faults(fault_proxy: FaultProxy) -> None:
    put_switch(fault_proxy, "us-east-1")
    put_switch(fault_proxy, "us-west-2")

    value = ssm(fault_proxy, "us-west-2").get_parameter(Name="/app/switch")["Parameter"]["Value"]

    assert value == "healthy"


def test_refuse_resets_only_the_faulted_region(fault_proxy: FaultProxy) -> None:
    put_switch(fault_proxy, "us-west-2")
    fault_proxy.set_fault("us-east-1", Fault.REFUSE)

    with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
        ssm(fault_proxy, "us-east-1").get_parameter(Name="/app/switch")
    survivor = ssm(fault_proxy, "us-west-2").get_parameter(Name="/app/switch")

    assert survivor["Parameter"]["Value"] == "healthy"


def test_route53_control_plane_goes_with_us_east_1(fault_proxy: FaultProxy) -> None:
    fault_proxy.set_fault("us-east-1", Fault.REFUSE)
    # Route 53's control plane is signed for us-east-1 (on AWS the SDK does so for its global
    # endpoint; against an emulator endpoint opsctl names the Region itself).
    route53 = boto3.client(
        "route53", region_name="us-east-1", endpoint_url=fault_proxy.url, config=ONE_ATTEMPT
    )

    with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
        route53.list_hosted_zones()


def test_hang_holds_until_the_client_gives_up(fault_proxy: FaultProxy) -> None:
    fault_proxy.set_fault("us-east-1", Fault.HANG)
    started = time.monotonic()

    with pytest.raises(ReadTimeoutError):
        ssm(fault_proxy, "us-east-1", ONE_ATTEMPT.merge(Config(read_timeout=1))).get_parameter(
            Name="/app/switch"
        )

    # The client's own 1 s read timeout ended the wait, not an answer from the proxy.
    assert time.monotonic() - started >= 0.9


def test_clearing_a_hang_lets_held_requests_go_and_new_ones_through(
    fault_proxy: FaultProxy,
) -> None:
    put_switch(fault_proxy, "us-west-2")
    fault_proxy.set_fault("us-west-2", Fault.HANG)
    patient = ssm(fault_proxy, "us-west-2")
    outcome: list[BaseException] = []

    def held_call() -> None:
        try:
            patient.get_parameter(Name="/app/switch")
        except BaseException as exc:
            outcome.append(exc)

    caller = threading.Thread(target=held_call)
    caller.start()
    time.sleep(0.2)  # let the request reach the proxy and be held
    fault_proxy.clear("us-west-2")
    caller.join(timeout=5)

    assert not caller.is_alive()
    assert outcome and isinstance(outcome[0], (ConnectionClosedError, EndpointConnectionError))
    assert fault_proxy.faults() == {}
    assert ssm(fault_proxy, "us-west-2").get_parameter(Name="/app/switch")["Parameter"]


@pytest.mark.parametrize(
    ("authorization", "target", "region"),
    [
        (
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261129/eu-west-1/ssm/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=abc",
            "/",
            "eu-west-1",
        ),
        (
            None,
            "/bucket/key?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=AKIDEXAMPLE%2F20261129%2Fap-south-1%2Fs3%2Faws4_request",
            "ap-south-1",
        ),
        (None, "/health", None),
    ],
)
def test_signed_region_reads_the_credential_scope(
    authorization: str | None, target: str, region: str | None
) -> None:
    assert signed_region(authorization, target) == region


def test_rejects_an_upstream_that_is_not_a_loopback_style_url() -> None:
    with pytest.raises(ValueError, match="upstream must be http://HOST:PORT"):
        FaultProxy(upstream="https://example.com")
