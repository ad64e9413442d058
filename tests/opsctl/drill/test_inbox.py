"""The drill's alarm inbox: an SQS queue on the alert topics, read as the on-call operator reads
their pager."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from opsctl.drill.inbox import AlarmInbox
from opsctl.drill.timeline import Timeline
from tests.opsctl.world import World

WATCH_ALARM = "app-primary-unreachable"


def _notice(state: str, changed: datetime) -> dict[str, Any]:
    """CloudWatch's notification JSON, as SNS delivers it to a subscribed queue."""
    return {
        "AlarmName": WATCH_ALARM,
        "NewStateValue": state,
        "StateChangeTime": changed.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000",
        "Region": "US West (Oregon)",
    }


def _inbox(world: World, notices: list[dict[str, Any]]) -> AlarmInbox:
    sqs = world.client("sqs", "us-west-2")
    queue_url = sqs.create_queue(QueueName="drill-inbox-test")["QueueUrl"]
    for notice in notices:
        body = {"Type": "Notification", "Message": json.dumps(notice)}
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(body))
    inbox = AlarmInbox(
        world.clients(),
        world.topology,
        Timeline(),
        subscribe=False,
        timeout=3.0,
        on_poll=lambda: None,
    )
    inbox.queue_url = queue_url
    return inbox


def test_a_page_from_before_the_outage_is_not_the_page_about_it(world: World) -> None:
    """A watch that fired for a moment before the outage (a slow answer on a loaded machine) and
    settled: the drill waits for the ALARM that changed state after the outage."""
    outage = datetime.now(UTC)
    early = _notice("ALARM", outage - timedelta(seconds=4))
    settled = _notice("OK", outage - timedelta(seconds=1))
    about_it = _notice("ALARM", outage + timedelta(seconds=4))
    inbox = _inbox(world, [early, settled, about_it])

    assert inbox.wait_for_notice(WATCH_ALARM, "ALARM", since=outage) == about_it
    assert inbox.received_names() == [WATCH_ALARM] * 3


def test_no_page_after_the_outage_is_none_within_the_timeout(world: World) -> None:
    outage = datetime.now(UTC)
    inbox = _inbox(world, [_notice("ALARM", outage - timedelta(seconds=4))])
    inbox.timeout = 1.0
    assert inbox.wait_for_notice(WATCH_ALARM, "ALARM", since=outage) is None
    assert inbox.wait_for_notice(WATCH_ALARM, "ALARM") is None  # each notice is received once
