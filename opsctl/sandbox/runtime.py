"""The sandbox supervisor: starts every part, keeps them running, and stops them all.

`opsctl sandbox up` runs `python -m opsctl.sandbox.runtime` as a detached background process
leading its own process group; it takes the directory's lock and writes its identity into it
first, writes the state file once everything serves, and removes it when it stops (SIGTERM or
SIGINT). In this process: the emulator, the IdP's JWKS server, provisioning, the global-table
replicator, the health checkers and the alarm evaluator. Each Region's front is a child process
holding a listening socket this process bound (so no port can be taken in between), and exits by
itself if this process dies.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsctl.sandbox.emulator import Emulator, start_emulator
from opsctl.sandbox.healthcheck import (
    DEFAULT_CHECKERS,
    AlarmEvaluator,
    HealthTarget,
    Route53HealthCheckers,
    scaled,
)
from opsctl.sandbox.idp import JwksServer, SigningKey
from opsctl.sandbox.provision import Provisioned, boto3_clients, provision
from opsctl.sandbox.replicator import GlobalTableReplicator, RegionalTable
from opsctl.sandbox.state import (
    SANDBOX_CREDENTIALS,
    STATE_FILE,
    SandboxState,
    hold_supervisor_lock,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_STACK_FILE = PROJECT_ROOT / "Pulumi.primary.yaml"
FRONT_READY_TIMEOUT_SECONDS = 30.0
# Route 53 reports INSYNC "normally within 60 seconds"; the sandbox scales that like the rest.
ROUTE53_PROPAGATION_SECONDS = 30.0
# Global tables usually replicate within a second.
REPLICATION_DELAY_SECONDS = 1.0


@dataclass(frozen=True)
class SandboxOptions:
    directory: Path
    stack_file: Path = DEFAULT_STACK_FILE
    time_scale: float = 0.1  # multiplies AWS intervals: 10 s health checks run every 1 s
    checkers: int = DEFAULT_CHECKERS

    def to_args(self) -> list[str]:
        return [
            "--dir", str(self.directory),
            "--stack", str(self.stack_file),
            "--time-scale", str(self.time_scale),
            "--checkers", str(self.checkers),
        ]  # fmt: skip


def sandbox_process_environment(parent: dict[str, str]) -> dict[str, str]:
    """A clean environment for sandbox processes: none of the operator's AWS settings leak in."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "NO_COLOR")
    environment = {key: parent[key] for key in keep if key in parent}
    environment.update(SANDBOX_CREDENTIALS)
    environment.update({"PYTHONPATH": str(PROJECT_ROOT), "PYTHONUNBUFFERED": "1"})
    return environment


def wait_until_serving(port: int, timeout: float) -> None:
    """Until the front answers HTTP at all (a 403 for `/` proves it routes)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"front on port {port} did not start") from None
            time.sleep(0.05)


class Sandbox:
    """Every running part of one sandbox: `start`, then `stop` (also safe after a failed start)."""

    def __init__(self, options: SandboxOptions) -> None:
        self.options = options
        self.directory = options.directory.resolve()
        self.emulator: Emulator | None = None
        self.jwks: JwksServer | None = None
        self.front_sockets: dict[str, socket.socket] = {}
        self.fronts: dict[str, subprocess.Popen[bytes]] = {}
        self.replicator: GlobalTableReplicator | None = None
        self.checkers: Route53HealthCheckers | None = None
        self.evaluator: AlarmEvaluator | None = None

    def _front_port(self, region: str) -> int:
        if region not in self.front_sockets:
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.bind(("127.0.0.1", 0))
            listener.listen(128)
            self.front_sockets[region] = listener
        return int(self.front_sockets[region].getsockname()[1])

    def start(self) -> SandboxState:
        options = self.options
        self.directory.mkdir(parents=True, exist_ok=True)
        key = SigningKey.generate()
        key_file = self.directory / "idp-key.pem"
        key.save(key_file)
        self.emulator = start_emulator(
            propagation_seconds=ROUTE53_PROPAGATION_SECONDS * options.time_scale
        )
        self.jwks = JwksServer(key.jwks())
        self.jwks.start()
        regions = _stack_regions(options.stack_file)
        ports = {region: self._front_port(region) for region in regions}
        provisioned = provision(
            options.stack_file,
            endpoint_url=self.emulator.endpoint_url,
            front_ports=ports,
            jwks_url=self.jwks.url,
        )
        topology_file = self.directory / "stack-outputs.json"
        topology_file.write_text(json.dumps(provisioned.run.outputs, indent=2) + "\n")
        self._start_fronts(provisioned)
        self._start_replicator(provisioned)
        self._start_health(provisioned)
        auth = provisioned.fronts[regions[0]]
        authorizer_env = next(
            f.environment for f in auth.functions if "AUTH_ISSUERS" in f.environment
        )
        emulator_port = int(self.emulator.endpoint_url.rsplit(":", 1)[1])
        state = SandboxState(
            supervisor_pid=os.getpid(),
            front_pids={region: process.pid for region, process in self.fronts.items()},
            endpoint_url=self.emulator.endpoint_url,
            ports={"emulator": emulator_port, "jwks": self.jwks.port}
            | {f"front:{region}": port for region, port in ports.items()},
            host_map=provisioned.host_map,
            jwks_url=self.jwks.url,
            topology_file=str(topology_file),
            key_file=str(key_file),
            issuer=authorizer_env["AUTH_ISSUERS"].split(",")[0],
            audience=authorizer_env["AUTH_AUDIENCE"],
            hostname=provisioned.hostname,
            time_scale=options.time_scale,
            checkers=options.checkers,
            log_file=str(self.directory / "sandbox.log"),
        )
        state.save(self.directory)
        return state

    def _start_fronts(self, provisioned: Provisioned) -> None:
        environment = sandbox_process_environment(dict(os.environ))
        for region, spec in provisioned.fronts.items():
            spec_file = self.directory / f"front-{region}.json"
            spec_file.write_text(spec.to_json())
            listener = self.front_sockets[region]
            # The functions' logs and EMF metrics, as CloudWatch Logs would hold them per Region.
            with (self.directory / f"functions-{region}.log").open("ab") as log:
                self.fronts[region] = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "opsctl.sandbox.front",
                        str(spec_file),
                        "--fd",
                        str(listener.fileno()),
                        "--supervisor-pid",
                        str(os.getpid()),
                    ],
                    pass_fds=[listener.fileno()],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    env=environment,
                    cwd=PROJECT_ROOT,
                )
        for region in provisioned.fronts:
            wait_until_serving(self._front_port(region), FRONT_READY_TIMEOUT_SECONDS)

    def _start_replicator(self, provisioned: Provisioned) -> None:
        assert self.emulator is not None
        clients = boto3_clients(self.emulator.endpoint_url)
        tables = []
        for declared in provisioned.run.of_type("aws:dynamodb/table:Table"):
            regions = [
                declared.region,
                *(r["regionName"] for r in declared.inputs.get("replicas") or []),
            ]
            for region in regions:
                tables.append(
                    RegionalTable(
                        region=region,
                        table_name=declared.inputs["name"],
                        dynamodb=clients("dynamodb", region),
                        streams=clients("dynamodbstreams", region),
                        cloudwatch=clients("cloudwatch", region),
                    )
                )
        self.replicator = GlobalTableReplicator(
            tables, delay_seconds=REPLICATION_DELAY_SECONDS * self.options.time_scale
        )
        self.replicator.start()

    def _start_health(self, provisioned: Provisioned) -> None:
        assert self.emulator is not None
        clients = boto3_clients(self.emulator.endpoint_url)
        route53 = clients("route53", "us-east-1")
        alarm_region = provisioned.topology["alarmRegion"]
        # The health-check alarms live in the alarm Region, each Region's own alarms in it.
        regions = dict.fromkeys([alarm_region, *provisioned.fronts])
        cloudwatch_by_region = {region: clients("cloudwatch", region) for region in regions}
        sns_by_region = {region: clients("sns", region) for region in regions}
        wanted = {
            provisioned.topology["regions"][role]["healthCheckId"]
            for role in ("primary", "secondary")
        }
        targets = []
        for check in route53.list_health_checks()["HealthChecks"]:
            if check["Id"] not in wanted:
                continue
            config = check["HealthCheckConfig"]
            fqdn = config["FullyQualifiedDomainName"]
            address = provisioned.host_map[fqdn]
            targets.append(
                HealthTarget(
                    health_check_id=check["Id"],
                    url=f"http://{address}{config.get('ResourcePath', '/')}",
                    host_header=fqdn,
                    interval_seconds=scaled(config["RequestInterval"], self.options.time_scale),
                    failure_threshold=int(config["FailureThreshold"]),
                )
            )
        self.checkers = Route53HealthCheckers(
            targets,
            cloudwatch_by_region[alarm_region],
            checkers=self.options.checkers,
            on_observations=self.emulator.health_checks.record,
        )
        self.evaluator = AlarmEvaluator(
            cloudwatch_by_region,
            sns_by_region,
            self.emulator.metrics,
            time_scale=self.options.time_scale,
        )
        self.checkers.start()
        self.evaluator.start()

    def stop(self) -> None:
        """Stop every part that started, in reverse order; never raises."""
        for part in (self.evaluator, self.checkers, self.replicator):
            if part is not None:
                _quietly(part.stop)
        for process in self.fronts.values():
            process.terminate()
        for process in self.fronts.values():
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for listener in self.front_sockets.values():
            listener.close()
        if self.jwks is not None:
            _quietly(self.jwks.stop)
        if self.emulator is not None:
            _quietly(self.emulator.stop)
        (self.directory / STATE_FILE).unlink(missing_ok=True)


def _quietly(stop: Any) -> None:
    try:
        stop()
    except Exception as error:
        print(f"sandbox: stopping {stop!r} failed: {error!r}", file=sys.stderr)


def _stack_regions(stack_file: Path) -> list[str]:
    """The stack's two Regions, as the program will read them (defaults from Pulumi.yaml)."""
    from infra.mockrun import load_config

    config = load_config(stack_file)
    project = next(iter(config)).split(":", 1)[0]
    return [config[f"{project}:primaryRegion"], config[f"{project}:secondaryRegion"]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the opsctl sandbox until SIGTERM.")
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--stack", type=Path, default=DEFAULT_STACK_FILE)
    parser.add_argument("--time-scale", type=float, default=0.1)
    parser.add_argument("--checkers", type=int, default=DEFAULT_CHECKERS)
    args = parser.parse_args(argv)
    try:
        lock = hold_supervisor_lock(args.dir)  # released by the kernel when this process ends
    except OSError as error:
        print(f"sandbox: cannot lock {args.dir}: {error.strerror or error}", file=sys.stderr)
        return 1
    if lock is None:
        print(f"sandbox: another supervisor is running in {args.dir}", file=sys.stderr)
        return 1
    # The emulator logs every request; the sandbox log should show state changes instead.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    stopping = threading.Event()
    # While starting, a stop request aborts the start at once (`down` or an interrupted `up`
    # must not wait for provisioning); once serving, it ends the wait below.
    signal.signal(signal.SIGTERM, _abort_start)
    signal.signal(signal.SIGINT, _abort_start)
    sandbox = Sandbox(
        SandboxOptions(args.dir, args.stack, time_scale=args.time_scale, checkers=args.checkers)
    )
    try:
        state = sandbox.start()
        signal.signal(signal.SIGTERM, lambda *_: stopping.set())
        signal.signal(signal.SIGINT, lambda *_: stopping.set())
        print(
            f"sandbox ready: {state.hostname} via {state.endpoint_url}", file=sys.stderr, flush=True
        )
        while not stopping.wait(0.5):
            pass
        return 0
    except StopRequested:
        print("sandbox: stop requested while starting", file=sys.stderr, flush=True)
        return 0
    except Exception as error:
        print(f"sandbox failed to start: {error!r}", file=sys.stderr, flush=True)
        return 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # stopping now; a second request waits
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        sandbox.stop()
        print("sandbox stopped", file=sys.stderr, flush=True)


class StopRequested(BaseException):
    """SIGTERM or SIGINT while the sandbox was starting (not an Exception: nothing swallows it)."""


def _abort_start(*_: object) -> None:
    raise StopRequested


if __name__ == "__main__":
    sys.exit(main())
