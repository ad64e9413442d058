"""The data-plane lever: make the standby take over without Route 53's control plane.

The primary's weighted record carries a health check that follows an alarm in the secondary
Region. Engaging the lever publishes a datapoint there; the alarm goes to ALARM, the health check
turns unhealthy, and Route 53's DNS answers (data plane) send every new client to the secondary,
whatever the weights say. Nothing on that path runs in us-east-1.

`Lever` is the small interface the failover and fallback flows use; `CloudWatchAlarmLever` is
the one kind today (an ARC routing control would be another).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from opsctl.aws import AwsClients, translate_aws_errors
from opsctl.errors import TopologyError
from opsctl.read.lever_state import (
    CLOUDWATCH_ALARM_LEVER,
    LeverState,
    lever_dimensions,
    minute_of,
    newest_lever_datapoint,
    read_lever_state,
)
from opsctl.read.signals import iso_time
from stack_topology import OutOfService, Topology

# The audit log's `step` of a lever change (its before/after are {"lever": a LeverPosition}).
LEVER_STEP = "lever"


class Lever(Protocol):
    """A way to take the primary out of DNS answers using only data-plane calls."""

    @property
    def kind(self) -> str: ...

    @property
    def region(self) -> str:
        """The Region whose API the lever's calls go to."""
        ...

    @property
    def description(self) -> str: ...

    def read_state(self) -> LeverState: ...

    def engage(self) -> str:
        """Pull the lever; returns an id of the action for the audit."""
        ...

    def seconds_until_release_counts(self) -> float:
        """How long a release must wait before it can take effect (0: it can now)."""
        ...

    def release(self) -> str:
        """Let go; returns an id of the action for the audit."""
        ...


class CloudWatchAlarmLever:
    """PutMetricData 1 / 0 on the lever metric in the secondary Region; its alarm (Maximum over
    60 s, >= 1, missing data ignored) fails the primary's CLOUDWATCH_METRIC health check."""

    kind = CLOUDWATCH_ALARM_LEVER

    def __init__(self, cloudwatch: Any, lever: OutOfService, now: Any = None) -> None:
        self._cloudwatch = cloudwatch
        self._lever = lever
        self._now = now or (lambda: datetime.now(UTC))

    @property
    def region(self) -> str:
        return self._lever.region

    @property
    def description(self) -> str:
        return f"alarm {self._lever.alarm_name} in {self._lever.region}"

    def _publish(self, value: float, moment: datetime) -> str:
        with translate_aws_errors(
            f"publishing {self._lever.metric_name}={value:g} in {self._lever.region}"
        ):
            self._cloudwatch.put_metric_data(
                Namespace=self._lever.namespace,
                MetricData=[
                    {
                        "MetricName": self._lever.metric_name,
                        "Dimensions": lever_dimensions(self._lever),
                        "Timestamp": moment,
                        "Value": value,
                        # Route 53 only takes alarms on standard-resolution metrics.
                        "StorageResolution": 60,
                    }
                ],
            )
        lever = self._lever
        return f"cloudwatch:{lever.region}:{lever.metric_name}={value:g}@{iso_time(moment)}"

    def read_state(self) -> LeverState:
        return read_lever_state(self._cloudwatch, self._lever, self._now())

    def engage(self) -> str:
        return self._publish(1.0, self._now())

    def seconds_until_release_counts(self) -> float:
        """The alarm takes each minute's Maximum, so a 0 in the minute of a 1 changes nothing:
        a release made in the minute of the newest engage must wait for the next minute."""
        now = self._now()
        newest = newest_lever_datapoint(self._cloudwatch, self._lever, now)
        if newest is not None and newest[1] >= 1 and newest[0] >= minute_of(now):
            return (minute_of(now) + timedelta(minutes=1) - now).total_seconds()
        return 0.0

    def release(self) -> str:
        return self._publish(0.0, self._now())


def lever_for(clients: AwsClients, topology: Topology) -> CloudWatchAlarmLever | None:
    """The topology's lever, or None when its stack has none (an older topology)."""
    lever = topology.out_of_service
    if lever is None:
        return None
    return CloudWatchAlarmLever(clients.client("cloudwatch", lever.region), lever)


def require_lever(clients: AwsClients, topology: Topology) -> CloudWatchAlarmLever:
    lever = lever_for(clients, topology)
    if lever is None:
        raise TopologyError(
            "the topology has no outOfService lever (deploy the stack's data-plane lever and "
            "use its topology output)"
        )
    return lever
