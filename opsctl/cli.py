"""The `opsctl` command line: thin Typer commands over the core modules.

Every command is a plain Typer function: its examples are its --help epilog (`_examples`), the
flags several commands share are `Annotated` aliases declared once below (the commands that act on
AWS take --topology/--stack/--app/--profile and build one `Target` from them), and its body runs
inside `_exit_on_error`, which turns every failure into one line on stderr and the documented
exit code.
The change commands (failover, fallback, switch) share one plan -> approve -> apply path,
`_plan_then_apply`; each command only builds its plan and says how to apply it.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from time import sleep
from typing import Annotated, Any, Protocol, TypeVar

import typer
from rich.console import RenderableType
from rich.live import Live

from opsctl import output
from opsctl.audit import AuditLog
from opsctl.aws import AwsClients
from opsctl.dataplane import (
    LeverPlan,
    LeverResult,
    apply_lever,
    plan_failover_via,
    plan_fallback_via,
)
from opsctl.errors import ExitCode, InputError, OpsctlError
from opsctl.model import Approval, Weights
from opsctl.options import number_option
from opsctl.probe import DEFAULT_PATH, DnsResolver, Resolver, probe
from opsctl.readiness import (
    DEFAULT_MAX_REPLICATION_LATENCY_MS,
    ReadinessReport,
    assess_readiness,
)
from opsctl.sandbox.cli import DirOption, sandbox_app
from opsctl.shift import (
    DEFAULT_INSYNC_TIMEOUT,
    ShiftOptions,
    ShiftPlan,
    ShiftResult,
    apply_shift,
    parse_steps,
)
from opsctl.status import read_status
from opsctl.switch import SwitchResult, apply_switch, plan_switch
from opsctl.topology import (
    discover_topology,
    load_topology_file,
    load_topology_from_stack,
)
from topology import Role, Topology, to_document

TOPOLOGY_ENV = "OPSCTL_TOPOLOGY"
PROBE_TOKEN_ENV = "OPSCTL_PROBE_TOKEN"
# Set to get the traceback of an unexpected error (a bug) instead of its one-line summary.
DEBUG_ENV = "OPSCTL_DEBUG"


class Via(StrEnum):
    auto = "auto"
    weights = "weights"
    dataplane = "dataplane"


class SwitchValue(StrEnum):
    healthy = "healthy"
    failing = "failing"


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
        "  opsctl COMMAND --help"
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

TopologyOption = Annotated[
    Path | None,
    typer.Option(
        "--topology",
        help=(
            "Topology JSON: the stack's `topology` output or the whole `pulumi stack output "
            f"--json` document. Default: ${TOPOLOGY_ENV}, else discovery by tags."
        ),
        show_default=False,
    ),
]
StackOption = Annotated[
    str | None,
    typer.Option("--stack", help="Read the topology with `pulumi stack output --json`."),
]
AppOption = Annotated[
    str | None,
    typer.Option("--app", help="App tag to discover by, when several apps share the account."),
]
ProfileOption = Annotated[
    str | None,
    typer.Option("--profile", help="AWS profile (default: AWS_PROFILE or the standard chain)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
ApproveOption = Annotated[
    bool, typer.Option("--approve", help="Apply the change (without it: show the plan, exit 3).")
]
ReasonOption = Annotated[
    str | None, typer.Option("--reason", help="Why (required with --approve; goes in the audit).")
]
ForceOption = Annotated[
    bool,
    typer.Option("--force", help="Override failing preflight checks (recorded in the audit)."),
]
TimeoutOption = Annotated[
    float,
    number_option(
        "--timeout", low=1, high=3600, help="Seconds to wait for the change to reach INSYNC."
    ),
]
ViaOption = Annotated[
    Via,
    typer.Option(
        "--via",
        help=(
            "How to move traffic: `weights` (Route 53's control plane, us-east-1), `dataplane` "
            "(the lever: an alarm in the secondary Region fails the primary's record; DNS only), "
            "or `auto`: weights when the control plane answers, else the lever."
        ),
        case_sensitive=False,
    ),
]
# The probe reads only the shared hostname from a topology, and discovers none.
ProbeTopologyOption = Annotated[
    Path | None,
    typer.Option(
        "--topology", help=f"Topology JSON to read the hostname from (or ${TOPOLOGY_ENV})."
    ),
]
RoleOption = Annotated[
    Role,
    typer.Option("--role", help="The Region, by role.", case_sensitive=False),
]


@dataclass(frozen=True)
class Target:
    """What to act on and as whom: the flags every AWS command shares."""

    topology_file: Path | None
    stack: str | None
    app_name: str | None
    profile: str | None

    def resolve(self) -> tuple[AwsClients, Topology]:
        """Clients for the profile, and the first topology source given (see docs/opsctl.md)."""
        clients = AwsClients.from_profile(self.profile)
        if self.topology_file is not None:
            return clients, load_topology_file(self.topology_file)
        if self.stack is not None:
            return clients, load_topology_from_stack(self.stack)
        from_env = _topology_file_from_env()
        if from_env is not None:
            return clients, load_topology_file(from_env)
        return clients, discover_topology(clients.route53(), self.app_name)


def _topology_file_from_env() -> Path | None:
    from_env = os.environ.get(TOPOLOGY_ENV)
    return Path(from_env) if from_env else None


@contextmanager
def _exit_on_error() -> Iterator[None]:
    """One line on stderr and the documented exit code; never a traceback."""
    try:
        yield
    except typer.Exit:
        raise  # a command's own exit code (3 plan only, 4 not ready)
    except OpsctlError as error:
        output.error(error.message)
        raise typer.Exit(int(error.exit_code)) from None
    except BrokenPipeError:
        _stdout_closed()
    except KeyboardInterrupt as interrupt:
        # The core adds a note when the interrupt leaves something the operator must know.
        notes = "; ".join(getattr(interrupt, "__notes__", ()))
        output.error(f"interrupted: {notes}" if notes else "interrupted")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    except Exception as error:
        if os.environ.get(DEBUG_ENV):
            raise
        output.error(
            f"unexpected {type(error).__name__}: {error} (a bug in opsctl; "
            f"rerun with {DEBUG_ENV}=1 for the traceback)"
        )
        raise typer.Exit(int(ExitCode.ERROR)) from None


def _stdout_closed() -> None:
    """stdout was closed by its reader (`opsctl status | head -1`): say so on stderr, exit 1
    (as click does when --help meets a closed pipe)."""
    # Python flushes stdout again at exit: let that go to /dev/null, not fail again. (Tests
    # capture stdout in memory: no descriptor to redirect.)
    with suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    with suppress(OSError):
        output.error("stdout was closed before all output was written (e.g. `| head`)")
    raise typer.Exit(int(ExitCode.ERROR)) from None


def _examples(*lines: str) -> str:
    """A command's --help epilog: one example per line."""
    return "Examples:\n\n" + "\n\n".join(f"  {line}" for line in lines)


def _approval(approve: bool, reason: str | None, force: bool = False) -> Approval | None:
    """Built before any AWS call: the approval time starts now, and a missing --reason stops
    here (exit 2)."""
    return Approval(reason=reason or "", force=force) if approve else None


class _Plan(Protocol):
    @property
    def noop(self) -> bool: ...

    def to_json(self) -> dict[str, Any]: ...


class _Result(Protocol):
    def to_json(self) -> dict[str, Any]: ...


PlanT = TypeVar("PlanT", bound=_Plan)
ResultT = TypeVar("ResultT", bound=_Result)


def _plan_then_apply(
    plan: PlanT,
    approval: Approval | None,
    json_output: bool,
    *,
    already: str,
    show_plan: Callable[[PlanT], RenderableType],
    apply: Callable[[Approval], ResultT],
    show_result: Callable[[ResultT], RenderableType],
    warnings: Iterable[str] = (),
) -> ResultT | None:
    """The one flow of every change command. A no-op says so (exit 0, returns None); without
    approval the plan is shown and the command exits 3; otherwise `apply` runs and its result is
    shown. JSON mode prints one document: {"plan": ..., "result": ... or null}."""
    if plan.noop:
        if json_output:
            output.print_json({"plan": plan.to_json(), "result": None})
        output.info(f"{already}; nothing to do")
        return None
    if not json_output:
        output.stdout.print(show_plan(plan))
    elif approval is None:
        output.print_json({"plan": plan.to_json(), "result": None})
    for warning in warnings:
        output.warn(f"warning: {warning}")
    if approval is None:
        output.info("plan only: nothing changed. Add --approve --reason TEXT to apply it.")
        raise typer.Exit(int(ExitCode.NOT_APPROVED))
    result = apply(approval)
    if json_output:
        output.print_json({"plan": plan.to_json(), "result": result.to_json()})
    else:
        output.stdout.print(show_result(result))
    return result


def _preflight_warnings(preflight: ReadinessReport | None) -> list[str]:
    return [f"{c.name}: {c.value} ({c.detail})" for c in preflight.warnings] if preflight else []


def _shift(
    target: Target,
    plan_for: Callable[[AwsClients, Topology], ShiftPlan | LeverPlan],
    approval: Approval | None,
    json_output: bool,
    timeout: float,
    interval: float = 0.0,
) -> None:
    """failover and fallback: plan (weights or lever), then the shared flow, then the messages."""
    clients, topo = target.resolve()
    plan = plan_for(clients, topo)
    if isinstance(plan, LeverPlan):
        _lever_shift(clients, topo, plan, approval, json_output, timeout, interval)
        return
    destination = f"{plan.target_role} ({topo.role(plan.target_role).region})"

    def apply(approved: Approval) -> ShiftResult:
        def on_step(index: int, weights: Weights) -> None:
            if len(plan.steps) > 1:
                output.info(f"step {index + 1}/{len(plan.steps)}: {weights}")

        with output.stderr.status(
            output.text(f"changing weights to reach {destination}")
        ) as spinner:
            return apply_shift(
                clients,
                topo,
                plan,
                approved,
                AuditLog(),
                ShiftOptions(
                    interval=interval,
                    insync_timeout=timeout,
                    on_poll=lambda state, waited: spinner.update(
                        output.text(f"waiting for Route 53: {state} after {waited:.0f}s")
                    ),
                    on_step=on_step,
                ),
            )

    result = _plan_then_apply(
        plan,
        approval,
        json_output,
        already=f"all traffic is already on the {destination}",
        show_plan=output.plan_renderable,
        apply=apply,
        show_result=output.result_renderable,
        warnings=_preflight_warnings(plan.preflight),
    )
    if result is not None:
        _report_shift(result, destination)


def _report_shift(result: ShiftResult, destination: str) -> None:
    if result.overridden:
        output.warn(f"--force overrode: {', '.join(result.overridden)} (recorded in the audit)")
    if result.steps:
        output.info(f"approval to INSYNC: {result.steps[-1].approval_to_insync_seconds:.1f}s")
    if not result.completed:
        output.error(
            f"stopped on degradation of the {destination}: {result.stopped_reason}; "
            f"{result.abort_report}"
        )
        raise typer.Exit(int(ExitCode.REFUSED))


def _lever_shift(
    clients: AwsClients,
    topo: Topology,
    plan: LeverPlan,
    approval: Approval | None,
    json_output: bool,
    timeout: float,
    interval: float,
) -> None:
    """The same plan -> approve -> apply flow for a lever plan, and its confirmation times."""
    destination = f"{plan.target_role} ({topo.role(plan.target_role).region})"

    def apply(approved: Approval) -> LeverResult:
        with output.stderr.status(f"{plan.lever_action} the data-plane lever") as spinner:
            return apply_lever(
                clients,
                topo,
                plan,
                approved,
                AuditLog(),
                timeout=timeout,
                interval=interval,
                on_poll=lambda what: spinner.update(f"waiting until {what}"),
            )

    result = _plan_then_apply(
        plan,
        approval,
        json_output,
        already=plan.noop_reason or "",
        show_plan=output.lever_plan_renderable,
        apply=apply,
        show_result=output.lever_result_renderable,
        warnings=_preflight_warnings(plan.preflight),
    )
    if result is None:
        return
    if result.overridden:
        output.warn(f"--force overrode: {', '.join(result.overridden)} (recorded in the audit)")
    engage = result.lever_action == "engage"
    output.info(
        f"approval to lever {'engaged' if engage else 'released'}: "
        f"{result.approval_to_lever_seconds:.1f}s"
    )
    output.info(
        f"approval to alarm {'ALARM' if engage else 'OK'}: {result.approval_to_alarm_seconds:.1f}s"
    )
    if result.approval_to_dns_seconds is not None:
        output.info(f"approval to DNS answers: {result.approval_to_dns_seconds:.1f}s")
    if result.then is not None:
        _report_shift(result.then, destination)


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
    with _exit_on_error():
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
    with _exit_on_error():
        approval = _approval(approve, reason, force)
        _shift(
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
        float,
        number_option(
            "--interval",
            low=0,
            high=86_400,
            help="Seconds between steps (health re-checked before each).",
        ),
    ] = 0.0,
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
    with _exit_on_error():
        shares = parse_steps(steps)
        approval = _approval(approve, reason, force)
        _shift(
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
        Role, typer.Option("--role", help="The Region that would take all traffic.")
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
    with _exit_on_error():
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
    with _exit_on_error():
        approval = _approval(approve, reason)
        clients, topo = Target(topology, stack, app_name, profile).resolve()
        plan = plan_switch(clients, topo, role.value, value.value)

        def apply(approved: Approval) -> SwitchResult:
            result = apply_switch(clients, topo, plan, approved, AuditLog())
            assert result is not None  # only a plan that changes something is applied
            return result

        _plan_then_apply(
            plan,
            approval,
            json_output,
            already=f"{output.switch_label(plan)} is already {plan.target}",
            show_plan=output.switch_plan_renderable,
            apply=apply,
            show_result=output.switch_result_renderable,
        )


@app.command(epilog=_examples("opsctl history", "opsctl history --limit 5 --json"))
def history(
    json_output: JsonOption = False,
    limit: Annotated[
        int | None,
        number_option("--limit", low=1, high=1_000_000, help="Only the newest N records."),
    ] = None,
) -> None:
    """Approved changes from the local audit log (OPSCTL_AUDIT_LOG), oldest first."""
    with _exit_on_error():
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
            output.history_renderable(records),
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
    with _exit_on_error():
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
    with _exit_on_error():
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
    from opsctl.sandbox.resolver import ResolutionError
    from opsctl.sandbox.state import SandboxState, SandboxStateError, sandbox_dir
    from opsctl.sandbox.stubresolver import sandbox_resolver

    try:
        state = SandboxState.load(sandbox_dir(directory))
        resolver = sandbox_resolver(state)
    except (SandboxStateError, ResolutionError) as error:
        raise OpsctlError(str(error)) from None
    token = token or SigningKey.load(Path(state.key_file)).mint(
        issuer=state.issuer, audience=state.audience, subject="probe"
    )
    return resolver, hostname or state.hostname, token


def _hostname_from_topology(topology_file: Path | None) -> str:
    source = topology_file or _topology_file_from_env()
    if source is None:
        raise InputError(f"no hostname: pass --hostname, --topology or set ${TOPOLOGY_ENV}")
    return load_topology_file(source).record_name.rstrip(".")


app.add_typer(sandbox_app, name="sandbox")


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
    # One name whether run as the console script or `python -m opsctl` (help, completion).
    app(prog_name="opsctl")
