"""The peer watcher: one GET of the other Region's signed health route through its custom domain
(TLS server name and Host = the shared name, certificate verified, SigV4 for `execute-api` in the
peer's Region), judged and published as PeerHealthy."""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import boto3
import pytest
from botocore.credentials import ReadOnlyCredentials

from functions.watcher import app as watcher_app
from functions.watcher.metric import PEER_HEALTHY_METRIC, WATCH_NAMESPACE
from opsctl.sandbox.front.sigv4 import check_signature
from tests.functions.support import APP, OTHER_REGION, REGION, FakeLambdaContext
from tests.support.http import QuietHandler
from tests.support.tls import CertificateAuthority, HttpsServer

SHARED_NAME = "auth.example.com"


class PeerHealth(QuietHandler):
    """The peer's health route; each test sets what it answers."""

    status = 200
    body = json.dumps({"status": "healthy", "region": OTHER_REGION, "checks": {}}).encode()
    requests: ClassVar[list[tuple[str, dict[str, str]]]] = []

    def do_GET(self) -> None:
        PeerHealth.requests.append((self.path, dict(self.headers.items())))
        self.reply(self.status, self.body, "application/json")


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    return CertificateAuthority(tmp_path_factory.mktemp("ca"))


def peer_server(
    authority: CertificateAuthority, status: int, body: bytes, name: str = SHARED_NAME
) -> HttpsServer:
    handler = type("Handler", (PeerHealth,), {"status": status, "body": body})
    return HttpsServer(authority, name, handler)


@pytest.fixture
def watcher_env(
    aws_endpoint: str, authority: CertificateAuthority, monkeypatch: pytest.MonkeyPatch
) -> pytest.MonkeyPatch:
    """The primary's watcher (in us-east-1) watching the secondary; the address is set per test."""
    for name, value in {
        "AWS_REGION": REGION,
        "WATCH_APP": APP,
        "WATCH_PEER_ROLE": "secondary",
        "WATCH_PEER_REGION": OTHER_REGION,
        "WATCH_PEER_URL": f"https://{SHARED_NAME}/health/signed",
        "SSL_CERT_FILE": str(authority.ca_file),
    }.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def invoke(monkeypatch: pytest.MonkeyPatch, address: str) -> dict[str, Any]:
    monkeypatch.setenv("WATCH_PEER_ADDRESS", address)
    return watcher_app.handler({"source": "aws.events"}, FakeLambdaContext())


def published() -> list[float]:
    """Every PeerHealthy datapoint for the secondary, as CloudWatch holds them."""
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    now = datetime.now(UTC)
    stats = cloudwatch.get_metric_statistics(
        Namespace=WATCH_NAMESPACE,
        MetricName=PEER_HEALTHY_METRIC,
        Dimensions=[{"Name": "App", "Value": APP}, {"Name": "Peer", "Value": "secondary"}],
        StartTime=now - timedelta(minutes=5),
        EndTime=now + timedelta(minutes=1),
        Period=60,
        Statistics=["Minimum", "SampleCount"],
    )["Datapoints"]
    assert len(stats) == 1, stats
    return [stats[0]["Minimum"], stats[0]["SampleCount"]]


def test_a_healthy_peer_publishes_1_through_its_custom_domain(
    watcher_env: pytest.MonkeyPatch, authority: CertificateAuthority
) -> None:
    PeerHealth.requests.clear()
    server = peer_server(authority, 200, PeerHealth.body)
    try:
        result = invoke(watcher_env, server.address)
    finally:
        server.close()
    assert result == {"peer": "secondary", "healthy": True, "detail": "HTTP 200"}
    assert published() == [1.0, 1.0]
    # Reached as the shared name: the custom domain's mapping and certificate are what answered.
    assert server.server_names == [SHARED_NAME]
    assert server.hosts == [SHARED_NAME]  # one request
    # The signed twin, signed with the function's credentials for the peer's Region, as API
    # Gateway checks it.
    ((path, headers),) = PeerHealth.requests
    assert path == "/health/signed"
    own = ReadOnlyCredentials("testing", "testing", None)
    assert check_signature("GET", path, headers, b"", own, OTHER_REGION) is None


def test_without_credentials_the_peer_is_unhealthy_and_not_asked(
    watcher_env: pytest.MonkeyPatch, authority: CertificateAuthority
) -> None:
    PeerHealth.requests.clear()
    watcher_env.setattr(watcher_app.aws, "credentials", lambda: None)
    server = peer_server(authority, 200, PeerHealth.body)
    try:
        result = invoke(watcher_env, server.address)
    finally:
        server.close()
    assert result == {
        "peer": "secondary", "healthy": False, "detail": "no credentials to sign the GET"
    }  # fmt: skip
    assert published() == [0.0, 1.0]
    assert PeerHealth.requests == []


@pytest.mark.parametrize(
    ("status", "body", "detail"),
    [
        (500, json.dumps({"status": "unhealthy", "region": OTHER_REGION}).encode(), "HTTP 500"),
        (200, b"<html>gateway</html>", "bad JSON"),
        (200, b'["healthy"]', "bad JSON"),
        (200, json.dumps({"status": "healthy", "region": REGION}).encode(), "answered for"),
    ],
    ids=["500", "bad-json", "not-an-object", "another-regions-api"],
)
def test_an_unhealthy_answer_publishes_0_after_one_request(
    watcher_env: pytest.MonkeyPatch,
    authority: CertificateAuthority,
    status: int,
    body: bytes,
    detail: str,
) -> None:
    server = peer_server(authority, status, body)
    try:
        result = invoke(watcher_env, server.address)
    finally:
        server.close()
    assert result["healthy"] is False and result["detail"].startswith(detail)
    assert published() == [0.0, 1.0]
    assert len(server.hosts) == 1  # no retry: the next minute's invocation is the retry


def test_a_certificate_for_another_name_is_unhealthy(
    watcher_env: pytest.MonkeyPatch, authority: CertificateAuthority
) -> None:
    """A custom domain serving the wrong certificate would fail every client after a failover:
    the watcher sees it first."""
    server = peer_server(authority, 200, PeerHealth.body, name="other.example.com")
    try:
        result = invoke(watcher_env, server.address)
    finally:
        server.close()
    assert result["healthy"] is False and result["detail"].startswith("certificate:")
    assert published() == [0.0, 1.0]
    assert server.hosts == []


def test_a_peer_that_never_answers_is_a_timeout_within_the_deadline(
    watcher_env: pytest.MonkeyPatch,
) -> None:
    watcher_env.setattr(watcher_app, "WATCH_DEADLINE_SECONDS", 0.5)
    accepted: list[socket.socket] = []
    listener = socket.create_server(("127.0.0.1", 0))

    def accept_and_hold() -> None:
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept_and_hold, daemon=True).start()
    address = f"127.0.0.1:{listener.getsockname()[1]}"
    started = time.monotonic()
    try:
        result = invoke(watcher_env, address)
    finally:
        listener.close()
    elapsed = time.monotonic() - started
    assert result == {"peer": "secondary", "healthy": False, "detail": "timeout"}
    assert elapsed < 2.0
    assert published() == [0.0, 1.0]
    time.sleep(0.6)  # a retry would have connected by now
    assert len(accepted) == 1
    for connection in accepted:
        connection.close()


def test_a_refused_connection_is_unhealthy(watcher_env: pytest.MonkeyPatch) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    address = f"127.0.0.1:{listener.getsockname()[1]}"
    listener.close()
    result = invoke(watcher_env, address)
    assert result["healthy"] is False and result["detail"].startswith("unreachable:")
    assert published() == [0.0, 1.0]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("WATCH_PEER_ROLE", "tertiary"),
        ("WATCH_PEER_URL", "http://auth.example.com/health"),
        ("WATCH_APP", ""),
    ],
)
def test_a_misconfigured_watcher_publishes_nothing_and_does_not_raise(
    watcher_env: pytest.MonkeyPatch, variable: str, value: str, tmp_path: Path
) -> None:
    """Missing data is breaching for the alarm, so a watcher that cannot watch pages; raising
    would only make Lambda retry the asynchronous invoke."""
    watcher_env.setenv(variable, value)
    result = invoke(watcher_env, "d-abc123.execute-api.us-west-2.amazonaws.com")
    assert result["healthy"] is None and result["detail"].startswith("misconfigured")
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    assert cloudwatch.list_metrics(Namespace=WATCH_NAMESPACE)["Metrics"] == []
