"""Every way an opsctl command can fail: one line on stderr, the documented exit code, no
traceback, and nothing changed.

One test per class of failure: AWS refusing a call, credentials (missing, partial, unknown or
empty profile), the endpoint down or not answering, unreadable topology and audit log paths,
Ctrl-C (in-process, and a real SIGINT, SIGTERM or SIGHUP to a subprocess), and an unexpected
exception.
"""

from __future__ import annotations

import json
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.config import Config
from botocore.exceptions import ConnectTimeoutError
from typer.testing import CliRunner

from opsctl.aws import translate_aws_errors
from opsctl.change import outcome as shiftoutcome
from opsctl.cli import app as cli
from opsctl.cli import change_commands, read_commands
from opsctl.errors import AwsError
from opsctl.model import Weights
from opsctl.sandbox.emulator import Emulator
from tests.opsctl.running import assert_one_line_error, failover_waiting_for_insync, invoke
from tests.opsctl.world import World


@pytest.fixture
def impatient_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short timeouts and no SDK retries, so a dead or silent endpoint fails in well under 1 s."""
    monkeypatch.setattr(
        "opsctl.aws.CLIENT_CONFIG",
        Config(connect_timeout=0.5, read_timeout=0.5, retries={"max_attempts": 1}),
    )


@pytest.fixture
def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A loopback port that completes TCP handshakes (the listen backlog) but never answers."""
    with socket.create_server(("127.0.0.1", 0), backlog=64) as server:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


# AWS refusing a call ----------------------------------------------------------------------------


def test_aws_refusing_a_call_names_the_call_and_the_code(runner: CliRunner, world: World) -> None:
    document = json.loads(world.topology_path.read_text())
    document["hostedZoneId"] = "ZNOSUCHZONE0000"
    world.topology_path.write_text(json.dumps(document))
    result = invoke(runner, world, "failover", "--approve", "--reason", "x")
    assert_one_line_error(
        result,
        1,
        "AWS refused ListResourceRecordSets while reading the weighted records: NoSuchHostedZone:",
    )
    assert world.audit_lines() == []


# Credentials and profiles -----------------------------------------------------------------------


@pytest.fixture
def aws_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An AWS config with a profile without credentials and one with half of them."""
    config = tmp_path / "aws-config"
    config.write_text(
        "[profile ops]\nregion = us-east-1\n\n[profile half]\naws_access_key_id = AKIAEXAMPLE\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--profile", "nope"], {}, "AWS profile not found: nope"),
        ([], {"AWS_PROFILE": "nope"}, "AWS profile not found: nope"),
        (
            ["--profile", "ops"],
            {},
            "no AWS credentials found while resolving the credentials through us-west-2: set "
            "AWS_PROFILE",
        ),
        (
            ["--profile", "half"],
            {},
            "incomplete AWS credentials while resolving the credentials through us-west-2: "
            "Partial credentials found in config-file, missing: aws_secret_access_key",
        ),
    ],
)
def test_bad_profiles_and_credentials(
    runner: CliRunner,
    world: World,
    aws_config: None,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    env: dict[str, str],
    message: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = invoke(runner, world, "failover", "--approve", "--reason", "x", *args)
    assert_one_line_error(result, 1, message)
    monkeypatch.delenv("AWS_PROFILE", raising=False)  # the world's own client reads it too
    assert world.weights() == Weights(100, 0)


def test_no_credentials_at_all(
    runner: CliRunner, world: World, aws_config: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(variable)
    result = invoke(runner, world, "status")
    assert_one_line_error(
        result, 1, "no AWS credentials found while resolving the credentials through us-west-2"
    )


# The endpoint down or silent --------------------------------------------------------------------


def test_endpoint_down_changes_nothing(
    runner: CliRunner,
    world: World,
    impatient_sdk: None,
    unused_port: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{unused_port}")
    for args in (["status"], ["failover", "--approve", "--reason", "x"], ["topology"]):
        result = runner.invoke(cli.app, args)  # `topology` without a file: discovery
        if args == ["topology"]:
            assert_one_line_error(
                result,
                1,
                "cannot reach AWS while listing Route 53 health checks for discovery: "
                "Could not connect to the endpoint URL",
            )
        else:
            result = invoke(runner, world, *args)
            assert_one_line_error(
                result,
                1,
                "cannot reach AWS while reading the weighted records: "
                f'Could not connect to the endpoint URL: "http://127.0.0.1:{unused_port}/',
            )
    assert world.weights() == Weights(100, 0)
    assert world.audit_lines() == []


def test_endpoint_that_does_not_answer(
    runner: CliRunner,
    world: World,
    impatient_sdk: None,
    silent_endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", silent_endpoint)
    result = invoke(runner, world, "status")
    assert_one_line_error(
        result, 1, "AWS did not answer in time while reading the weighted records: Read timeout"
    )


def test_connect_timeout_is_cannot_reach() -> None:
    # A connect timeout needs an address that drops SYNs; tests stay on 127.0.0.1, which
    # answers at once, so this raises the SDK's exception directly.
    with (
        pytest.raises(AwsError, match=r"^cannot reach AWS while reading X: Connect timeout"),
        translate_aws_errors("reading X"),
    ):
        raise ConnectTimeoutError(endpoint_url="https://route53.amazonaws.com/")


def test_lost_endpoint_while_waiting_for_insync_says_the_change_was_applied(
    runner: CliRunner, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def endpoint_lost(route53: object, change_id: str, **_: object) -> float:
        raise AwsError(f"cannot reach AWS while waiting for change {change_id}: timeout")

    monkeypatch.setattr(shiftoutcome, "wait_insync", endpoint_lost)
    result = invoke(runner, world, "failover", "--approve", "--reason", "x")
    (line,) = world.audit_outcomes()
    assert_one_line_error(
        result,
        1,
        f"change {line['changeId']} was applied, but waiting for INSYNC failed: cannot reach AWS",
    )
    assert world.weights() == Weights(0, 100)
    assert line["insyncSeconds"] is None


# Local files: topology and audit log ------------------------------------------------------------


def _directory(tmp_path: Path) -> Path:
    path = tmp_path / "a-directory"
    path.mkdir()
    return path


def _name_too_long(tmp_path: Path) -> Path:
    return tmp_path / ("a" * 300)  # beyond NAME_MAX: stat fails with ENAMETOOLONG


def _not_utf8(tmp_path: Path) -> Path:
    path = tmp_path / "binary"
    path.write_bytes(b"\xff\xfe\x00garbage")
    return path


def _not_json(tmp_path: Path) -> Path:
    path = tmp_path / "broken.json"
    path.write_text('{"version": 1,')
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: tmp / "missing.json", "cannot read topology file {}: No such file"),
        (_directory, "cannot read topology file {}: Is a directory"),
        (_not_utf8, "topology file {} is not UTF-8 text"),
        (_not_json, "topology file {} is not valid JSON: Expecting property name"),
    ],
)
@pytest.mark.parametrize("via_env", [False, True])
def test_unreadable_topology_files(
    runner: CliRunner,
    world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make,
    message: str,
    via_env: bool,
) -> None:
    path = make(tmp_path)
    if via_env:
        monkeypatch.setenv("OPSCTL_TOPOLOGY", str(path))
        result = runner.invoke(cli.app, ["failover", "--approve", "--reason", "x"])
    else:
        result = runner.invoke(
            cli.app, ["failover", "--approve", "--reason", "x", "--topology", str(path)]
        )
    assert_one_line_error(result, 1, message.format(path))
    assert world.weights() == Weights(100, 0)


@pytest.mark.parametrize(
    ("command", "unchanged"),
    [
        (
            ["failover", "--approve", "--reason", "x"],
            lambda world: world.weights() == Weights(100, 0),
        ),
        (
            ["switch", "failing", "--role", "primary", "--approve", "--reason", "x"],
            lambda world: world.switch("primary") == "healthy",
        ),
    ],
)
def test_an_unwritable_audit_log_refuses_the_change_before_making_it(
    runner: CliRunner,
    world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: list[str],
    unchanged,
) -> None:
    audit = _directory(tmp_path)
    monkeypatch.setenv("OPSCTL_AUDIT_LOG", str(audit))
    result = invoke(runner, world, *command)
    assert_one_line_error(
        result,
        1,
        f"cannot write the audit log {audit}: Is a directory; nothing changed "
        "(set OPSCTL_AUDIT_LOG to a writable file)",
    )
    assert unchanged(world)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_directory, "cannot read audit log {}: Is a directory"),
        (_not_utf8, "audit log {} is not UTF-8 text"),
        (_name_too_long, "cannot read audit log {}: File name too long"),
    ],
)
def test_unreadable_audit_log_in_history(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make, message: str
) -> None:
    audit = make(tmp_path)
    monkeypatch.setenv("OPSCTL_AUDIT_LOG", str(audit))
    assert_one_line_error(runner.invoke(cli.app, ["history"]), 1, message.format(audit))


# Ctrl-C and bugs --------------------------------------------------------------------------------


def test_ctrl_c_while_planning_changes_nothing(
    runner: CliRunner, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(change_commands, "plan_failover_via", interrupted)
    result = invoke(runner, world, "failover", "--approve", "--reason", "x")
    assert_one_line_error(result, 130, "interrupted")
    assert world.weights() == Weights(100, 0)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_while_waiting_for_insync_still_audits_and_says_so(
    world: World, emulator: Emulator, tmp_path: Path, signum: signal.Signals
) -> None:
    # Ctrl-C, a killed job (SIGTERM) and a closed terminal (SIGHUP) all end the same way.
    audit = tmp_path / "signal-audit.jsonl"
    with failover_waiting_for_insync(world, emulator, audit) as process:
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    intent, line = [json.loads(text) for text in audit.read_text().splitlines()]
    assert (intent["phase"], line["phase"], line["applied"]) == ("intent", "outcome", True)
    change_id = line["changeId"]
    assert stderr.splitlines()[-1] == (
        f"opsctl: error: interrupted: change {change_id} was applied and is in the audit log; "
        f"it was still propagating (check it with `aws route53 get-change --id {change_id}`); "
        "applied: primary 100 / secondary 0 -> primary 0 / secondary 100 (change "
        f"{change_id}); weights now (read back): primary 0 / secondary 100"
    )
    assert "Traceback" not in stderr
    assert line["insyncSeconds"] is None


def test_an_unexpected_exception_is_one_line_unless_debugging(
    runner: CliRunner, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def bug(*_: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(read_commands, "read_status", bug)
    assert_one_line_error(
        invoke(runner, world, "status"),
        1,
        "unexpected RuntimeError: boom (a bug in opsctl; rerun with OPSCTL_DEBUG=1 for the "
        "traceback)",
    )
    monkeypatch.setenv("OPSCTL_DEBUG", "1")
    debugging = invoke(runner, world, "status")
    assert isinstance(debugging.exception, RuntimeError)
