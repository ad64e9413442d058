"""The `opsctl` command line: thin Typer commands over the core modules.

Every command is a plain Typer function: its examples are its --help epilog (`_examples`), the
flags several commands share are `Annotated` aliases declared once in `opsctl.cli.options` (the
commands that act on AWS take --topology/--stack/--app/--profile and build one `Target` from
them), and its body runs inside `exit_on_error`, which turns every failure into one line on
stderr and the documented exit code. The change commands (failover, fallback, switch) share one
plan -> approve -> apply flow, `opsctl.cli.approval`; each command only builds its plan and says how
to apply it.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import re
import signal
from collections.abc import Callable, Iterator
from dataclasses import replace
from enum import StrEnum
from importlib.metadata import version as package_version
from pathlib import Path
from time import sleep
from typing import TYPE_CHECKING, Annotated

import typer
from rich.live import Live

from opsctl.aws import AwsClients
from opsctl.change.apply import DEFAULT_INSYNC_TIMEOUT
from opsctl.change.audit import AuditLog
from opsctl.change.plan import parse_steps
from opsctl.change.revocation import (
    apply_revoke,
    check_jti,
    list_revocations,
    parse_until,
    plan_revoke,
)
from opsctl.change.routing import plan_failover_via, plan_fallback_via
from opsctl.change.switch import SwitchResult, apply_switch, plan_switch
from opsctl.cli import output
from opsctl.cli.approval import approval_from_flags, plan_then_apply, shift_traffic
from opsctl.cli.options import (
    TOPOLOGY_ENV,
    AppOption,
    ApproveOption,
    ForceOption,
    JsonOption,
    ProbeTopologyOption,
    ProfileOption,
    ReasonOption,
    ReportDirOption,
    RoleOption,
    StackOption,
    SwitchValue,
    Target,
    TimeoutOption,
    TopologyOption,
    Via,
    ViaOption,
    number_option,
    topology_file_from_env,
)
from opsctl.cli.reporting import exit_on_error, reopen_closed_stdout
from opsctl.drill.scenario import Scenario
from opsctl.errors import ExitCode, InputError, OpsctlError
from opsctl.model import Approval
from opsctl.read.capacity_checks import DEFAULT_MAX_REPLICATION_LATENCY_MS
from opsctl.read.probe import DEFAULT_PATH, DnsResolver, Resolver, probe
from opsctl.read.readiness import assess_readiness
from opsctl.read.status import read_status
from opsctl.sandbox.cli import DirOption, sandbox_app
from opsctl.topology import load_topology_file
from stack_topology import Role, Topology, to_document

if TYPE_CHECKING:
    from opsctl.drill.model import DrillTarget

PROBE_TOKEN_ENV = "OPSCTL_PROBE_TOKEN"
# The installed distribution whose version `opsctl --version` prints (pyproject.toml).
DISTRIBUTION = "multi-region-authorizer"


app = typer.Typer(
    name="opsctl",
    help=(
        "Operate the two-Region authorizer: see where traffic goes and move it between the "
        "Regions, only when a human approves. Exit codes: 0 done/nothing to do, 1 error, "
        "2 usage, 3 plan shown (not approved), 4 refused by preflight, 5 records changed "
        "under us, 130 interrupted."
    ),
    epilog=(
        "Examples:\n\n"
        "  opsctl status\n\n"
        '  opsctl failover --approve --reason "INC-123 primary 5xx"\n\n'
        "  opsctl COMMAND --help\n\n"
        "Words (INSYNC, lever, failure switch, steps, dwell) and the runbook: docs/opsctl.md "
        "in the repository (Glossary; The primary Region is down)."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(requested: bool) -> None:
    if requested:
        output.stdout.print(f"opsctl {package_version(DISTRIBUTION)}")
        raise typer.Exit()


@app.callback()
def _global_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            help="Print opsctl's version and exit.",
        ),
    ] = False,
) -> None:
    """The options every command takes come before it: --version, --help, completion."""


def _examples(*lines: str) -> str:
    """A command's --help epilog: one example per line."""
    return "Examples:\n\n" + "\n\n".join(f"  {line}" for line in lines)


@app.command(
    epilog=_examples(
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
            output.emit(json_output, report.to_json(), output.status_renderable(report))
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
                    live.update(output.status_renderable(read_status(clients, topology)))
                except OpsctlError as error:
                    live.update(output.text(f"opsctl: error: {error.message}", style="bold red"))
                live.refresh()
                sleep(seconds)
    except KeyboardInterrupt:
        return


@app.command(
    epilog=_examples(
        "opsctl failover                      # plan only, exit 3",
        'opsctl failover --approve --reason "INC-123 primary 5xx"',
        'opsctl failover --approve --force --reason "INC-123 checkers flapping"',
        'opsctl failover --via dataplane --approve --reason "INC-123 us-east-1 down"',
    )
)
def failover(
    approve: ApproveOption = False,
    reason: ReasonOption = None,
    force: ForceOption = False,
    json_output: JsonOption = False,
    timeout: TimeoutOption = DEFAULT_INSYNC_TIMEOUT,
    via: ViaOption = Via.auto,
    topology: TopologyOption = None,
    stack: StackOption = None,
    app_name: AppOption = None,
    profile: ProfileOption = None,
) -> None:
    """Move all traffic to the secondary: one atomic compare-and-swap of the weights, or, when
    Route 53's control plane does not answer, the data-plane lever (--via)."""
    with exit_on_error():
        approval = approval_from_flags(approve, reason, force)
        shift_traffic(
            Target(topology, stack, app_name, profile),
            lambda clients, topo: plan_failover_via(clients, topo, via.value),
            approval,
            json_output,
            timeout,
        )


@app.command(
    epilog=_examples(
        "opsctl fallback                      # plan only, exit 3",
        'opsctl fallback --approve --reason "INC-123 resolved"',
        'opsctl fallback --steps 10,50,100 --interval 300 --approve --reason "INC-123 resolved"',
        "opsctl fallback --via dataplane --approve "
        '--reason "INC-123 resolved, us-east-1 still dark"',
    )
)
def fallback(
    approve: ApproveOption = False,
    reason: ReasonOption = None,
    force: ForceOption = False,
    steps: Annotated[
        str,
        typer.Option(
            "--steps",
            help="Primary's share of traffic per step, in percent, increasing to 100.",
        ),
    ] = "100",
    interval: Annotated[
        float | None,
        number_option(
            "--interval",
            low=0,
            high=86_400,
            help="Seconds between steps (health re-checked before each). Default: what the "
            "health gate needs to see a step, from the topology's health checks (in the plan); "
            "a shorter one needs --force.",
        ),
    ] = None,
    json_output: JsonOption = False,
    timeout: TimeoutOption = DEFAULT_INSYNC_TIMEOUT,
    via: ViaOption = Via.auto,
    topology: TopologyOption = None,
    stack: StackOption = None,
    app_name: AppOption = None,
    profile: ProfileOption = None,
) -> None:
    """Return traffic to the primary, at once or gradually (--steps), stopping on degradation.
    After a lever failover: weights to the secondary first, then the lever released, then the
    steps; with --via dataplane the lever is released only (all traffic back at once)."""
    with exit_on_error():
        shares = parse_steps(steps)
        approval = approval_from_flags(approve, reason, force)
        shift_traffic(
            Target(topology, stack, app_name, profile),
            lambda clients, topo: plan_fallback_via(clients, topo, shares, via.value),
            approval,
            json_output,
            timeout,
            interval,
        )


@app.command(
    epilog=_examples(
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
        output.emit(json_output, report.to_json(), output.readiness_renderable(report))
        if not report.ready:
            raise typer.Exit(int(ExitCode.REFUSED))


@app.command(
    epilog=_examples(
        "opsctl switch --role primary failing          # plan only, exit 3",
        'opsctl switch --role primary failing --approve --reason "game day"',
        'opsctl switch --role primary healthy --approve --reason "game day over"',
    )
)
def switch(
    value: Annotated[SwitchValue, typer.Argument(help="healthy or failing.")],
    role: RoleOption,
    approve: ApproveOption = False,
    reason: ReasonOption = None,
    json_output: JsonOption = False,
    topology: TopologyOption = None,
    stack: StackOption = None,
    app_name: AppOption = None,
    profile: ProfileOption = None,
) -> None:
    """Flip a Region's failure switch (simulated outage), audited like a failover."""
    with exit_on_error():
        approval = approval_from_flags(approve, reason)
        clients, topo = Target(topology, stack, app_name, profile).resolve()
        plan = plan_switch(clients, topo, role.value, value.value)

        def apply(approved: Approval) -> SwitchResult:
            result = apply_switch(clients, topo, plan, approved, AuditLog())
            assert result is not None  # only a plan that changes something is applied
            return result

        plan_then_apply(
            plan,
            approval,
            json_output,
            already=f"{output.switch_label(plan)} is already {plan.target}",
            show_plan=output.switch_plan_renderable,
            apply=apply,
            show_result=output.switch_result_renderable,
        )


@app.command(
    epilog=_examples(
        "opsctl revoke 3f2a9c0e --until 2026-12-08T12:00:00Z          # plan only, exit 3",
        'opsctl revoke 3f2a9c0e --until 1796731200 --approve --reason "INC-123 leaked token"',
        'opsctl revoke 3f2a9c0e --until 1796731200 --role secondary --approve --reason "INC-123"',
    )
)
def revoke(
    jti: Annotated[str, typer.Argument(help="The token's id (its jti claim).")],
    until: Annotated[
        str,
        typer.Option(
            "--until",
            help="The token's exp: epoch seconds or ISO 8601 with offset (2026-12-08T12:00:00Z).",
        ),
    ],
    approve: ApproveOption = False,
    reason: ReasonOption = None,
    role: Annotated[
        Role,
        typer.Option(
            "--role",
            help="The Region whose replica is written (the other gets it by replication).",
            case_sensitive=False,
        ),
    ] = Role.PRIMARY,
    json_output: JsonOption = False,
    topology: TopologyOption = None,
    stack: StackOption = None,
    app_name: AppOption = None,
    profile: ProfileOption = None,
) -> None:
    """Revoke one token until it expires: the authorizers deny it within about a minute plus
    their cache TTL. Audited like a failover."""
    with exit_on_error():
        expires_at = parse_until(until)
        approval = approval_from_flags(approve, reason)
        clients, topo = Target(topology, stack, app_name, profile).resolve()
        plan = plan_revoke(clients, topo, check_jti(jti), expires_at, role.value)
        plan_then_apply(
            plan,
            approval,
            json_output,
            already=output.revoke_already(plan),
            show_plan=output.revoke_plan_renderable,
            apply=lambda approved: apply_revoke(clients, topo, plan, approved, AuditLog()),
            show_result=output.revoke_result_renderable,
        )


@app.command(epilog=_examples("opsctl revocations", "opsctl revocations --role secondary --json"))
def revocations(
    role: Annotated[
        Role,
        typer.Option("--role", help="The Region whose replica is read.", case_sensitive=False),
    ] = Role.PRIMARY,
    json_output: JsonOption = False,
    topology: TopologyOption = None,
    stack: StackOption = None,
    app_name: AppOption = None,
    profile: ProfileOption = None,
) -> None:
    """The revoked tokens in the global table, soonest expiry first."""
    with exit_on_error():
        clients, topo = Target(topology, stack, app_name, profile).resolve()
        listed = list_revocations(clients, topo, role.value)
        if not listed.revocations and not json_output:
            output.info(f"no revoked tokens in {listed.table} ({listed.region})")
            return
        output.emit(json_output, listed.to_json(), output.revocations_renderable(listed))


class DrillDns(StrEnum):
    system = "system"
    authoritative = "authoritative"


@app.command(
    name="drill",
    epilog=_examples(
        "opsctl drill --token-command 'get-token --audience game'      # guard + plan, exit 3",
        'opsctl drill --approve --reason "monthly game day" --token-file ~/.cache/token '
        "--max-duration 1800 --max-failed 20",
        'opsctl drill --sandbox --approve --reason "try it"   # on the running sandbox',
    ),
)
def rehearse_failover(
    scenario: Annotated[
        Scenario,
        typer.Option(
            "--scenario",
            help="switch: the primary's failure switch breaks it (region-outage: sandbox only, "
            "`opsctl sandbox drill --scenario region-outage`).",
        ),
    ] = Scenario.SWITCH,
    approve: ApproveOption = False,
    reason: ReasonOption = None,
    steps: Annotated[
        str,
        typer.Option("--steps", help="The fallback's steps: primary's share in percent."),
    ] = "10,50,100",
    interval: Annotated[
        float,
        number_option("--interval", low=0, high=3600, help="Seconds between fallback steps."),
    ] = 30.0,
    max_failed: Annotated[
        int | None,
        number_option(
            "--max-failed",
            low=0,
            high=1_000_000,
            help="Abort after more player failures than this outside the detection window.",
        ),
    ] = None,
    max_duration: Annotated[
        float | None,
        number_option("--max-duration", low=1, high=86_400, help="Abort after this many seconds."),
    ] = None,
    token: Annotated[
        str | None, typer.Option("--token", help="The players' bearer token.", show_default=False)
    ] = None,
    token_file: Annotated[
        Path | None,
        typer.Option("--token-file", help="A file holding the token (read again to renew it)."),
    ] = None,
    token_command: Annotated[
        str | None,
        typer.Option(
            "--token-command", help="A command printing a token; run again when it nears expiry."
        ),
    ] = None,
    dns: Annotated[
        DrillDns,
        typer.Option(
            "--dns",
            help="How players resolve the shared hostname: `system` (this machine's resolver, "
            "each address kept 10 s, as a client does) or `authoritative` (the zone's name "
            "servers, each answer kept for its TTL).",
        ),
    ] = DrillDns.system,
    report_dir: ReportDirOption = None,
    sandbox: Annotated[
        bool,
        typer.Option(
            "--sandbox",
            help="Drill the running sandbox: its topology, its DNS and a token from its IdP.",
        ),
    ] = False,
    directory: DirOption = None,
    topology: TopologyOption = None,
    stack: StackOption = None,
    app_name: AppOption = None,
    profile: ProfileOption = None,
) -> None:
    """Rehearse failover and fallback on the stack in use while players play through DNS: refuses
    unless in steady state (exit 4), plans (exit 3 without --approve), restores what it found on
    an abort, and writes a report directory whose path it prints last."""
    with exit_on_error():
        from opsctl.drill.model import AbortLimits
        from opsctl.drill.runner import conclude
        from opsctl.drill.stack_drill import DrillSettings, guard, plan_lines, rehearse

        if scenario is not Scenario.SWITCH:
            raise InputError(
                f"--scenario {scenario} needs the sandbox's fault injection: run "
                f"`opsctl sandbox drill --scenario {scenario}`"
            )
        approval = approval_from_flags(approve, reason)
        settings = DrillSettings(
            parse_steps(steps), interval, AbortLimits(max_failed, max_duration)
        )
        with _drill_target(
            sandbox, directory, Target(topology, stack, app_name, profile), dns,
            (token, token_file, token_command), approval,
        ) as target:  # fmt: skip
            guard(target)
            for line in plan_lines(target, settings):
                output.stdout.print(line, soft_wrap=True, markup=False, highlight=False)
            if approval is None:
                output.info("plan only: nothing changed. Add --approve --reason TEXT to run it.")
                raise typer.Exit(int(ExitCode.NOT_APPROVED))
            run, files = rehearse(target, settings, report_dir)
        code = conclude(run, files)
        if code:
            raise typer.Exit(code)


@contextlib.contextmanager
def _drill_target(
    sandbox: bool,
    directory: Path | None,
    target: Target,
    dns: DrillDns,
    tokens: tuple[str | None, Path | None, str | None],
    approval: Approval | None,
) -> Iterator[DrillTarget]:
    """The drill's target: the running sandbox (its environment set for the block), or the
    topology in use with the players' DNS and token as the flags say."""
    from opsctl.drill.model import DRILL_REASON, DrillTarget
    from opsctl.drill.resolvers import authoritative_resolver, system_resolver
    from opsctl.drill.tokens import TokenSource, token_origin

    reason = approval.reason if approval is not None else DRILL_REASON
    if sandbox:
        if any(given is not None for given in tokens) or dns is not DrillDns.system:
            raise InputError(
                "--sandbox plays through the sandbox's DNS with its IdP's tokens: "
                "drop --token, --token-file, --token-command and --dns"
            )
        from opsctl.sandbox.rehearsal import sandbox_environment, sandbox_target
        from opsctl.sandbox.state import SandboxState, SandboxStateError, sandbox_dir

        try:
            state = SandboxState.load(sandbox_dir(directory))
        except SandboxStateError as error:
            raise OpsctlError(str(error)) from None
        with sandbox_environment(state):
            yield replace(sandbox_target(state), reason=reason)
        return
    origin = token_origin(*tokens)  # usage errors before any AWS call
    clients, topo = target.resolve()
    hostname = topo.record_name.rstrip(".")
    new_resolver: Callable[[], Resolver] = lambda: system_resolver(topo)  # noqa: E731
    if dns is DrillDns.authoritative:
        new_resolver = lambda: authoritative_resolver(topo)  # noqa: E731
    yield DrillTarget(
        clients=clients,
        topology=topo,
        hostname=hostname,
        new_resolver=new_resolver,
        tokens=TokenSource(origin),
        audit_log=AuditLog(),
        reason=reason,
        dns=dns.value,
    )


@app.command(
    epilog=_examples("opsctl history", "opsctl history --limit 5 --wide", "opsctl history --json")
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
            output.history_renderable(records, wide=wide),
        )


@app.command(
    name="topology",
    epilog=_examples(
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


@app.command(
    name="probe",
    epilog=_examples(
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
            output.stdout.print(output.probe_renderable(report))
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


app.add_typer(sandbox_app, name="sandbox")


def _summaries_as_paragraphs(*apps: typer.Typer) -> None:
    """Each command's help is its docstring with the source's line breaks joined, so a command
    list shows each summary as one paragraph (rich help keeps single newlines as written)."""
    for typer_app in apps:
        for command in typer_app.registered_commands:
            if command.help is None and command.callback is not None:
                doc = inspect.cleandoc(command.callback.__doc__ or "")
                command.help = re.sub(r"(?<!\n)\n(?!\n)", " ", doc)


_summaries_as_paragraphs(app, sandbox_app)


def _interrupt_on_termination() -> None:
    """SIGTERM and SIGHUP (a killed job, a closed terminal or SSH session) stop opsctl the way
    Ctrl-C does, so a change already applied is still audited and reported and the sandbox drill
    tears down. SIGINT is set too: a script's background job inherits it ignored, and Python then
    installs no Ctrl-C handler of its own.

    Only the first signal interrupts. opsctl is then on its way out and every step left is bounded
    (re-reading the records, writing the audit line, a teardown), so the signals are ignored from
    then on, rather than breaking that cleanup off halfway or printing a traceback (ignored at the
    OS level: Python restores its own handlers to the default, killing, action while it exits)."""
    names = [name for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)]

    def interrupt(signum: int, _frame: object) -> None:
        for name in names:
            signal.signal(getattr(signal, name), signal.SIG_IGN)
        raise KeyboardInterrupt(signal.Signals(signum).name)

    for name in names:  # no SIGHUP on Windows
        signal.signal(getattr(signal, name), interrupt)


def main() -> None:
    _interrupt_on_termination()
    reopen_closed_stdout()
    # One name whether run as the console script or `python -m opsctl` (help, completion).
    app(prog_name="opsctl")
