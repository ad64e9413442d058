"""`opsctl drill`: rehearse failover and fallback on the stack in use (or the running sandbox)
while players play through DNS. The drill's modules are imported when it runs, so the other
commands do not pay for them."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from opsctl.change.audit import AuditLog
from opsctl.change.plan import parse_steps
from opsctl.cli import output
from opsctl.cli.approval import approval_from_flags
from opsctl.cli.options import (
    AppOption,
    ApproveOption,
    ProfileOption,
    ReasonOption,
    ReportDirOption,
    StackOption,
    Target,
    TopologyOption,
    examples,
    number_option,
)
from opsctl.cli.reporting import exit_on_error
from opsctl.drill.scenario import Scenario
from opsctl.errors import ExitCode, InputError, OpsctlError
from opsctl.model import Approval
from opsctl.read.probe import Resolver
from opsctl.sandbox.cli import DirOption

if TYPE_CHECKING:
    from opsctl.drill.model import DrillTarget

commands = typer.Typer()


class DrillDns(StrEnum):
    system = "system"
    authoritative = "authoritative"


@commands.command(
    name="drill",
    epilog=examples(
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
