"""`opsctl switch`: flip a Region's failure switch (a simulated health outage), audited.

The switch is the SSM String parameter `/<app>/health/failure-switch` in that Region; the health
function reports the Region unhealthy while it says `failing`, so Route 53's health check, the
alarm and `opsctl status` all follow. Like a weight change it needs --approve and --reason.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from opsctl.aws import AwsClients, translate_aws_errors
from opsctl.change.audit import AuditLog, AuditWriteError, current_actor
from opsctl.change.audit_record import AuditRecord
from opsctl.errors import AwsError, ConflictError, InputError, OpsctlError
from opsctl.model import Approval, ChangeAction
from opsctl.read.signals import read_failure_switch, read_failure_switch_version
from stack_topology import FailureSwitch, Topology


@dataclass(frozen=True)
class SwitchPlan:
    role: str
    region: str
    parameter: str
    current: str | None  # None: the parameter does not exist yet
    target: FailureSwitch

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

    @property
    def summary(self) -> str:
        """What was applied, in one line."""
        plan = self.plan
        return f"{plan.parameter} in {plan.region} set to {plan.target} (version {self.version})"

    def to_json(self) -> dict[str, Any]:
        return {**self.plan.to_json(), "version": self.version}


def plan_switch(clients: AwsClients, topology: Topology, role: str, value: str) -> SwitchPlan:
    if value not in tuple(FailureSwitch):
        raise InputError(f"the failure switch is {' or '.join(FailureSwitch)}, not {value!r}")
    region = topology.role(role)
    current = read_failure_switch(clients.client("ssm", region.region), region.failure_switch)
    return SwitchPlan(
        role=role,
        region=region.region,
        parameter=region.failure_switch,
        current=current,
        target=FailureSwitch(value),
    )


def apply_switch(
    clients: AwsClients,
    topology: Topology,
    plan: SwitchPlan,
    approval: Approval,
    audit_log: AuditLog,
) -> SwitchResult | None:
    """Write the switch (None when it already has the value); re-read first: a value changed
    since the plan is a conflict and nothing is written. SSM has no conditional write, so the
    version PutParameter returns is the compare-and-swap: anything but the version read + 1
    means another writer came in between (ConflictError, exit 5, audited as what happened)."""
    if plan.noop:
        return None
    audit_log.ensure_writable()  # an unauditable change is not made at all
    actor = current_actor(clients, plan.region)
    ssm = clients.client("ssm", plan.region)
    read = read_failure_switch_version(ssm, plan.parameter)
    if read.value != plan.current:
        raise ConflictError(
            f"{plan.parameter} in {plan.region} changed since the plan ({plan.current} -> "
            f"{read.value}); nothing changed"
        )
    intent = AuditRecord.intent(
        action=ChangeAction.SWITCH,
        app=topology.app,
        actor=actor,
        reason=approval.reason,
        before={plan.role: plan.current},
        after={plan.role: plan.target},
        read=[{"parameter": plan.parameter, "region": plan.region, **asdict(read)}],
        forced=approval.force,
        drill=approval.drill_id,
    )
    try:
        audit_log.append(intent)
    except AuditWriteError as error:
        raise AuditWriteError(f"{error.message}; nothing changed") from None
    # No SDK retries: a resent put whose first answer was lost writes a second version, which
    # would read as someone else's write.
    writer = clients.client("ssm", plan.region, sdk_retries=False)
    try:
        with translate_aws_errors(f"writing {plan.parameter} in {plan.region}"):
            version = int(
                writer.put_parameter(
                    Name=plan.parameter, Value=plan.target, Type="String", Overwrite=True
                )["Version"]
            )
    except AwsError as failure:
        audit_log.record_outcome(
            intent.outcome(applied=_written_after(ssm, plan, read.version), detail=failure.message),
            failure,
        )
        raise
    change_id = f"ssm:{plan.region}:{plan.parameter}@{version}"
    if version != read.version + 1:
        replaced = _value_of_version(ssm, plan.parameter, version - 1)
        conflict = ConflictError(
            f"another writer changed {plan.parameter} in {plan.region} between our read "
            f"(version {read.version}) and our write (version {version}): {plan.target} was "
            f"written over {replaced or 'an unknown value'}, not over {plan.current} (audited "
            "as such). Run `opsctl status`"
        )
        audit_log.record_outcome(
            intent.outcome(
                applied=True,
                change_id=change_id,
                before={plan.role: replaced},
                detail=conflict.message,
            ),
            conflict,
        )
        raise conflict
    audit_log.record_outcome(intent.outcome(applied=True, change_id=change_id))
    return SwitchResult(plan, version)


def _written_after(ssm: Any, plan: SwitchPlan, version_read: int) -> bool | None:
    """After a failed put: False when the parameter is still at the version read, else None
    (a newer version may be ours or another writer's)."""
    try:
        return (
            None
            if read_failure_switch_version(ssm, plan.parameter).version != version_read
            else False
        )
    except OpsctlError:
        return None


def _value_of_version(ssm: Any, parameter: str, version: int) -> str | None:
    """The value a parameter had at `version`; None when that cannot be read."""
    try:
        return read_failure_switch_version(ssm, f"{parameter}:{version}").value
    except OpsctlError:
        return None
