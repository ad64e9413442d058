"""The probe core and `opsctl probe`: which Region answered, status codes, failures, bad input."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from opsctl.cli import read_commands
from opsctl.cli.app import app
from opsctl.read.probe import Endpoint, call_api, probe
from tests.opsctl.running import assert_one_line_error
from tests.opsctl.samples import make_sandbox_state
from tests.support.http import LoopbackServer, QuietHandler


class RegionServer:
    """A loopback API answering /whoami like the API function, with a scripted status."""

    def __init__(self, region: str, status: int = 200) -> None:
        self.region = region
        self.status = status
        self.seen: list[dict[str, str]] = []
        owner = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                owner.seen.append(dict(self.headers.items()))
                body = json.dumps({"principal": "p1", "region": owner.region}).encode()
                self.reply(owner.status, body, "application/json")

        self.server = LoopbackServer(Handler)

    @property
    def endpoint(self) -> Endpoint:
        return Endpoint(self.server.base_url, "auth.example.com")

    def close(self) -> None:
        self.server.close()


class AlternatingResolver:
    def __init__(self, *endpoints: Endpoint) -> None:
        self.endpoints = endpoints
        self.calls = 0

    def resolve(self, hostname: str) -> Endpoint:
        self.calls += 1
        return self.endpoints[(self.calls - 1) % len(self.endpoints)]


@pytest.fixture
def east() -> Iterator[RegionServer]:
    server = RegionServer("us-east-1")
    yield server
    server.close()


@pytest.fixture
def west() -> Iterator[RegionServer]:
    server = RegionServer("us-west-2")
    yield server
    server.close()


def test_probe_counts_regions_and_statuses_resolving_every_request(
    east: RegionServer, west: RegionServer
) -> None:
    west.status = 503
    resolver = AlternatingResolver(east.endpoint, west.endpoint)
    report = probe("auth.example.com.", resolver, token="t0k", count=6)
    assert resolver.calls == 6
    assert report.hostname == "auth.example.com"
    assert report.by_region() == {"us-east-1": 3, "us-west-2": 3}
    assert report.by_status() == {"200": 3, "503": 3}
    assert report.failed == 3
    assert east.seen[0]["Authorization"] == "Bearer t0k"
    assert east.seen[0]["Host"] == "auth.example.com"


def test_unreachable_endpoint_is_a_failed_request_not_an_exception() -> None:
    resolver = AlternatingResolver(Endpoint("http://127.0.0.1:9", "auth.example.com"))
    response = call_api("auth.example.com", resolver, token="t", timeout=1)
    assert response.status is None and response.error and not response.ok
    report = probe("auth.example.com", resolver, token="t", count=2, timeout=1)
    assert report.by_status() == {"error": 2}
    assert report.to_json()["failed"] == 2


def test_a_response_cut_off_mid_body_is_a_failed_request_not_an_exception() -> None:
    # A front killed mid-response (its Region going out): headers promise more than arrives.
    class CutOff(QuietHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b'{"principal": ')
            self.wfile.flush()
            self.close_connection = True

    server = LoopbackServer(CutOff)
    try:
        resolver = AlternatingResolver(Endpoint(server.base_url, "auth.example.com"))
        response = call_api("auth.example.com", resolver, token="t", timeout=5)
    finally:
        server.close()
    assert response.status is None and not response.ok
    assert response.error and "IncompleteRead" in response.error


def test_probe_needs_at_least_one_request() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        probe("auth.example.com", AlternatingResolver(), token="t", count=0)


def test_cli_probe_requires_a_token_and_a_hostname(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPSCTL_PROBE_TOKEN", raising=False)
    monkeypatch.delenv("OPSCTL_TOPOLOGY", raising=False)
    runner = CliRunner()
    no_host = runner.invoke(app, ["probe", "--token", "t"])
    assert no_host.exit_code == 2
    assert "no hostname" in no_host.output
    no_token = runner.invoke(app, ["probe", "--hostname", "auth.example.com"])
    assert no_token.exit_code == 2
    assert "a token is required" in no_token.output


def test_cli_probe_failures_are_one_line_errors(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A sandbox state without a DNS server to resolve through: the probe fails like every other
    # command, one line and exit 1, no traceback.
    make_sandbox_state(tmp_path, os.getpid()).save(tmp_path)
    result = CliRunner().invoke(app, ["probe", "--sandbox", "--dir", str(tmp_path)])
    assert_one_line_error(result, 1, "this sandbox has no DNS server")

    def interrupted_probe(*_: Any, **__: Any) -> None:
        raise KeyboardInterrupt  # Ctrl-C during a long probe

    monkeypatch.setattr(read_commands, "probe", interrupted_probe)
    interrupted = CliRunner().invoke(
        app, ["probe", "--hostname", "auth.example.com", "--token", "t"]
    )
    assert_one_line_error(interrupted, 130, "interrupted")
