"""What a drill checks before it changes anything, and the marker it holds while it runs.

Steady state: the primary serves at 100/0, both Regions healthy with their alarms OK, the lever
released, and no other drill running. The marker is an SSM parameter in the secondary Region
(`/<app>/opsctl/drill-running`): created without overwrite (SSM refuses a second create, so two
drills cannot both take it), holding the drill id, who started it and until when it may run;
deleted when the drill ends. A marker past its time (a drill killed without cleaning up) is taken
over, and the drill says so.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from opsctl.aws import AwsClients, client_error_code, translate_aws_errors
from opsctl.errors import PreflightRefused
from opsctl.model import LeverPosition, Weights
from opsctl.read.status_report import StatusReport
from stack_topology import FailureSwitch, Topology

# A marker outlives its drill's --max-duration by this before another drill may take it over.
MARKER_GRACE_SECONDS = 600.0


def steady_state_problems(status: StatusReport) -> list[str]:
    """What keeps the stack from being in steady state; empty when a drill may start."""
    problems = []
    if status.weights != Weights.all_on("primary"):
        problems.append(f"weights are {status.weights or 'unreadable'}, not primary 100 / 0")
    for region in status.regions:
        if region.healthy is not True or region.alarm != "OK":
            problems.append(
                f"{region.role} ({region.region}) is {region.health} with its alarm "
                f"{region.alarm or 'unreadable'}"
            )
        if region.failure_switch not in (None, FailureSwitch.HEALTHY):
            problems.append(f"{region.role}'s failure switch is {region.failure_switch}")
    lever = status.lever
    if lever is not None and (lever.state == LeverPosition.ENGAGED or lever.alarm == "ALARM"):
        problems.append(f"the data-plane lever is {lever.state} (its alarm {lever.alarm})")
    if status.partial:
        problems.append(f"unreadable: {', '.join(status.partial)}")
    return problems


@dataclass(frozen=True)
class MarkerHolder:
    drill_id: str
    actor: str
    started: str  # ISO time
    expires: float  # epoch seconds

    def to_json(self) -> dict[str, Any]:
        return {
            "drillId": self.drill_id,
            "actor": self.actor,
            "started": self.started,
            "expires": self.expires,
        }

    @classmethod
    def from_json(cls, text: str) -> MarkerHolder:
        try:
            raw = json.loads(text)
            return cls(
                str(raw["drillId"]), str(raw["actor"]), str(raw["started"]), float(raw["expires"])
            )
        except (ValueError, KeyError, TypeError):
            return cls("unknown", "unknown", "unknown", 0.0)  # unreadable: taken over as stale


class DrillMarker:
    """The SSM parameter that says a drill is running (see the module docstring)."""

    def __init__(self, clients: AwsClients, topology: Topology) -> None:
        self.name = topology.names.drill_marker_parameter
        self.region = topology.secondary.region
        self._ssm = clients.client("ssm", self.region)

    def holder(self) -> MarkerHolder | None:
        with translate_aws_errors(f"reading the drill marker {self.name} in {self.region}"):
            try:
                value = self._ssm.get_parameter(Name=self.name)["Parameter"]["Value"]
            except ClientError as error:
                if client_error_code(error) == "ParameterNotFound":
                    return None
                raise
        return MarkerHolder.from_json(str(value))

    def refuse_if_held(self, now: float | None = None) -> MarkerHolder | None:
        """PreflightRefused when a drill holds the marker; the stale holder when one is past its
        time (the caller says it takes it over), else None."""
        holder = self.holder()
        if holder is None:
            return None
        if holder.expires > (time.time() if now is None else now):
            raise PreflightRefused(
                f"drill {holder.drill_id} is running (started {holder.started} by "
                f"{holder.actor}; marker {self.name} in {self.region})"
            )
        return holder

    def acquire(self, drill_id: str, actor: str, max_seconds: float) -> MarkerHolder | None:
        """Take the marker for `drill_id`; PreflightRefused when another drill holds it. Returns
        the stale holder taken over, if any."""
        stale = self.refuse_if_held()
        holder = MarkerHolder(
            drill_id,
            actor,
            datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            time.time() + max_seconds + MARKER_GRACE_SECONDS,
        )
        with translate_aws_errors(f"writing the drill marker {self.name} in {self.region}"):
            try:
                self._ssm.put_parameter(
                    Name=self.name,
                    Value=json.dumps(holder.to_json()),
                    Type="String",
                    Overwrite=stale is not None,
                )
            except ClientError as error:
                if client_error_code(error) != "ParameterAlreadyExists":
                    raise
                raise PreflightRefused(
                    f"another drill took the marker {self.name} in {self.region} just now"
                ) from None
        return stale

    def release(self, drill_id: str) -> None:
        """Delete the marker if this drill still holds it."""
        holder = self.holder()
        if holder is None or holder.drill_id != drill_id:
            return
        with translate_aws_errors(f"deleting the drill marker {self.name} in {self.region}"):
            try:
                self._ssm.delete_parameter(Name=self.name)
            except ClientError as error:
                if client_error_code(error) != "ParameterNotFound":
                    raise
