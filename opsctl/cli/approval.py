"""The one plan -> approve -> apply flow of the change commands (failover, fallback, switch), as
the operator sees it: the plan, the warnings, exit 3 without approval, the result and the times.

Each command only builds its plan and says how to apply it (`plan_then_apply`); failover and
fallback share `shift_traffic`, which also carries out a plan by the data-plane lever.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

import typer
from rich.console import RenderableType

from opsctl.aws import AwsClients
from opsctl.change.apply import ShiftOptions, ShiftResult, apply_shift
from opsctl.change.audit import AuditLog
from opsctl.change.lever_apply import apply_lever
from opsctl.change.lever_plan import LeverPlan, LeverResult
from opsctl.change.plan import ShiftPlan
from opsctl.cli import output, plan_view
from opsctl.cli.options import Target
from opsctl.errors import ExitCode, PreflightRefused
from opsctl.model import Approval, LeverAction, Weights
from opsctl.read.readiness_report import ReadinessReport
from stack_topology import Topology


def approval_from_flags(approve: bool, reason: str | None, force: bool = False) -> Approval | None:
    """Built before any AWS call: the approval time starts now, and a missing --reason stops
    here (exit 2)."""
    return Approval(reason=reason or "", force=force) if approve else None


class _Plan(Protocol):
    @property
    def noop(self) -> bool: ...

    def to_json(self) -> dict[str, Any]: ...


class _Result(Protocol):
    @property
    def summary(self) -> str:
        """What was applied, in one line (named when the result cannot be shown)."""
        ...

    def to_json(self) -> dict[str, Any]: ...


PlanT = TypeVar("PlanT", bound=_Plan)
ResultT = TypeVar("ResultT", bound=_Result)


def plan_then_apply(
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
    if json_output:  # otherwise the plan's preflight table above shows each one already
        for warning in warnings:
            output.warn(f"warning: {warning}")
    if approval is None:
        output.info("plan only: nothing changed. Add --approve --reason TEXT to apply it.")
        raise typer.Exit(int(ExitCode.NOT_APPROVED))
    result = apply(approval)
    try:
        if json_output:
            output.print_json({"plan": plan.to_json(), "result": result.to_json()})
        else:
            output.stdout.print(show_result(result))
    except BrokenPipeError as closed:
        closed.add_note(f"the change was applied: {result.summary}")
        raise
    return result


def _interval(plan: ShiftPlan | None, asked: float | None, approval: Approval | None) -> float:
    """--interval, else the dwell the plan's health gate needs; a shorter one is refused before
    anything changes, unless forced."""
    dwell = plan.dwell if plan is not None else 0.0
    if asked is None:
        return dwell
    if plan is not None and asked < dwell:
        short = (
            f"--interval {asked:g}s is shorter than the {dwell:g}s the health gate needs to see "
            f"a step ({plan.dwell_basis})"
        )
        if approval is None:
            output.warn(f"warning: {short}; --approve refuses it without --force")
        elif not approval.force:
            raise PreflightRefused(f"{short}; nothing changed (--force overrides)")
        else:
            output.warn(f"--force overrode: {short}")
    return asked


def _preflight_warnings(preflight: ReadinessReport | None) -> list[str]:
    return [f"{c.name}: {c.value} ({c.detail})" for c in preflight.warnings] if preflight else []


def shift_traffic(
    target: Target,
    plan_for: Callable[[AwsClients, Topology], ShiftPlan | LeverPlan],
    approval: Approval | None,
    json_output: bool,
    timeout: float,
    interval: float | None = None,
) -> None:
    """failover and fallback: plan (weights or lever), then the shared flow, then the messages.
    `interval` between steps: None for the dwell the plan's health gate needs."""
    clients, topo = target.resolve()
    plan = plan_for(clients, topo)
    interval = _interval(plan if isinstance(plan, ShiftPlan) else plan.then, interval, approval)
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

    result = plan_then_apply(
        plan,
        approval,
        json_output,
        already=f"all traffic is already on the {destination}",
        show_plan=plan_view.plan_renderable,
        apply=apply,
        show_result=plan_view.result_renderable,
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

    result = plan_then_apply(
        plan,
        approval,
        json_output,
        already=plan.noop_reason or "",
        show_plan=plan_view.lever_plan_renderable,
        apply=apply,
        show_result=plan_view.lever_result_renderable,
        warnings=_preflight_warnings(plan.preflight),
    )
    if result is None:
        return
    if result.overridden:
        output.warn(f"--force overrode: {', '.join(result.overridden)} (recorded in the audit)")
    engage = result.lever_action == LeverAction.ENGAGE
    output.info(
        f"approval to lever {result.lever_action.position}: {result.approval_to_lever_seconds:.1f}s"
    )
    output.info(
        f"approval to alarm {'ALARM' if engage else 'OK'}: {result.approval_to_alarm_seconds:.1f}s"
    )
    if result.approval_to_dns_seconds is not None:
        output.info(f"approval to DNS answers: {result.approval_to_dns_seconds:.1f}s")
    if result.then is not None:
        _report_shift(result.then, destination)
