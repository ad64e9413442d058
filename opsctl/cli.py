"""The `opsctl` command line: thin Typer commands over the core modules.

Each command validates its flags, builds the clients and topology, calls one core function and hands
the dataclass it returns to `opsctl.output`. Errors are OpsctlError subclasses carrying their exit
code (opsctl.errors); `_exit_on_error` turns them into one line on stderr.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from time import sleep
from typing import Annotated

import typer
from rich.live import Live
from rich.text import Text

from opsctl import output
from opsctl.audit import AuditLog
from opsctl.aws import AwsClients
from opsctl.errors import ExitCode, OpsctlError
from opsctl.readiness import DEFAULT_MAX_REPLICATION_LATENCY_MS, assess_readiness
from opsctl.route53 import Weights
from opsctl.sandbox.cli import probe_command, sandbox_app
from opsctl.shift import (
    DEFAULT_INSYNC_TIMEOUT,
    Approval,
    ShiftPlan,
    apply_shift,
    parse_steps,
    plan_failover,
    plan_fallback,
)
from opsctl.status import read_status
from opsctl.switch import apply_switch, plan_switch
from opsctl.topology import (
    Topology,
    discover_topology,
    load_topology_file,
    load_topology_from_stack,
    topology_to_json,
)

TOPOLOGY_ENV = "OPSCTL_TOPOLOGY"


class Role(StrEnum):
    primary = "primary"
    secondary = "secondary"


class SwitchValue(StrEnum):
    healthy = "healthy"
    failing = "failing"


app = typer.Typer(
    name="opsctl",
    help=(
        "Operate the two-Region authorizer: see where traffic goes and move it between the "
        "Regions, only when a human approves. Exit codes: 0 done/nothing to do, 1 error, "
        "2 usage, 3 plan shown (not approved), 4 refused by preflight, 5 records changed "
        "under us."
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
    typer.Option("--timeout", min=1, help="Seconds to wait for the change to reach INSYNC."),
]


@contextmanager
def _exit_on_error() -> Iterator[None]:
    """One line on stderr and the documented exit code; never a traceback."""
    try:
        yield
    except OpsctlError as error:
        output.error(error.message)
        raise typer.Exit(int(error.exit_code)) from None
    except KeyboardInterrupt:
        output.error("interrupted")
        raise typer.Exit(130) from None


def _resolve(
    topology_file: Path | None, stack: str | None, app_name: str | None, profile: str | None
) -> tuple[AwsClients, Topology]:
    clients = AwsClients.from_profile(profile)
    if topology_file is not None:
        return clients, load_topology_file(topology_file)
    if stack is not None:
        return clients, load_topology_from_stack(stack)
    from_env = os.environ.get(TOPOLOGY_ENV)
    if from_env:
        return clients, load_topology_file(Path(from_env))
    return clients, discover_topology(clients.route53(), app_name)


@app.command(
    epilog=(
        "Examples:\n\n"
        "  opsctl status\n\n"
        "  opsctl status --topology topology.json --json\n\n"
        "  opsctl status --watch 5"
    )
)
def status(
    json_output: JsonOption = False,
    watch: Annotated[
        float | None,
        typer.Option("--watch", min=1, help="Refresh every SECONDS until Ctrl-C."),
    ] = None,
    topology: TopologyOption = None,
    stack: StackOption = None,
    app_name: AppOption = None,
    profile: ProfileOption = None,
) -> None:
    """Where traffic goes, and the health, alarm and failure switch of each Region."""
    with _exit_on_error():
        clients, topo = _resolve(topology, stack, app_name, profile)
        if watch is None:
            report = read_status(clients, topo)
            if json_output:
                output.print_json(report.to_json())
            else:
                output.stdout.print(output.status_renderable(report))
            return
        _watch(clients, topo, watch, json_output)


def _watch(clients: AwsClients, topology: Topology, seconds: float, json_output: bool) -> None:
    """Refresh in place (JSON: one line per refresh); a failed refresh is shown, not fatal."""
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
                    live.update(Text(f"opsctl: error: {error.message}", style="bold red"))
                live.refresh()
                sleep(seconds)
    except KeyboardInterrupt:
        return


def _shift(
    plan: ShiftPlan,
    clients: AwsClients,
    topo: Topology,
    json_output: bool,
    timeout: float,
    approval: Approval | None,
    interval: float = 0.0,
) -> None:
    """Shared tail of failover and fallback: show the plan, stop or apply, show the result."""
    target = f"{plan.target_role} ({topo.role(plan.target_role).region})"
    if plan.noop:
        if json_output:
            output.print_json({"plan": plan.to_json(), "result": None})
        output.info(f"all traffic is already on the {target}; nothing to do")
        return
    if json_output:
        if approval is None:
            output.print_json({"plan": plan.to_json(), "result": None})
    else:
        output.stdout.print(output.plan_renderable(plan))
    if plan.preflight is not None:
        for check in plan.preflight.warnings:
            output.warn(f"warning: {check.name}: {check.value} ({check.detail})")
    if approval is None:
        output.info("plan only: nothing changed. Add --approve --reason TEXT to apply it.")
        raise typer.Exit(int(ExitCode.NOT_APPROVED))

    def on_step(index: int, weights: Weights) -> None:
        if len(plan.steps) > 1:
            output.info(f"step {index + 1}/{len(plan.steps)}: {weights}")

    with output.stderr.status(f"changing weights to reach {target}") as spinner:

        def on_poll(state: str, waited: float) -> None:
            spinner.update(f"waiting for Route 53: {state} after {waited:.0f}s")

        result = apply_shift(
            clients,
            topo,
            plan,
            approval,
            AuditLog(),
            interval=interval,
            insync_timeout=timeout,
            on_poll=on_poll,
            on_step=on_step,
        )
    if json_output:
        output.print_json({"plan": plan.to_json(), "result": result.to_json()})
    else:
        output.stdout.print(output.result_renderable(result))
    if result.overridden:
        output.warn(f"--force overrode: {', '.join(result.overridden)} (recorded in the audit)")
    if result.steps:
        total = result.steps[-1].approval_to_insync_seconds
        output.info(f"approval to INSYNC: {total:.1f}s")
    if not result.completed:
        output.error(
            f"stopped on degradation of the {target}: {result.stopped_reason}; "
            f"weights left at the last safe step: {result.final}"
        )
        raise typer.Exit(int(ExitCode.REFUSED))


@app.command(
    epilog=(
        "Examples:\n\n"
        "  opsctl failover                      # plan only, exit 3\n\n"
        '  opsctl failover --approve --reason "INC-123 primary 5xx"\n\n'
        '  opsctl failover --approve --force --reason "INC-123 checkers flapping"'
    )
)
def failover(
    approve: ApproveOption = False,
    reason: ReasonOption = None,
    force: ForceOption = False,
    json_output: JsonOption = False,
    timeout: TimeoutOption = DEFAULT_INSYNC_TIMEOUT,
    topology: TopologyOption = None,
    stack: StackOption = None,
    app_name: AppOption = None,
    profile: ProfileOption = None,
) -> None:
    """Move all traffic to the secondary (one atomic compare-and-swap of the weights)."""
    with _exit_on_error():
        # Built before any AWS call: approval time starts now, and a missing --reason stops here.
        approval = Approval(reason=reason or "", force=force) if approve else None
        clients, topo = _resolve(topology, stack, app_name, profile)
        plan = plan_failover(clients, topo)
        _shift(plan, clients, topo, json_output, timeout, approval)


@app.command(
    epilog=(
        "Examples:\n\n"
        "  opsctl fallback                      # plan only, exit 3\n\n"
        '  opsctl fallback --approve --reason "INC-123 resolved"\n\n'
        "  opsctl fallback --steps 10,50,100 --interval 300 --approve "
        '--reason "INC-123 resolved"'
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
        typer.Option(
            "--interval", min=0, help="Seconds between steps (health re-checked before each)."
        ),
    ] = 0.0,
    json_output: JsonOption = False,
    timeout: TimeoutOption = DEFAULT_INSYNC_TIMEOUT,
    topology: TopologyOption = None,
    stack: StackOption = None,
    app_name: AppOption = None,
    profile: ProfileOption = None,
) -> None:
    """Return traffic to the primary, at once or gradually (--steps), stopping on degradation."""
    with _exit_on_error():
        shares = parse_steps(steps)
        # Built before any AWS call: approval time starts now, and a missing --reason stops here.
        approval = Approval(reason=reason or "", force=force) if approve else None
        clients, topo = _resolve(topology, stack, app_name, profile)
        plan = plan_fallback(clients, topo, shares)
        _shift(plan, clients, topo, json_output, timeout, approval, interval)


RoleOption = Annotated[
    Role,
    typer.Option("--role", help="The Region, by role.", case_sensitive=False),
]


@app.command(
    epilog=(
        "Examples:\n\n"
        "  opsctl readiness                     # can the secondary take all traffic?\n\n"
        "  opsctl readiness --role primary --json"
    )
)
def readiness(
    role: Annotated[
        Role, typer.Option("--role", help="The Region that would take all traffic.")
    ] = Role.secondary,
    max_replication_latency_ms: Annotated[
        float,
        typer.Option("--max-replication-latency-ms", min=0, help="ReplicationLatency limit."),
    ] = DEFAULT_MAX_REPLICATION_LATENCY_MS,
    json_output: JsonOption = False,
    topology: TopologyOption = None,
    stack: StackOption = None,
    app_name: AppOption = None,
    profile: ProfileOption = None,
) -> None:
    """Can a Region take all traffic now? Each check pass / warn / fail; exit 4 if any fails."""
    with _exit_on_error():
        clients, topo = _resolve(topology, stack, app_name, profile)
        report = assess_readiness(
            clients, topo, role.value, max_replication_latency_ms=max_replication_latency_ms
        )
        if json_output:
            output.print_json(report.to_json())
        else:
            output.stdout.print(output.readiness_renderable(report))
        if not report.ready:
            raise typer.Exit(int(ExitCode.REFUSED))


@app.command(
    epilog=(
        "Examples:\n\n"
        "  opsctl switch --role primary failing          # plan only, exit 3\n\n"
        '  opsctl switch --role primary failing --approve --reason "game day"\n\n'
        '  opsctl switch --role primary healthy --approve --reason "game day over"'
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
        approval = Approval(reason=reason or "") if approve else None
        clients, topo = _resolve(topology, stack, app_name, profile)
        plan = plan_switch(clients, topo, role.value, value.value)
        where = f"the {plan.role} ({plan.region}) failure switch {plan.parameter}"
        if plan.noop:
            if json_output:
                output.print_json({"plan": plan.to_json(), "result": None})
            output.info(f"{where} is already {plan.target}; nothing to do")
            return
        if approval is None:
            if json_output:
                output.print_json({"plan": plan.to_json(), "result": None})
            else:
                output.stdout.print(f"{where}: {plan.current} -> {plan.target}", markup=False)
            output.info("plan only: nothing changed. Add --approve --reason TEXT to apply it.")
            raise typer.Exit(int(ExitCode.NOT_APPROVED))
        result = apply_switch(clients, topo, plan, approval, AuditLog())
        assert result is not None  # not a no-op
        if json_output:
            output.print_json({"plan": plan.to_json(), "result": result.to_json()})
        output.info(f"{where}: {plan.current} -> {plan.target} (version {result.version})")


@app.command(
    epilog="Examples:\n\n  opsctl history\n\n  opsctl history --limit 5 --json",
)
def history(
    json_output: JsonOption = False,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Only the newest N records.")
    ] = None,
) -> None:
    """Approved changes from the local audit log (OPSCTL_AUDIT_LOG), oldest first."""
    with _exit_on_error():
        log = AuditLog()
        records = log.read()
        if limit is not None:
            records = records[-limit:]
        if json_output:
            output.print_json([record.to_json() for record in records])
        elif records:
            output.stdout.print(output.history_renderable(records))
        else:
            output.info(f"no approved changes recorded in {log.path}")


@app.command(
    name="topology",
    epilog=(
        "Examples:\n\n"
        "  opsctl topology                       # discover by tags, print JSON\n\n"
        "  opsctl topology --app myapp > topology.json"
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
        _, topo = _resolve(topology, stack, app_name, profile)
        output.print_json(topology_to_json(topo))


app.add_typer(sandbox_app, name="sandbox")
app.command(
    name="probe",
    epilog=(
        "Examples:\n\n"
        "  opsctl probe --sandbox\n\n"
        '  opsctl probe --count 50 --token "$TOKEN" --topology topology.json --json'
    ),
)(probe_command)


def main() -> None:
    app()
