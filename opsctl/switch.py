"""`opsctl switch`: flip a Region's failure switch (the seed's simulated outage), audited.

The switch is the SSM String parameter `/<app>/health/failure-switch` in that Region; the health
function reports the Region unhealthy while it says `failing`, so Route 53's health check, the
alarm and `opsctl status` all follow. Like a weight change it needs --approve and --reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opsctl.audit import AuditLog, AuditRecord, current_actor, now_iso
from opsctl.aws import AwsClients, translate_aws_errors
from opsctl.errors import ConflictError, InputError
from opsctl.shift import Approval
from opsctl.signals import SWITCH_VALUES, read_failure_switch
from opsctl.topology import Topology


@dataclass(frozen=True)
class SwitchPlan:
    role: str
    region: str
    parameter: str
    current: str | None  # None: the parameter does not exist yet
    target: str

    @property
    def noop(self) -> bool:
        return self.current == self.target

    def to_json(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "region": self.region,
            "parameter": self.parameter,
            "current": self.current,
            "target": self.target,
            "noop": self.noop,
        }


@dataclass(frozen=True)
class SwitchResult:
    plan: SwitchPlan
    version: int  # the SSM parameter version written

    def to_json(self) -> dict[str, Any]:
        return {**self.plan.to_json(), "version": self.version}


def plan_switch(clients: AwsClients, topology: Topology, role: str, value: str) -> SwitchPlan:
    if value not in SWITCH_VALUES:
        raise InputError(f"the failure switch is {' or '.join(SWITCH_VALUES)}, not {value!r}")
    region = topology.role(role)
    current = read_failure_switch(clients.client("ssm", region.region), region.failure_switch)
    return SwitchPlan(role, region.region, region.failure_switch, current, value)


def apply_switch(
    clients: AwsClients,
    topology: Topology,
    plan: SwitchPlan,
    approval: Approval,
    audit_log: AuditLog,
) -> SwitchResult | None:
    """Write the switch (None when it already has the value); re-read first: a value changed
    since the plan is a conflict and nothing is written."""
    if plan.noop:
        return None
    audit_log.ensure_writable()  # an unauditable change is not made at all
    actor = current_actor(clients, plan.region)
    ssm = clients.client("ssm", plan.region)
    now = read_failure_switch(ssm, plan.parameter)
    if now != plan.current:
        raise ConflictError(
            f"{plan.parameter} in {plan.region} changed since the plan ({plan.current} -> {now}); "
            "nothing changed"
        )
    with translate_aws_errors(f"writing {plan.parameter} in {plan.region}"):
        version = int(
            ssm.put_parameter(
                Name=plan.parameter, Value=plan.target, Type="String", Overwrite=True
            )["Version"]
        )
    audit_log.append(
        AuditRecord(
            time=now_iso(),
            action="switch",
            app=topology.app,
            actor=actor,
            reason=approval.reason,
            before={plan.role: plan.current},
            after={plan.role: plan.target},
            change_id=f"ssm:{plan.region}:{plan.parameter}@{version}",
            forced=approval.force,
        )
    )
    return SwitchResult(plan, version)
