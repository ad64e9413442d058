"""`opsctl sandbox up | down | env | token | drill`.

Commands are thin: they parse flags and call the sandbox's lifecycle and drill.
The heavy parts (moto, the Pulumi runtime) are imported inside the commands, so `opsctl status`
does not pay for them.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from opsctl.cli import output
from opsctl.cli.options import ReportDirOption, number_option
from opsctl.cli.reporting import exit_on_error
from opsctl.drill.scenario import Scenario
from opsctl.errors import InputError, OpsctlError
from opsctl.sandbox.faults.outage import OutageMode
from opsctl.sandbox.state import (
    SANDBOX_DIR_ENV,
    SandboxState,
    dir_flag,
    sandbox_dir,
)

if TYPE_CHECKING:
    from opsctl.sandbox.supervisor.lifecycle import SandboxStartError
    from opsctl.sandbox.supervisor.processes import SandboxOptions

sandbox_app = typer.Typer(
    name="sandbox",
    help=(
        "Run the whole product on this machine on an embedded AWS emulator (no account needed), "
        "and rehearse a failover on it. State lives in $OPSCTL_SANDBOX_DIR, else ./.sandbox."
    ),
    no_args_is_help=True,
)

DirOption = Annotated[
    Path | None,
    typer.Option(
        "--dir", help=f"Sandbox directory (default: ${SANDBOX_DIR_ENV}, else ./.sandbox)."
    ),
]
TimeScaleOption = Annotated[
    float,
    number_option(
        "--time-scale",
        low=0.001,
        high=1.0,
        help="Multiplies AWS intervals (health checks, alarm periods, INSYNC); 0.1 = 10x faster.",
    ),
]
StackFileOption = Annotated[
    Path | None,
    typer.Option(
        "--stack-file", help="Stack config to provision from (default: Pulumi.primary.yaml)."
    ),
]


def _require_emulator() -> None:
    """The sandbox needs moto (the `sandbox` extra); say how to get it instead of a traceback."""
    try:
        import moto.server  # noqa: F401
    except ImportError:
        raise OpsctlError(
            "the sandbox needs moto: run `make install` in the repository "
            "(or `pip install -e '.[sandbox]'` there)"
        ) from None


def _sandbox_options(
    time_scale: float, stack_file: Path | None, directory: Path | None
) -> SandboxOptions:
    """What `up` and `drill` start from; refuses (exit 2) a stack file that does not exist."""
    _require_emulator()
    from opsctl.sandbox.supervisor.processes import DEFAULT_STACK_FILE, SandboxOptions

    options = SandboxOptions(
        directory=sandbox_dir(directory),
        stack_file=(stack_file or DEFAULT_STACK_FILE).resolve(),
        time_scale=time_scale,
    )
    if not options.stack_file.exists():
        raise InputError(f"stack file {options.stack_file} does not exist")
    return options


def _show_log_tail(error: SandboxStartError) -> None:
    """The supervisor's last log lines when it wrote any (the error line follows)."""
    for line in error.log_tail:
        output.info(f"  {line}")


def _load_state(directory: Path | None) -> SandboxState:
    return SandboxState.load(sandbox_dir(directory))


@sandbox_app.command(
    epilog=(
        "Examples:\n\n  opsctl sandbox up\n\n  opsctl sandbox up --time-scale 0.05\n\n"
        '  eval "$(opsctl sandbox env)" && opsctl status'
    )
)
def up(
    time_scale: TimeScaleOption = 0.1,
    stack_file: StackFileOption = None,
    directory: DirOption = None,
) -> None:
    """Start the sandbox in the background: emulator, provisioning, both Regions, IdP, checkers."""
    with exit_on_error():
        from opsctl.sandbox.supervisor.lifecycle import SandboxStartError, start_background

        options = _sandbox_options(time_scale, stack_file, directory)
        output.info(f"starting the sandbox in {options.directory} ...")
        try:
            state = start_background(options)
        except SandboxStartError as error:
            _show_log_tail(error)
            raise
        table = Table(title="sandbox up", show_header=False)
        table.add_row("shared hostname", state.hostname)
        table.add_row("AWS endpoint", state.endpoint_url)
        for region, address in state.front_addresses.items():
            doors = ", ".join(state.front_doors.get(region, ()))
            table.add_row(f"API front {region}", f"https://{address}; shared name: {doors}")
        table.add_row("JWKS", state.jwks_url)
        table.add_row("topology", state.topology_file)
        table.add_row("log", state.log_file)
        output.stdout.print(table)
        flag = dir_flag(options.directory)
        output.info(
            f'next: eval "$(opsctl sandbox env{flag})"; opsctl status; opsctl probe --sandbox{flag}'
        )


@sandbox_app.command(epilog="Examples:\n\n  opsctl sandbox down")
def down(directory: DirOption = None) -> None:
    """Stop the sandbox: every process it started, every port it opened."""
    with exit_on_error():
        from opsctl.sandbox.supervisor.lifecycle import stop_background

        report = stop_background(sandbox_dir(directory))
        if report.stale_state_removed:
            output.info(
                "the sandbox here had already stopped (stale state removed); nothing to stop"
            )
            return
        if not report.stopped:
            output.info("no sandbox is running here; nothing to stop")
            return
        if report.leftover_pids:
            raise OpsctlError(f"sandbox processes {report.leftover_pids} survived SIGKILL")
        if report.leftover_addresses:
            raise OpsctlError(
                f"sandbox stopped, but {', '.join(report.leftover_addresses)} still answer"
            )
        output.info("sandbox stopped; no process or port left")


RegionArgument = Annotated[str, typer.Argument(help="A sandbox Region, e.g. us-east-1.")]


@sandbox_app.command(
    epilog=(
        "Examples:\n\n  opsctl sandbox outage us-east-1\n\n"
        "  opsctl sandbox outage us-east-1 --mode hang"
    )
)
def outage(
    region: RegionArgument,
    mode: Annotated[
        OutageMode,
        typer.Option(
            "--mode",
            help="refuse: connections are refused; hang: accepted and never answered.",
        ),
    ] = OutageMode.REFUSE,
    directory: DirOption = None,
) -> None:
    """Take a Region out: its API front and every AWS API call signed for it stop answering,
    replication into and out of it stops. Route 53's health checks and DNS keep working."""
    with exit_on_error():
        from opsctl.sandbox.faults.outage import outage as take_out

        state = _load_state(directory)
        out = take_out(state, region, mode)
        output.info(
            f"{region} is out ({out[region].value}); "
            f"`opsctl sandbox restore {region}{dir_flag(sandbox_dir(directory))}` ends it"
        )


@sandbox_app.command(epilog="Examples:\n\n  opsctl sandbox restore us-east-1")
def restore(region: RegionArgument, directory: DirOption = None) -> None:
    """Bring a Region back: its front serves again and replication catches up."""
    with exit_on_error():
        from opsctl.sandbox.faults.outage import restore as bring_back

        state = _load_state(directory)
        still_out = bring_back(state, region)
        remaining = ", ".join(sorted(still_out)) or "none"
        output.info(f"{region} is in; Regions still out: {remaining}")


@sandbox_app.command(
    epilog="Examples:\n\n  opsctl sandbox status\n\n  opsctl sandbox status --json"
)
def status(
    directory: DirOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Show the running sandbox: each Region's front and whether it is out, the endpoints."""
    with exit_on_error():
        from opsctl.sandbox.faults.outage import regions_out

        state = _load_state(directory)
        out = regions_out(state)
        regions = [
            {
                "region": region,
                "front": state.front_addresses.get(region, ""),
                "out": region in out,
                "mode": out[region].value if region in out else None,
            }
            for region in state.front_addresses
        ]
        if json_output:
            output.print_json(
                {
                    "hostname": state.hostname,
                    "endpointUrl": state.endpoint_url,
                    "dns": state.dns or None,
                    "regions": regions,
                }
            )
            return
        table = Table(title=f"sandbox {state.hostname}")
        table.add_column("Region")
        table.add_column("API front")
        table.add_column("state")
        for row in regions:
            shown = f"OUT ({row['mode']})" if row["out"] else "in"
            table.add_row(str(row["region"]), str(row["front"]), shown)
        output.stdout.print(table)
        output.info(f"AWS endpoint {state.endpoint_url}; DNS {state.dns or '-'}")


@sandbox_app.command(epilog='Examples:\n\n  eval "$(opsctl sandbox env)"')
def env(directory: DirOption = None) -> None:
    """Print `export` lines that point opsctl and the AWS CLI at the running sandbox."""
    with exit_on_error():
        state = _load_state(directory)
        for key, value in state.environment().items():
            print(f"export {key}={shlex.quote(value)}")


@sandbox_app.command(
    epilog=(
        "Examples:\n\n"
        "  opsctl sandbox token\n\n"
        '  opsctl probe --sandbox --token "$(opsctl sandbox token --subject ada)"'
    )
)
def token(
    subject: Annotated[
        str, typer.Option("--subject", help="The player (`sub` claim).")
    ] = "player-1",
    ttl: Annotated[
        int, number_option("--ttl", low=60, high=86_400, help="Lifetime in seconds.")
    ] = 3600,
    directory: DirOption = None,
) -> None:
    """Print a token signed by the sandbox's identity provider (stdout, nothing else)."""
    with exit_on_error():
        from opsctl.sandbox.idp import SigningKey

        state = _load_state(directory)
        key = SigningKey.load(Path(state.key_file))
        print(
            key.mint(issuer=state.issuer, audience=state.audience, subject=subject, ttl_seconds=ttl)
        )


@sandbox_app.command(
    epilog=(
        "Examples:\n\n  opsctl sandbox drill\n\n"
        "  opsctl sandbox drill --scenario region-outage\n\n  make demo"
    )
)
def drill(
    scenario: Annotated[
        Scenario,
        typer.Option(
            "--scenario",
            help=(
                "switch: the primary's failure switch breaks it (the rest of its Region runs); "
                "region-outage: the primary Region is lost as a whole (Route 53's control plane "
                "with it) and the data-plane lever recovers."
            ),
        ),
    ] = Scenario.SWITCH,
    time_scale: TimeScaleOption = 0.05,
    stack_file: StackFileOption = None,
    directory: DirOption = None,
    report_dir: ReportDirOption = None,
) -> None:
    """Rehearse a failover end to end on a fresh sandbox while players play (`opsctl drill`'s
    run, on the sandbox's topology); print the timeline and the measurements, write the report,
    tear down. Exit 1 when a check fails."""
    with exit_on_error():
        from opsctl.drill.runner import conclude
        from opsctl.sandbox.rehearsal import run_sandbox_drill
        from opsctl.sandbox.supervisor.lifecycle import SandboxStartError

        options = _sandbox_options(time_scale, stack_file, directory)
        try:
            run, files = run_sandbox_drill(options, scenario, report_dir)
        except SandboxStartError as error:
            _show_log_tail(error)
            raise
        except KeyboardInterrupt as interrupt:
            interrupt.add_note("the sandbox was torn down")
            raise
        code = conclude(run, files)
        if code:
            raise typer.Exit(code)


@sandbox_app.command(epilog="Examples:\n\n  opsctl sandbox demo\n\n  make demo")
def demo(
    time_scale: TimeScaleOption = 0.05,
    stack_file: StackFileOption = None,
    directory: DirOption = None,
) -> None:
    """Run every drill scenario at once, each on a fresh sandbox in its own subdirectory, and
    print their reports one after the other. Exit 1 when any drill fails."""
    with exit_on_error():
        from opsctl.sandbox.demo import demo_summary, run_demo

        options = _sandbox_options(time_scale, stack_file, directory)
        try:
            runs = run_demo(options.directory / "demo", options.time_scale, options.stack_file)
        except KeyboardInterrupt as interrupt:
            interrupt.add_note("every drill tore its sandbox down")
            raise
        # The last lines on stdout: both drills' verdicts, failures and reports.
        output.stdout.print(demo_summary(runs))
        if not all(run.passed for run in runs):
            verdicts = ", ".join(f"{run.scenario} {run.verdict()}" for run in runs)
            raise OpsctlError(f"demo: {verdicts}")
