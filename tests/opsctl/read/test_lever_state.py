"""The data-plane lever as read (opsctl/read/lever_state.py): its state, and since
when, as `opsctl status` shows it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from typer.testing import CliRunner

from opsctl.read.signals import iso_time
from tests.opsctl.running import invoke
from tests.opsctl.world import World
from tests.support.stack import LEVER_ALARM, REGIONS


def test_status_dates_the_lever_from_its_alarm_taking_the_action_not_the_datapoints_minute(
    runner: CliRunner, world: World
) -> None:
    minute = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=3)
    world.engage_lever(minute + timedelta(seconds=37))
    alarm = world.client("cloudwatch", REGIONS["secondary"]).describe_alarms(
        AlarmNames=[LEVER_ALARM]
    )
    took = iso_time(alarm["MetricAlarms"][0]["StateTransitionedTimestamp"])
    assert took is not None and took != iso_time(minute)

    result = invoke(runner, world, "status", "--json")
    assert json.loads(result.stdout)["lever"]["since"] == took
    table = invoke(runner, world, "status")
    assert f"lever: engaged since {took} (alarm ALARM)" in table.stdout
