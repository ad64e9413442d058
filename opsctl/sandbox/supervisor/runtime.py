"""The sandbox supervisor: starts every part, keeps them running, and stops them all.

`opsctl sandbox up` runs `python -m opsctl.sandbox.supervisor.runtime` as a detached background
process leading its own process group; it takes the directory's lock and writes its identity into it
first, writes the state file once everything serves, and removes it when it stops (SIGTERM or
SIGINT). In this process: the emulator, the IdP's JWKS server, provisioning, the global-table
replicator, the health checkers and the alarm evaluator. Each Region's front is a child process
holding a listening socket this process bound (so no port can be taken in between), and exits by
itself if this process dies.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import Any

from opsctl.sandbox.cloudwatch.evaluator import AlarmEvaluator
from opsctl.sandbox.dynamodb.replicator import GlobalTableReplicator, RegionalTable
from opsctl.sandbox.emulator import Emulator, start_emulator
from opsctl.sandbox.faults.controller import OutageController
from opsctl.sandbox.faults.outage import forget_outages
from opsctl.sandbox.faults.proxy import FaultProxy
from opsctl.sandbox.front.spec import front_spec_file
from opsctl.sandbox.idp import JwksServer, SigningKey
from opsctl.sandbox.provisioning.mocks.target import boto3_clients
from opsctl.sandbox.provisioning.provision import Provisioned, provision, served_topology
from opsctl.sandbox.route53.answers import DataPlaneResolver, dns_lookup
from opsctl.sandbox.route53.checkers import (
    DEFAULT_CHECKERS,
    HealthTarget,
    Route53HealthCheckers,
    scaled,
)
from opsctl.sandbox.route53.name_server import ALIAS_TTL_SECONDS, DnsServer
from opsctl.sandbox.state import (
    STATE_FILE,
    SandboxState,
    hold_supervisor_lock,
)
from opsctl.sandbox.supervisor.processes import DEFAULT_STACK_FILE, SandboxOptions
from opsctl.sandbox.supervisor.region_front import RegionFront, address_of, bind_front_listeners
from opsctl.sandbox.tls_ca import FrontCertificate, issue_front_certificate

# Route 53 reports INSYNC "normally within 60 seconds"; the sandbox scales that like the rest.
ROUTE53_PROPAGATION_SECONDS = 30.0
# Global tables usually replicate within a second.
REPLICATION_DELAY_SECONDS = 1.0


class Sandbox:
    """Every running part of one sandbox: `start`, then `stop` (also safe after a failed start)."""

    def __init__(self, options: SandboxOptions) -> None:
        self.options = options
        self.directory = options.directory.resolve()
        self.emulator: Emulator | None = None
        self.faults: FaultProxy | None = None
        self.jwks: JwksServer | None = None
        self.fronts: dict[str, RegionFront] = {}
        self.replicator: GlobalTableReplicator | None = None
        self.checkers: Route53HealthCheckers | None = None
        self.evaluator: AlarmEvaluator | None = None
        self.outages: OutageController | None = None
        self.dns: DnsServer | None = None
        self.state: SandboxState | None = None

    def start(self) -> SandboxState:
        options = self.options
        self.directory.mkdir(parents=True, exist_ok=True)
        forget_outages(self.directory)
        key = SigningKey.generate()
        key_file = self.directory / "idp-key.pem"
        key.save(key_file)
        self.emulator = start_emulator(
            propagation_seconds=ROUTE53_PROPAGATION_SECONDS * options.time_scale,
            time_scale=options.time_scale,
        )
        # What opsctl and other clients call AWS through; the sandbox's own parts (AWS's data plane)
        # call the emulator directly, so an outage of a Region's API leaves them running.
        self.faults = FaultProxy(upstream=self.emulator.endpoint_url).start()
        self.jwks = JwksServer(key.jwks())
        self.jwks.start()
        regions = _stack_regions(options.stack_file)
        listeners = bind_front_listeners(regions)
        provisioned = provision(
            options.stack_file,
            endpoint_url=self.emulator.endpoint_url,
            front_addresses={region: address_of(bound[0]) for region, bound in listeners.items()},
            jwks_url=self.jwks.url,
        )
        certificate = issue_front_certificate(
            self.directory, [provisioned.hostname, *provisioned.host_map]
        )
        self._start_fronts(provisioned, listeners, certificate)
        self._start_replicator(provisioned)
        self._start_health(provisioned)
        self.dns = self._start_dns(provisioned)
        port = int(next(iter(self.fronts.values())).address.rsplit(":", 1)[1])
        topology = served_topology(provisioned.topology, self.dns.address, port)
        topology_file = self.directory / "stack-outputs.json"
        outputs = {**provisioned.run.outputs, "topology": topology}
        topology_file.write_text(json.dumps(outputs, indent=2) + "\n")
        auth = provisioned.fronts[regions[0]]
        authorizer_env = next(
            f.environment for f in auth.functions if "AUTH_ISSUERS" in f.environment
        )
        emulator_port = int(self.emulator.endpoint_url.rsplit(":", 1)[1])
        proxy_port = int(self.faults.url.rsplit(":", 1)[1])
        self.state = SandboxState(
            supervisor_pid=os.getpid(),
            front_pids=self._front_pids(),
            endpoint_url=self.faults.url,
            ports={
                "emulator": emulator_port,
                "aws": proxy_port,
                "jwks": self.jwks.port,
                "dns": self.dns.port,
            }
            | {
                f"front:{region}": int(front.address.rsplit(":", 1)[1])
                for region, front in self.fronts.items()
            },
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
            front_addresses={region: front.address for region, front in self.fronts.items()},
            dns=self.dns.address,
            front_doors={region: front.addresses[1:] for region, front in self.fronts.items()},
            trust_bundle=str(certificate.trust_bundle),
        )
        self.state.save(self.directory)
        assert self.replicator is not None
        assert self.evaluator is not None
        self.outages = OutageController(
            self.directory,
            self.fronts,
            self.replicator,
            self.faults,
            self.evaluator,
            on_applied=self._save_pids,
        )
        self.outages.start()
        return self.state

    def _front_pids(self) -> dict[str, int]:
        """The running fronts' processes (a Region that is out has none)."""
        return {
            region: front.process.pid
            for region, front in self.fronts.items()
            if front.process is not None
        }

    def _save_pids(self) -> None:
        if self.state is not None:
            self.state = dataclasses.replace(self.state, front_pids=self._front_pids())
            self.state.save(self.directory)

    def _start_fronts(
        self,
        provisioned: Provisioned,
        listeners: dict[str, list[socket.socket]],
        certificate: FrontCertificate,
    ) -> None:
        for region, spec in provisioned.fronts.items():
            spec_file = front_spec_file(self.directory, region)
            spec_file.write_text(spec.to_json())
            self.fronts[region] = RegionFront(
                region,
                listeners[region],
                spec_file,
                self.directory,
                certificate,
                self.options.time_scale,
            )
            self.fronts[region].start()
        for front in self.fronts.values():
            front.wait_serving()

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
        targets = []
        for check in route53.list_health_checks()["HealthChecks"]:
            config = check["HealthCheckConfig"]
            address = provisioned.host_map.get(config.get("FullyQualifiedDomainName", ""))
            if address is None:  # not an endpoint check on a sandbox front (metric, calculated)
                continue
            fqdn = config["FullyQualifiedDomainName"]
            host, port = address.rsplit(":", 1)
            targets.append(
                HealthTarget(
                    health_check_id=check["Id"],
                    url=f"https://{fqdn}:{port}{config.get('ResourcePath', '/')}",
                    host_header=fqdn,
                    interval_seconds=scaled(config["RequestInterval"], self.options.time_scale),
                    failure_threshold=int(config["FailureThreshold"]),
                    address=host,
                )
            )
        self.checkers = Route53HealthCheckers(
            targets,
            cloudwatch_by_region[alarm_region],
            checkers=self.options.checkers,
            on_observations=self.emulator.health_checks.record,
            on_status=self.emulator.data_plane.record_checkers,
        )
        self.evaluator = AlarmEvaluator(
            cloudwatch_by_region,
            sns_by_region,
            self.emulator.metrics,
            time_scale=self.options.time_scale,
        )
        self.checkers.start()
        self.evaluator.start()

    def _start_dns(self, provisioned: Provisioned) -> DnsServer:
        """Route 53's DNS for the zone: the shared name by the data plane's rules, each Region's
        API names with its front's address."""
        assert self.emulator is not None
        topology = provisioned.topology
        resolver = DataPlaneResolver(
            self.emulator.data_plane, topology["hostedZoneId"], topology["records"][0]["type"]
        )
        ttl = max(1, round(ALIAS_TTL_SECONDS * self.options.time_scale))
        zone = self.emulator.data_plane.zone_name(topology["hostedZoneId"])
        doors = {front.address: front.addresses[1:] for front in self.fronts.values()}
        lookup = dns_lookup(resolver, provisioned.hostname, provisioned.host_map, doors, ttl)
        server = DnsServer(lookup, zone)
        server.start()
        return server

    def stop(self) -> None:
        """Stop every part that started, in reverse order; never raises."""
        for part in (self.dns, self.outages, self.evaluator, self.checkers, self.replicator):
            if part is not None:
                _quietly(part.stop)
        for front in self.fronts.values():
            _quietly(front.stop)
        if self.jwks is not None:
            _quietly(self.jwks.stop)
        if self.faults is not None:
            _quietly(self.faults.stop)
        if self.emulator is not None:
            _quietly(self.emulator.stop)
        (self.directory / STATE_FILE).unlink(missing_ok=True)
        forget_outages(self.directory)


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
