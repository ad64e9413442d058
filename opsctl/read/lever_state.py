"""The data-plane lever as read: the operator's last action on it (the newest datapoint of the
lever metric in the secondary Region) and the alarm that carries it out, since when.

`opsctl.change.lever` pulls and releases it; reading it changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from opsctl.aws import translate_aws_errors
from opsctl.model import LeverPosition
from opsctl.read.signals import iso_time, read_alarms
from stack_topology import OutOfService

# The one kind of lever today: a CloudWatch alarm that fails the primary's health check.
CLOUDWATCH_ALARM_LEVER = "cloudwatch-alarm"
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


def minute_of(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def lever_dimensions(lever: OutOfService) -> list[dict[str, str]]:
    return [{"Name": key, "Value": value} for key, value in lever.dimensions.items()]


def newest_lever_datapoint(
    cloudwatch: Any, lever: OutOfService, now: datetime
) -> tuple[datetime, float] | None:
    """The newest minute's Maximum within LEVER_LOOKBACK, with its minute."""
    end = minute_of(now) + timedelta(minutes=1)
    with translate_aws_errors(f"reading {lever.metric_name} in {lever.region}"):
        response = cloudwatch.get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "lever",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": lever.namespace,
                            "MetricName": lever.metric_name,
                            "Dimensions": lever_dimensions(lever),
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


def read_lever_state(cloudwatch: Any, lever: OutOfService, now: datetime) -> LeverState:
    """The lever's position (its newest datapoint, else the latched alarm) and whether the
    alarm has followed it; `cloudwatch` is a client in the lever's Region."""
    alarm = read_alarms(cloudwatch, [lever.alarm_name])[lever.alarm_name]
    if alarm.state is None:
        return LeverState(
            kind=CLOUDWATCH_ALARM_LEVER,
            state=LeverPosition.UNKNOWN,
            since=None,
            alarm=None,
            detail=f"alarm {lever.alarm_name} not found",
        )
    newest = newest_lever_datapoint(cloudwatch, lever, now)
    # Nothing published lately: the latched alarm holds the last action.
    engaged = alarm.state == "ALARM" if newest is None else newest[1] >= 1
    state = LeverPosition.ENGAGED if engaged else LeverPosition.RELEASED
    # Since when: the alarm's state change, the moment the last action took effect.
    read = LeverState(
        kind=CLOUDWATCH_ALARM_LEVER, state=state, since=alarm.since, alarm=alarm.state
    )
    if not read.in_effect:
        # Published, not followed yet: the datapoint's minute (CloudWatch keeps no finer).
        return replace(
            read,
            since=iso_time(newest[0]) if newest is not None else read.since,
            detail=f"the alarm is {alarm.state}: not in effect yet (it evaluates each minute)",
        )
    return read
