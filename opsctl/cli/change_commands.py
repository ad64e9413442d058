"""The commands that move traffic or break a Region on purpose: failover, fallback (by the
weights or the data-plane lever) and the failure switch. Each builds its plan and says how to
apply it; the plan -> approve -> apply flow is `opsctl.cli.approval`'s."""

from __future__ import annotations

from typing import Annotated

import typer

from opsctl.change.apply import DEFAULT_INSYNC_TIMEOUT
from opsctl.change.audit import AuditLog
from opsctl.change.plan import parse_steps
from opsctl.change.routing import plan_failover_via, plan_fallback_via
from opsctl.change.switch import SwitchResult, apply_switch, plan_switch
from opsctl.cli import plan_view
from opsctl.cli.approval import approval_from_flags, plan_then_apply, shift_traffic
from opsctl.cli.options import (
    AppOption,
    ApproveOption,
    ForceOption,
    JsonOption,
    ProfileOption,
    ReasonOption,
    RoleOption,
    StackOption,
    Target,
    TimeoutOption,
    TopologyOption,
    ViaOption,
    examples,
    number_option,
)
from opsctl.cli.reporting import exit_on_error
from opsctl.model import Approval, Via
from stack_topology import FailureSwitch

commands = typer.Typer()


@commands.command(
    epilog=examples(
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
    via: ViaOption = Via.AUTO,
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
            lambda clients, topo: plan_failover_via(clients, topo, via),
            approval,
            json_output,
            timeout,
        )


@commands.command(
    epilog=examples(
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
    via: ViaOption = Via.AUTO,
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
            lambda clients, topo: plan_fallback_via(clients, topo, shares, via),
            approval,
            json_output,
            timeout,
            interval,
        )


@commands.command(
    epilog=examples(
        "opsctl switch --role primary failing          # plan only, exit 3",
        'opsctl switch --role primary failing --approve --reason "game day"',
        'opsctl switch --role primary healthy --approve --reason "game day over"',
    )
)
def switch(
    value: Annotated[
        FailureSwitch, typer.Argument(help=f"{FailureSwitch.HEALTHY} or {FailureSwitch.FAILING}.")
    ],
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
            already=f"{plan_view.switch_label(plan)} is already {plan.target}",
            show_plan=plan_view.switch_plan_renderable,
            apply=apply,
            show_result=plan_view.switch_result_renderable,
        )
