"""Topology sources: a file (object or stack output), OPSCTL_TOPOLOGY, --stack, tag discovery."""

from __future__ import annotations

import json
import os
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from opsctl.cli.app import app
from opsctl.errors import TopologyError
from opsctl.topology import MAX_TOPOLOGY_BYTES, load_topology_file, parse_topology
from stack_topology import HealthCheckTiming, to_document
from tests.opsctl.conftest import APP, World, assert_one_line_error


def test_parse_accepts_the_whole_stack_output_document(world: World) -> None:
    stack_output = {"topology": world.topology_document, "dashboardUrl": "https://x"}
    assert parse_topology(stack_output) == world.topology


def test_record_names_get_a_trailing_dot_and_zone_ids_lose_their_prefix(world: World) -> None:
    document = dict(world.topology_document)
    document["records"] = [{"name": "auth.example.com", "type": "a"}]
    document["hostedZoneId"] = f"/hostedzone/{world.topology.hosted_zone_id}"
    topology = parse_topology(document)
    assert topology.records[0].name == "auth.example.com."
    assert topology.records[0].type == "A"
    assert topology.hosted_zone_id == world.topology.hosted_zone_id


def test_round_trip_through_the_contract_json(world: World) -> None:
    assert parse_topology(to_document(world.topology)) == world.topology


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(version=2), "unsupported version 2"),
        (lambda d: d.pop("hostedZoneId"), "hostedZoneId is missing"),
        (lambda d: d.update(records=[]), "records must be a non-empty list"),
        (lambda d: d["regions"].pop("secondary"), "regions.secondary is missing"),
        (lambda d: d["regions"]["primary"].pop("healthCheckId"), "healthCheckId is missing"),
        (lambda d: d["regions"].update(tertiary={}), "unknown roles in regions: tertiary"),
        (
            lambda d: d["regions"]["secondary"].update(setIdentifier="us-east-1"),
            "share one setIdentifier",
        ),
        (lambda d: d.update(version=True), "unsupported version True"),
        (lambda d: d.update(version=1.0), "unsupported version 1.0"),
        (
            lambda d: d["records"].append({"name": "AUTH.example.com", "type": "a"}),
            "records lists AUTH.example.com. A twice",
        ),
        (
            lambda d: d["regions"]["secondary"].update(
                healthCheckId=d["regions"]["primary"]["healthCheckId"]
            ),
            "share one healthCheckId",
        ),
        (
            lambda d: d["records"][0].update(type="FOO"),
            "records\\[0\\].type must be A or AAAA, not 'FOO'",
        ),
        (
            lambda d: d["regions"]["primary"].update(healthUrl="https://[abc..."),
            "regions.primary.healthUrl is not an http\\(s\\) URL with a host",
        ),
        (
            lambda d: d["regions"]["secondary"].update(apiUrl="https://h:99999/v1"),
            "regions.secondary.apiUrl is not an http\\(s\\) URL with a host",
        ),
        (
            lambda d: d.update(healthCheck={"requestInterval": 15, "failureThreshold": 3}),
            "healthCheck.requestInterval must be 10 or 30, not 15",
        ),
        (
            lambda d: d.update(healthCheck={"requestInterval": 30, "failureThreshold": True}),
            "healthCheck.failureThreshold must be an integer from 1 to 10, not True",
        ),
        (
            lambda d: d["regions"]["secondary"].update(healthUrl="ftp://h/health"),
            "regions.secondary.healthUrl is not an http\\(s\\) URL with a host",
        ),
    ],
)
def test_invalid_topology_is_one_clear_error(world: World, mutate, message: str) -> None:
    document = json.loads(json.dumps(world.topology_document))
    mutate(document)
    with pytest.raises(TopologyError, match=message):
        parse_topology(document)


def test_unreadable_and_non_json_files(tmp_path: Path) -> None:
    with pytest.raises(TopologyError, match="cannot read topology file"):
        load_topology_file(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(TopologyError, match="is not valid JSON"):
        load_topology_file(broken)


def test_bad_topology_file_exits_1_with_one_line_and_no_traceback(
    runner: CliRunner, tmp_path: Path, aws_endpoint: str
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"version": 7}')
    result = runner.invoke(app, ["status", "--topology", str(broken)])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "opsctl: error: topology: unsupported version 7 (this opsctl reads version 1)"
    )
    assert result.stdout == ""


def test_opsctl_topology_env_is_used(
    runner: CliRunner, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPSCTL_TOPOLOGY", str(world.topology_path))
    result = runner.invoke(app, ["topology"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["hostedZoneId"] == world.topology.hosted_zone_id


def test_stack_without_the_pulumi_cli_says_what_to_do_instead(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, aws_endpoint: str
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    result = runner.invoke(app, ["status", "--stack", "primary"])
    assert result.exit_code == 1
    assert "the Pulumi CLI is not installed: use --topology FILE" in result.stderr


def test_discovery_by_tags_rebuilds_the_topology(runner: CliRunner, world: World) -> None:
    result = runner.invoke(app, ["topology"])
    assert result.exit_code == 0, result.stderr
    discovered = json.loads(result.stdout)
    # Tags name the Regions' checks; the lever, name servers and alias targets need the output
    # (the lever's own tagged check does not confuse discovery). The healthUrl comes from the
    # health check (the world's topology points at a loopback stand-in instead), and so does the
    # checks' timing (10 s x 3 in the world).
    health_urls = [discovered["regions"][role]["healthUrl"] for role in ("primary", "secondary")]
    assert parse_topology(discovered) == replace(
        world.topology,
        out_of_service=None,
        health_check=HealthCheckTiming(request_interval=10, failure_threshold=3),
        regions=tuple(
            replace(region, alias_target=None, health_url=health_url)
            for region, health_url in zip(world.topology.regions, health_urls, strict=True)
        ),
    )


def test_discovery_with_two_apps_asks_for_app(runner: CliRunner, world: World) -> None:
    route53 = boto3.client("route53", endpoint_url=world.endpoint_url)
    other = route53.create_health_check(
        CallerReference="other-app",
        HealthCheckConfig={"Type": "HTTPS", "FullyQualifiedDomainName": "x.example.org"},
    )["HealthCheck"]["Id"]
    route53.change_tags_for_resource(
        ResourceType="healthcheck", ResourceId=other, AddTags=[{"Key": "App", "Value": "other"}]
    )
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 1
    assert f"several apps found by tags ({APP}, other): choose --app" in result.stderr
    chosen = runner.invoke(app, ["status", "--json", "--app", APP])
    assert chosen.exit_code == 0, chosen.stderr
    unknown = runner.invoke(app, ["status", "--app", "nope"])
    assert unknown.exit_code == 1
    assert "no health checks tagged App=nope" in unknown.stderr


def test_discovery_without_tagged_health_checks(runner: CliRunner, aws_endpoint: str) -> None:
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 1
    assert "no Route 53 health check carries an App tag" in result.stderr


def test_stack_runs_pulumi_stack_output(
    runner: CliRunner, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stand-in `pulumi` on PATH printing what `pulumi stack output --json` prints.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    output = tmp_path / "stack-output.json"
    output.write_text(json.dumps({"topology": world.topology_document, "apiUrl": "x"}))
    fake = bin_dir / "pulumi"
    fake.write_text(
        "#!/bin/sh\n"
        '[ "$1 $2 $3 $4 $5" = "stack output --json --stack primary" ] || '
        '{ echo "error: no stack named $5" >&2; exit 255; }\n'
        f'cat "{output}"\n'
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    result = runner.invoke(app, ["status", "--json", "--stack", "primary"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["serving"] == "primary"
    missing = runner.invoke(app, ["status", "--stack", "staging"])
    assert missing.exit_code == 1
    assert "failed: error: no stack named staging" in missing.stderr


def _fifo(tmp_path: Path) -> Path:
    fifo = tmp_path / "topology.fifo"
    os.mkfifo(fifo)
    return fifo


def _too_big(tmp_path: Path) -> Path:
    path = tmp_path / "big.json"
    path.write_text(" " * (MAX_TOPOLOGY_BYTES + 1))
    return path


def _deeply_nested(tmp_path: Path) -> Path:
    path = tmp_path / "nested.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    return path


def _huge_number(tmp_path: Path) -> Path:
    path = tmp_path / "number.json"
    path.write_text('{"version": ' + "9" * 10_000 + "}")
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_fifo, "cannot read topology file {}: not a regular file"),
        (lambda _: Path("/dev/zero"), "cannot read topology file {}: not a regular file"),
        (_too_big, "topology file {} is larger than 1 MiB"),
        (_deeply_nested, "topology file {} is not valid JSON: nested too deeply"),
        (_huge_number, "topology file {} is not valid JSON: Exceeds the limit"),
    ],
    ids=["fifo", "dev-zero", "too-big", "nested", "huge-number"],
)
def test_hostile_topology_files_are_refused_at_once(
    runner: CliRunner, tmp_path: Path, make: Any, message: str
) -> None:
    path = make(tmp_path)
    done: list[Any] = []
    worker = threading.Thread(
        target=lambda: done.append(runner.invoke(app, ["status", "--topology", str(path)])),
        daemon=True,
    )
    worker.start()
    worker.join(timeout=60)
    assert done, "opsctl blocked reading the topology path"
    assert_one_line_error(done[0], 1, message.format(path))
