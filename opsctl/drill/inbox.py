"""The operator's alarm inbox during a drill: an SQS queue subscribed to every alert topic, as a
pager is (docs/paging.md), so a drill sees what the on-call operator would get, from where."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from opsctl.aws import AwsClients
from opsctl.drill.timeline import Timeline
from stack_topology import Topology


class AlarmInbox:
    """Subscribed on creation when `subscribe` is set (the sandbox); otherwise it receives
    nothing, and a drill checks no notice. Every notice received is kept, with when the drill saw
    it, in `notices`."""

    def __init__(
        self,
        clients: AwsClients,
        topology: Topology,
        timeline: Timeline,
        *,
        subscribe: bool,
        timeout: float,
        on_poll: Callable[[], None],
    ) -> None:
        self.clients = clients
        self.topology = topology
        self.timeline = timeline
        self.timeout = timeout
        self.on_poll = on_poll  # called at every poll: the drill's abort check
        # The operator's inbox (e-mail in production) is not in the Region that may be lost.
        self.region = topology.secondary.region
        self.notices: list[tuple[float, dict[str, Any]]] = []
        self.queue_url = self._subscribe() if subscribe else None

    def _subscribe(self) -> str:
        """A queue on the health alarms' topic in the alarm Region and on each Region's own
        `<app>-alerts` (the peer watchers' alarms)."""
        sqs = self.clients.client("sqs", self.region)
        queue_url = sqs.create_queue(QueueName=f"drill-inbox-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        app = self.topology.app
        wanted: dict[str, set[str]] = {self.topology.alarm_region: {f"{app}-alarms"}}
        for watched in self.topology.regions:
            if watched.watch is not None:  # the alarm on it is in the watching Region
                wanted.setdefault(watched.watch.region, set()).add(f"{app}-alerts")
        for region, names in wanted.items():
            sns = self.clients.client("sns", region)
            for topic in sns.list_topics()["Topics"]:
                if topic["TopicArn"].rsplit(":", 1)[-1] in names:
                    sns.subscribe(TopicArn=topic["TopicArn"], Protocol="sqs", Endpoint=queue_arn)
        return queue_url

    def wait_for_notice(
        self, alarm_name: str, state: str, since: datetime | None = None
    ) -> dict[str, Any] | None:
        """The first notice that `alarm_name` went to `state` (at `since` or later, by its
        StateChangeTime), or None after `timeout`. CloudWatch sets the alarm's state first and
        notifies after, and SNS delivers asynchronously (on AWS as here), so the notice can
        trail the state by a moment."""
        if self.queue_url is None:
            return None
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            self.on_poll()
            for notice in self.receive():
                changed = state_changed_at(notice)
                if (
                    notice.get("AlarmName") == alarm_name
                    and notice.get("NewStateValue") == state
                    and (since is None or (changed is not None and changed >= since))
                ):
                    return notice
        return None

    def received_names(self) -> list[str]:
        """The alarm of each notice received so far, in order (for a failure's message)."""
        return [str(notice.get("AlarmName")) for _, notice in self.notices]

    def receive(self) -> list[dict[str, Any]]:
        """What reached the inbox since the last look (waiting at most a second)."""
        if self.queue_url is None:
            return []
        sqs = self.clients.client("sqs", self.region)
        received = sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", [])
        seen_at = self.timeline.now()
        notices = [json.loads(json.loads(m["Body"]).get("Message", "{}")) for m in received]
        self.notices.extend((seen_at, notice) for notice in notices)
        return notices


def alarm_region(notice: dict[str, Any]) -> str | None:
    """The Region of the alarm a CloudWatch notice is about (from its AlarmArn)."""
    parts = str(notice.get("AlarmArn") or "").split(":")
    return parts[3] if len(parts) > 3 else None


def state_changed_at(notice: dict[str, Any]) -> datetime | None:
    """When the notice's alarm changed state (its StateChangeTime, e.g.
    2026-11-29T06:12:01.123+0000)."""
    raw = notice.get("StateChangeTime")
    if not isinstance(raw, str):
        return None
    for pattern in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(raw, pattern)
        except ValueError:
            continue
    return None
