"""The data-plane lever: make the standby take over without Route 53's control plane.

The primary's weighted record carries a health check that follows an alarm in the secondary
Region. Engaging the lever publishes a datapoint there; the alarm goes to ALARM, the health check
turns unhealthy, and Route 53's DNS answers (data plane) send every new client to the secondary,
whatever the weights say. Nothing on that path runs in us-east-1.

`Lever` is the small interface the failover and fallback flows use; `CloudWatchAlarmLever` is
the one kind today (an ARC routing control would be another).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from opsctl.aws import AwsClients, translate_aws_errors
from opsctl.errors import TopologyError
from opsctl.model import LeverPosition
from opsctl.read.signals import iso_time, read_alarms
from stack_topology import OutOfService, Topology

# The audit log's `step` of a lever change (its before/after are {"lever": a LeverPosition}).
LEVER_STEP = "lever"
# How far back the lever's newest datapoint is looked for: the alarm latches (missing data is
# ignored), so an older engage or release shows in the alarm's state instead.
LEVER_LOOKBACK = timedelta(minutes=10)
# The lever metric's period: the alarm takes the Maximum per minute.
LEVER_PERIOD = 60


@dataclass(frozen=True)
class LeverState:
    """What the lever says now: the operator's last action and the alarm that carries it out."""

    kind: str
    state: LeverPosition
    # ISO 8601: when the last action took effect (the alarm's state change); until the alarm
    # follows, the minute of the action's datapoint
    since: str | None
    alarm: str | None  # OK | ALARM | INSUFFICIENT_DATA; None: missing or unreadable
    detail: str = ""  # why unknown, or that the alarm has not followed yet

    @property
    def in_effect(self) -> bool:
        """The alarm agrees with the last action (DNS follows the alarm, not the datapoint)."""
        return (self.state == LeverPosition.ENGAGED) == (self.alarm == "ALARM")

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "state": self.state,
            "since": self.since,
            "alarm": self.alarm,
            "detail": self.detail,
        }


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


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


class CloudWatchAlarmLever:
    """PutMetricData 1 / 0 on the lever metric in the secondary Region; its alarm (Maximum over
    60 s, >= 1, missing data ignored) fails the primary's CLOUDWATCH_METRIC health check."""

    kind = "cloudwatch-alarm"

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

    def _dimensions(self) -> list[dict[str, str]]:
        return [{"Name": key, "Value": value} for key, value in self._lever.dimensions.items()]

    def _publish(self, value: float, moment: datetime) -> str:
        with translate_aws_errors(
            f"publishing {self._lever.metric_name}={value:g} in {self._lever.region}"
        ):
            self._cloudwatch.put_metric_data(
                Namespace=self._lever.namespace,
                MetricData=[
                    {
                        "MetricName": self._lever.metric_name,
                        "Dimensions": self._dimensions(),
                        "Timestamp": moment,
                        "Value": value,
                        # Route 53 only takes alarms on standard-resolution metrics.
                        "StorageResolution": 60,
                    }
                ],
            )
        lever = self._lever
        return f"cloudwatch:{lever.region}:{lever.metric_name}={value:g}@{iso_time(moment)}"

    def _newest_datapoint(self) -> tuple[datetime, float] | None:
        """The newest minute's Maximum within LEVER_LOOKBACK, with its minute."""
        end = _minute(self._now()) + timedelta(minutes=1)
        with translate_aws_errors(f"reading {self._lever.metric_name} in {self._lever.region}"):
            response = self._cloudwatch.get_metric_data(
                MetricDataQueries=[
                    {
                        "Id": "lever",
                        "MetricStat": {
                            "Metric": {
                                "Namespace": self._lever.namespace,
                                "MetricName": self._lever.metric_name,
                                "Dimensions": self._dimensions(),
                            },
                            "Period": LEVER_PERIOD,
                            "Stat": "Maximum",
                        },
                    }
                ],
                StartTime=end - LEVER_LOOKBACK,
                EndTime=end,
                ScanBy="TimestampDescending",
            )
        result = response["MetricDataResults"][0]
        pairs = sorted(zip(result.get("Timestamps", []), result.get("Values", []), strict=False))
        if not pairs:
            return None
        moment, value = pairs[-1]
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)), float(value)

    def read_state(self) -> LeverState:
        alarm = read_alarms(self._cloudwatch, [self._lever.alarm_name])[self._lever.alarm_name]
        if alarm.state is None:
            return LeverState(
                kind=self.kind,
                state=LeverPosition.UNKNOWN,
                since=None,
                alarm=None,
                detail=f"alarm {self._lever.alarm_name} not found",
            )
        newest = self._newest_datapoint()
        # Nothing published lately: the latched alarm holds the last action.
        engaged = alarm.state == "ALARM" if newest is None else newest[1] >= 1
        state = LeverPosition.ENGAGED if engaged else LeverPosition.RELEASED
        # Since when: the alarm's state change, the moment the last action took effect.
        lever = LeverState(kind=self.kind, state=state, since=alarm.since, alarm=alarm.state)
        if not lever.in_effect:
            # Published, not followed yet: the datapoint's minute (CloudWatch keeps no finer).
            return replace(
                lever,
                since=iso_time(newest[0]) if newest is not None else lever.since,
                detail=f"the alarm is {alarm.state}: not in effect yet (it evaluates each minute)",
            )
        return lever

    def engage(self) -> str:
        return self._publish(1.0, self._now())

    def seconds_until_release_counts(self) -> float:
        """The alarm takes each minute's Maximum, so a 0 in the minute of a 1 changes nothing:
        a release made in the minute of the newest engage must wait for the next minute."""
        newest = self._newest_datapoint()
        now = self._now()
        if newest is not None and newest[1] >= 1 and newest[0] >= _minute(now):
            return (_minute(now) + timedelta(minutes=1) - now).total_seconds()
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
