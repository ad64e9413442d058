"""A Region outage: the control channel from the CLI to the supervisor, and a front going dark.

The supervisor's side is the OutageController (faults/controller.py) polling the control file;
these tests run it in-process over recording fronts and a real replicator, and run one real front
process to show what a client sees in each mode. The whole sandbox losing us-east-1 is covered in
tests/e2e.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError, ReadTimeoutError
from typer.testing import CliRunner

from opsctl.cli.app import app
from opsctl.read.probe import Endpoint, http_exchange
from opsctl.sandbox.cloudwatch.evaluator import AlarmEvaluator
from opsctl.sandbox.dynamodb.replicator import GlobalTableReplicator
from opsctl.sandbox.faults.controller import OutageController
from opsctl.sandbox.faults.outage import (
    WANTED_FILE,
    OutageError,
    OutageInputError,
    OutageMode,
    outage,
    regions_out,
    restore,
)
from opsctl.sandbox.faults.proxy import FaultProxy
from opsctl.sandbox.front.spec import FrontSpec
from opsctl.sandbox.state import SandboxState, hold_supervisor_lock
from opsctl.sandbox.supervisor.region_front import RegionFront, bind_front_listeners
from opsctl.sandbox.tls_ca import issue_front_certificate
from tests.opsctl.samples import make_sandbox_state


class RecordingFront:
    """Stands for a RegionFront: records what the controller asks of it."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def take_out(self, mode: OutageMode) -> None:
        self.calls.append(f"out:{mode.value}")

    def bring_back(self) -> None:
        self.calls.append("back")


@dataclass
class Supervised:
    state: SandboxState
    fronts: dict[str, RecordingFront]
    replicator: GlobalTableReplicator
    faults: FaultProxy
    alarms: AlarmEvaluator

    def client(self, service: str, region: str) -> Any:
        """A client as opsctl makes one: through the fault proxy, no retries, short timeouts."""
        config = Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=1)
        return boto3.client(
            service, region_name=region, endpoint_url=self.faults.url, config=config
        )


@pytest.fixture
def supervised(tmp_path: Path, aws_endpoint: str) -> Iterator[Supervised]:
    """The supervisor's outage controller over recording fronts, a replicator and a fault proxy
    in front of the emulator."""
    fronts = {"us-east-1": RecordingFront(), "us-west-2": RecordingFront()}
    replicator = GlobalTableReplicator([])
    alarms = idle_evaluator()
    held = hold_supervisor_lock(tmp_path)  # this process plays the supervisor
    assert held is not None
    with FaultProxy(upstream=aws_endpoint) as faults:
        controller = OutageController(
            tmp_path,
            fronts,
            replicator,
            faults,
            alarms,
            on_applied=lambda: None,
        )
        controller.start()
        yield Supervised(make_sandbox_state(tmp_path, pid=1), fronts, replicator, faults, alarms)
        controller.stop()
    os.close(held)


def test_an_outage_reaches_the_supervisor_and_a_restore_undoes_it(supervised: Supervised) -> None:
    state, fronts, replicator = supervised.state, supervised.fronts, supervised.replicator
    assert outage(state, "us-east-1", "hang", timeout=10) == {"us-east-1": OutageMode.HANG}
    assert regions_out(state) == {"us-east-1": OutageMode.HANG}
    assert replicator.isolated() == {"us-east-1"}
    # Its CloudWatch neither evaluates nor notifies while it is out.
    assert supervised.alarms.out == {"us-east-1"}
    # Changing the mode of a Region already out applies the new mode.
    assert outage(state, "us-east-1", OutageMode.REFUSE, timeout=10) == {
        "us-east-1": OutageMode.REFUSE
    }
    assert restore(state, "us-east-1", timeout=10) == {}
    assert regions_out(state) == {}
    assert replicator.isolated() == set()
    assert supervised.alarms.out == set()
    assert fronts["us-east-1"].calls == ["out:hang", "out:refuse", "back"]
    assert fronts["us-west-2"].calls == []


@pytest.mark.parametrize("mode", ["refuse", "hang"])
def test_losing_us_east_1_takes_its_apis_and_route53_control_plane_not_the_other_region(
    supervised: Supervised, mode: str
) -> None:
    west = supervised.client("cloudwatch", "us-west-2")
    route53 = supervised.client("route53", "us-east-1")
    route53.list_hosted_zones()
    outage(supervised.state, "us-east-1", mode, timeout=10)
    for call in (
        route53.list_hosted_zones,  # Route 53's control plane is signed for us-east-1
        supervised.client("cloudwatch", "us-east-1").describe_alarms,
        supervised.client("sns", "us-east-1").list_topics,
    ):
        with pytest.raises((EndpointConnectionError, ConnectionClosedError, ReadTimeoutError)):
            call()
    west.describe_alarms()  # the other Region answers
    restore(supervised.state, "us-east-1", timeout=10)
    route53.list_hosted_zones()


def test_the_same_outage_twice_changes_nothing(supervised: Supervised) -> None:
    state, fronts = supervised.state, supervised.fronts
    outage(state, "us-west-2", timeout=10)
    outage(state, "us-west-2", timeout=10)
    assert fronts["us-west-2"].calls == ["out:refuse"]
    assert restore(state, "us-east-1", timeout=10) == {"us-west-2": OutageMode.REFUSE}


def test_an_unknown_region_or_mode_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    state = make_sandbox_state(tmp_path, pid=1)
    with pytest.raises(
        OutageInputError, match=r"'eu-west-9' is not one of .*\(us-east-1, us-west-2\)"
    ):
        outage(state, "eu-west-9")
    with pytest.raises(OutageInputError, match="unknown outage mode 'slow'"):
        outage(state, "us-east-1", "slow")
    assert not (tmp_path / WANTED_FILE).exists()


def test_a_supervisor_that_does_not_apply_the_change_fails_at_the_bound(tmp_path: Path) -> None:
    state = make_sandbox_state(tmp_path, pid=1)
    held = hold_supervisor_lock(tmp_path)  # a live supervisor that never reads the control file
    assert held is not None
    try:
        with pytest.raises(OutageError, match="did not apply the change within 0s"):
            outage(state, "us-east-1", timeout=0.2)
    finally:
        os.close(held)


def idle_evaluator() -> AlarmEvaluator:
    """An alarm evaluator with no Region to evaluate (the outage only tells it who is out)."""
    return AlarmEvaluator({}, {}, None, time_scale=1.0)


def _controller(directory: Path, fronts: dict[str, RecordingFront], faults: FaultProxy) -> Any:
    return OutageController(
        directory,
        fronts,
        GlobalTableReplicator([]),
        faults,
        idle_evaluator(),
        on_applied=lambda: None,
    )


@pytest.mark.parametrize("ended_by", ["timeout", "interrupt"])
def test_a_request_nobody_waits_for_any_more_is_withdrawn(
    tmp_path: Path, aws_endpoint: str, monkeypatch: pytest.MonkeyPatch, ended_by: str
) -> None:
    """The supervisor is stalled: the caller's wait ends (its bound, or Ctrl-C). When the
    supervisor resumes, the outage is not applied after all."""
    state = make_sandbox_state(tmp_path, pid=1)
    held = hold_supervisor_lock(tmp_path)  # a live supervisor, not reading the control file yet
    assert held is not None
    fronts = {"us-east-1": RecordingFront(), "us-west-2": RecordingFront()}
    try:
        if ended_by == "timeout":
            with pytest.raises(OutageError) as raised:
                outage(state, "us-east-1", timeout=0.2)
            message = raised.value.message
        else:

            def interrupted(_: float) -> None:
                raise KeyboardInterrupt

            monkeypatch.setattr("opsctl.sandbox.faults.outage.time.sleep", interrupted)
            with pytest.raises(KeyboardInterrupt) as interrupt:
                outage(state, "us-east-1", timeout=10)
            monkeypatch.undo()
            message = "; ".join(interrupt.value.__notes__)
        assert message.endswith(
            "the request was withdrawn: the supervisor, when it resumes, keeps every Region in"
        )
        with FaultProxy(upstream=aws_endpoint) as faults:
            controller = _controller(tmp_path, fronts, faults)
            controller.start()
            try:
                # The next request waits for the resumed supervisor: everything before is applied.
                assert restore(state, "us-west-2", timeout=10) == {}
            finally:
                controller.stop()
    finally:
        os.close(held)
    assert regions_out(state) == {}
    assert fronts["us-east-1"].calls == []


def test_without_a_live_supervisor_it_fails_at_once(tmp_path: Path) -> None:
    state = make_sandbox_state(tmp_path, pid=1)
    started = time.monotonic()
    with pytest.raises(OutageError, match="no sandbox supervisor is running"):
        outage(state, "us-east-1")
    assert time.monotonic() - started < 5
    assert not (tmp_path / WANTED_FILE).exists()


def test_the_cli_refuses_an_unknown_region_with_exit_2(tmp_path: Path) -> None:
    make_sandbox_state(tmp_path, pid=1).save(tmp_path)
    result = CliRunner().invoke(app, ["sandbox", "outage", "mars-1", "--dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "'mars-1' is not one of the sandbox's Regions" in result.output


SHARED_NAME = "auth.example.com"


def _answer(address: str, trust: ssl.SSLContext, timeout: float = 3.0) -> str:
    """What a client of the shared name sees at `address`: an HTTP status, "refused" or
    "timeout" (HTTPS, the certificate verified for the shared name)."""
    host, port = address.rsplit(":", 1)
    endpoint = Endpoint(f"https://{SHARED_NAME}:{port}", SHARED_NAME, host)
    try:
        status, _ = http_exchange(endpoint, "GET", "/", {}, None, timeout, trust)
    except ConnectionRefusedError:
        return "refused"
    except TimeoutError:
        return "timeout"
    except (OSError, http.client.HTTPException) as error:
        return repr(error)
    return str(status)


@pytest.fixture
def front(tmp_path: Path, aws_endpoint: str) -> Iterator[RegionFront]:
    """A real front process with nothing to serve (every path is a 403), on its addresses."""
    spec = FrontSpec(
        region="us-east-1", account_id="123456789012", api_id="a1b2c3d4e5", stage="prod",
        routes=[], functions=[], authorizer=None, endpoint_url=aws_endpoint,
    )  # fmt: skip
    spec_file = tmp_path / "front.json"
    spec_file.write_text(spec.to_json())
    listeners = bind_front_listeners(["us-east-1", "us-west-2"])
    for listener in listeners.pop("us-west-2"):
        listener.close()
    certificate = issue_front_certificate(tmp_path, [SHARED_NAME])
    running = RegionFront("us-east-1", listeners["us-east-1"], spec_file, tmp_path, certificate)
    running.start()
    running.wait_serving()
    yield running
    running.stop()


def test_a_front_serves_https_for_the_shared_name_on_every_address(
    front: RegionFront, tmp_path: Path
) -> None:
    trust = ssl.create_default_context(cafile=str(front.certificate.trust_bundle))
    assert [a.rsplit(":", 1)[0] for a in front.addresses] == [
        "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5",
    ]  # fmt: skip
    assert all(_answer(address, trust) == "403" for address in front.addresses)
    # A client that does not trust the sandbox's CA is refused the connection.
    untrusting = ssl.create_default_context(cafile=str(tmp_path / "front-cert.pem"))
    assert "CERTIFICATE_VERIFY_FAILED" in _answer(front.address, untrusting)


def test_a_front_out_refuses_or_hangs_and_serves_again_when_restored(front: RegionFront) -> None:
    trust = ssl.create_default_context(cafile=str(front.certificate.trust_bundle))
    assert front.address.startswith("127.0.0.2:")
    assert _answer(front.address, trust) == "403"
    front.take_out(OutageMode.REFUSE)
    assert _answer(front.address, trust) == "refused"
    front.take_out(OutageMode.HANG)
    # The connection is accepted (the kernel completes the handshake), then nothing answers.
    host, port = front.address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=2) as connection:
        connection.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        connection.settimeout(0.5)
        with pytest.raises(TimeoutError):
            connection.recv(1)
    started = time.monotonic()
    assert _answer(front.address, trust, timeout=0.5) == "timeout"
    assert time.monotonic() - started >= 0.5
    front.bring_back()
    assert _answer(front.address, trust) == "403"


def test_the_cli_takes_a_region_out_shows_it_and_restores_it(
    supervised: Supervised, tmp_path: Path
) -> None:
    supervised.state.save(tmp_path)
    runner = CliRunner()
    where = ["--dir", str(tmp_path)]
    out = runner.invoke(app, ["sandbox", "outage", "us-east-1", "--mode", "hang", *where])
    assert out.exit_code == 0, out.output
    assert "us-east-1 is out (hang)" in out.stderr
    shown = runner.invoke(app, ["sandbox", "status", "--json", *where])
    regions = {r["region"]: (r["out"], r["mode"]) for r in json.loads(shown.stdout)["regions"]}
    assert regions == {"us-east-1": (True, "hang"), "us-west-2": (False, None)}
    back = runner.invoke(app, ["sandbox", "restore", "us-east-1", *where])
    assert back.exit_code == 0 and "Regions still out: none" in back.stderr
    bad = runner.invoke(app, ["sandbox", "outage", "us-east-1", "--mode", "slow", *where])
    assert bad.exit_code == 2
