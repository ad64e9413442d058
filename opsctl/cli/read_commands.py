"""The commands that read and change nothing: status (also refreshed in place), readiness,
history (the local audit log), topology and probe."""

from __future__ import annotations

import os
from pathlib import Path
from time import sleep
from typing import Annotated

import typer
from rich.live import Live

from opsctl.aws import AwsClients
from opsctl.change.audit import AuditLog
from opsctl.cli import history_view, output, plan_view, status_view
from opsctl.cli.options import (
    TOPOLOGY_ENV,
    AppOption,
    JsonOption,
    ProbeTopologyOption,
    ProfileOption,
    StackOption,
    Target,
    TopologyOption,
    examples,
    number_option,
    topology_file_from_env,
)
from opsctl.cli.reporting import exit_on_error
from opsctl.errors import ExitCode, InputError, OpsctlError
from opsctl.read.capacity_checks import DEFAULT_MAX_REPLICATION_LATENCY_MS
from opsctl.read.probe import DEFAULT_PATH, DnsResolver, Resolver, probe
from opsctl.read.readiness import assess_readiness
from opsctl.read.status import read_status
from opsctl.sandbox.cli import DirOption
from opsctl.topology import load_topology_file
from stack_topology import Role, Topology, to_document

PROBE_TOKEN_ENV = "OPSCTL_PROBE_TOKEN"

commands = typer.Typer()


@commands.command(
    epilog=examples(
        "opsctl status", "opsctl status --topology topology.json --json", "opsctl status --watch 5"
    )
)
def status(
    json_output: JsonOption = False,
    watch: Annotated[
        float | None,
        number_option("--watch", low=1, high=3600, help="Refresh every SECONDS until Ctrl-C."),
    ] = None,
    topology: TopologyOption = None,
    stack: StackOption = None,
    app_name: AppOption = None,
    profile: ProfileOption = None,
) -> None:
    """Where traffic goes, and the health, alarm and failure switch of each Region."""
    with exit_on_error():
        clients, topo = Target(topology, stack, app_name, profile).resolve()
        if watch is None:
            report = read_status(clients, topo)
            output.emit(json_output, report.to_json(), status_view.status_renderable(report))
        else:
            _watch(clients, topo, watch, json_output)


def _watch(clients: AwsClients, topology: Topology, seconds: float, json_output: bool) -> None:
    """Refresh in place (JSON: one line per refresh) until Ctrl-C; a failed refresh is shown,
    not fatal."""
    try:
        if json_output:
            while True:
                try:
                    output.print_json(read_status(clients, topology).to_json(), compact=True)
                except OpsctlError as error:
                    output.error(error.message)
                sleep(seconds)
        with Live(console=output.stdout, auto_refresh=False) as live:
            while True:
                try:
                    live.update(status_view.status_renderable(read_status(clients, topology)))
                except OpsctlError as error:
                    live.update(output.text(f"opsctl: error: {error.message}", style="bold red"))
                live.refresh()
                sleep(seconds)
    except KeyboardInterrupt:
        return


@commands.command(
    epilog=examples(
        "opsctl readiness                     # can the secondary take all traffic?",
        "opsctl readiness --role primary --json",
    )
)
def readiness(
    role: Annotated[
        Role,
        typer.Option(
            "--role",
            metavar="ROLE",
            help="The Region that would take all traffic: primary or secondary.",
        ),
    ] = Role.SECONDARY,
    max_replication_latency_ms: Annotated[
        float,
        number_option(
            "--max-replication-latency-ms", low=0, high=3_600_000, help="ReplicationLatency limit."
        ),
    ] = DEFAULT_MAX_REPLICATION_LATENCY_MS,
    json_output: JsonOption = False,
    topology: TopologyOption = None,
    stack: StackOption = None,
    app_name: AppOption = None,
    profile: ProfileOption = None,
) -> None:
    """Can a Region take all traffic now? Each check pass / warn / fail; exit 4 if any fails."""
    with exit_on_error():
        clients, topo = Target(topology, stack, app_name, profile).resolve()
        report = assess_readiness(
            clients, topo, role.value, max_replication_latency_ms=max_replication_latency_ms
        )
        output.emit(json_output, report.to_json(), plan_view.readiness_renderable(report))
        if not report.ready:
            raise typer.Exit(int(ExitCode.REFUSED))


@commands.command(
    epilog=examples("opsctl history", "opsctl history --limit 5 --wide", "opsctl history --json")
)
def history(
    json_output: JsonOption = False,
    wide: Annotated[
        bool,
        typer.Option(
            "--wide", help="Every field in its own column: full times, ARNs, change ids, weights."
        ),
    ] = False,
    limit: Annotated[
        int | None,
        number_option("--limit", low=1, high=1_000_000, help="Only the newest N records."),
    ] = None,
) -> None:
    """Approved changes from the local audit log (OPSCTL_AUDIT_LOG), oldest first."""
    with exit_on_error():
        log = AuditLog()
        read = log.read()
        for note in read.skipped:
            output.warn(f"warning: audit log {log.path}: {note}; skipped")
        records = read.entries if limit is None else read.entries[-limit:]
        if not records and not json_output:
            output.info(f"no approved changes recorded in {log.path}")
            return
        output.emit(
            json_output,
            [record.to_json() for record in records],
            history_view.history_renderable(records, wide=wide),
        )


@commands.command(
    name="topology",
    epilog=examples(
        "opsctl topology                       # discover by tags, print JSON",
        "opsctl topology --app myapp > topology.json",
    ),
)
def show_topology(
    topology: TopologyOption = None,
    stack: StackOption = None,
    app_name: AppOption = None,
    profile: ProfileOption = None,
) -> None:
    """Print the resolved topology as JSON (save a discovered one for use with --topology)."""
    with exit_on_error():
        _, topo = Target(topology, stack, app_name, profile).resolve()
        output.print_json(to_document(topo))


@commands.command(
    name="probe",
    epilog=examples(
        "opsctl probe --sandbox",
        'opsctl probe --count 50 --token "$TOKEN" --topology topology.json --json',
    ),
)
def run_probe(
    count: Annotated[
        int, number_option("--count", "-n", low=1, high=10_000, help="Requests to send.")
    ] = 20,
    path: Annotated[str, typer.Option("--path", help="Authorized route to call.")] = DEFAULT_PATH,
    token: Annotated[
        str | None,
        typer.Option(
            "--token", help=f"Bearer token (default: ${PROBE_TOKEN_ENV}).", show_default=False
        ),
    ] = None,
    hostname: Annotated[
        str | None,
        typer.Option("--hostname", help="Shared hostname (default: the topology's record name)."),
    ] = None,
    topology: ProbeTopologyOption = None,
    sandbox: Annotated[
        bool,
        typer.Option(
            "--sandbox", help="Resolve through the running sandbox and use its IdP for a token."
        ),
    ] = False,
    directory: DirOption = None,
    json_output: JsonOption = False,
) -> None:
    """Send N authorized requests to the shared hostname; show which Region answered and the
    status codes. Exit 1 when any request failed."""
    with exit_on_error():
        resolver: Resolver
        if sandbox:
            resolver, hostname, token = _through_sandbox(directory, hostname, token)
        else:
            resolver = DnsResolver()
            token = token or os.environ.get(PROBE_TOKEN_ENV)
            if hostname is None:
                hostname = _hostname_from_topology(topology)
        if not token:
            raise InputError(f"a token is required: --token or ${PROBE_TOKEN_ENV}")
        report = probe(hostname, resolver, token=token, count=count, path=path)
        if json_output:
            output.print_json(report.to_json())
        else:
            output.stdout.print(status_view.probe_renderable(report))
            statuses = ", ".join(f"{code}: {n}" for code, n in sorted(report.by_status().items()))
            output.info(f"status codes: {statuses}; failed: {report.failed}")
            for message in report.to_json()["errors"]:
                output.warn(f"error: {message}")
        if report.failed:
            raise typer.Exit(int(ExitCode.ERROR))


def _through_sandbox(
    directory: Path | None, hostname: str | None, token: str | None
) -> tuple[Resolver, str, str]:
    """Probe like a player of the running sandbox: its stub resolver (asks the sandbox's DNS,
    keeps each answer for its TTL), its shared hostname and a token from its IdP unless given.
    The sandbox modules are imported here, so the other commands do not pay for them."""
    from opsctl.sandbox.idp import SigningKey
    from opsctl.sandbox.route53.answers import ResolutionError
    from opsctl.sandbox.state import SandboxState, SandboxStateError, sandbox_dir
    from opsctl.sandbox.stub_resolver import sandbox_resolver

    try:
        state = SandboxState.load(sandbox_dir(directory))
        resolver = sandbox_resolver(state)
    except (SandboxStateError, ResolutionError) as error:
        raise OpsctlError(str(error)) from None
    token = token or SigningKey.load(Path(state.key_file)).mint(
        issuer=state.issuer, audience=state.audience, subject="probe"
    )
    if state.trust_bundle:
        # A player of the sandbox trusts its CA, as `opsctl sandbox env` would have set up.
        os.environ.setdefault("SSL_CERT_FILE", state.trust_bundle)
    return resolver, hostname or state.hostname, token


def _hostname_from_topology(topology_file: Path | None) -> str:
    source = topology_file or topology_file_from_env()
    if source is None:
        raise InputError(f"no hostname: pass --hostname, --topology or set ${TOPOLOGY_ENV}")
    return load_topology_file(source).record_name.rstrip(".")
