"""The commands over the tokens the authorizers deny: revoke one (audited like a failover) and
list the revoked ones."""

from __future__ import annotations

from typing import Annotated

import typer

from opsctl.change.audit import AuditLog
from opsctl.change.revocation import (
    apply_revoke,
    check_jti,
    list_revocations,
    parse_until,
    plan_revoke,
)
from opsctl.cli import output, plan_view
from opsctl.cli.approval import approval_from_flags, plan_then_apply
from opsctl.cli.options import (
    AppOption,
    ApproveOption,
    JsonOption,
    ProfileOption,
    ReasonOption,
    StackOption,
    Target,
    TopologyOption,
    examples,
)
from opsctl.cli.reporting import exit_on_error
from stack_topology import Role

commands = typer.Typer()


@commands.command(
    epilog=examples(
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
            already=plan_view.revoke_already(plan),
            show_plan=plan_view.revoke_plan_renderable,
            apply=lambda approved: apply_revoke(clients, topo, plan, approved, AuditLog()),
            show_result=plan_view.revoke_result_renderable,
        )


@commands.command(
    epilog=examples("opsctl revocations", "opsctl revocations --role secondary --json")
)
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
        output.emit(json_output, listed.to_json(), plan_view.revocations_renderable(listed))
