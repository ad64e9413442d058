"""What AWS's data plane does for the opsctl test world and moto does not (see `DataPlane`)."""

from __future__ import annotations

import itertools
import random
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from opsctl.sandbox.route53.data_plane import HealthCheckObservations
from tests.opsctl.world import (
    APP,
    LEVER_METRIC,
    LEVER_NAMESPACE,
    RECORD_NAME,
    REGIONS,
    World,
    alias_target,
)
from tests.support.dns import LoopbackDnsServer
from tests.support.fronts import HttpsFronts


class DataPlane:
    """What AWS's data plane does and moto does not, refreshed every `interval` s on a thread:

    - CloudWatch: the lever alarm takes the newest minute's Maximum of its metric (>= 1: ALARM,
      else OK; no data: unchanged);
    - Route 53's view of the lever's CLOUDWATCH_METRIC check: its own evaluation of the metric's
      datapoints, not the alarm (SetAlarmState does not move it): unhealthy when the newest
      minute it saw data in has a 1, healthy when only 0s, else its last status. Route 53 may
      miss a datapoint: `lose_engage_datapoints(n)` drops the next n 1s from its view only, and
      `hold_route53_view()` keeps the view where it is until `let_route53_view_follow()`.
      GetHealthCheckStatus on the check reports that view (three checkers);
    - Route 53's name servers: the shared name answered by the rules for weighted records
      (healthy non-zero weights first, then zero weights, else all), the primary unhealthy while
      Route 53 sees the lever's check unhealthy, with one of the chosen Region's front doors in
      turn; each aliasTarget with another of that Region's addresses (as on AWS, never the same
      ones);
    - the front doors (`fronts`): HTTPS for the shared name, answering /health with the Region.

    It reads the emulator directly (not through any fault proxy), as the data plane does not go
    through the control plane; answers come from the newest snapshot, so they are immediate."""

    def __init__(
        self,
        world: World,
        fronts: HttpsFronts,
        observations: HealthCheckObservations,
        interval: float = 0.05,
    ) -> None:
        self._world = world
        self._observations = observations
        self._held = False
        self.fronts = fronts
        self._turn = itertools.count()
        self._interval = interval
        self._weights = world.weights().as_dict()
        self._lever_alarm = world.lever_alarm()
        # Route 53's own view of the lever's check, and what it has seen per minute:
        # minute -> [samples accounted, ones accounted, ones seen].
        self.lever_check_healthy = True
        self._minutes: dict[datetime, list[int]] = {}
        self._to_lose = 0
        self.last_error: Exception | None = None
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self.server = LoopbackDnsServer(self.answer)

    def hold_route53_view(self) -> None:
        """Route 53's view of the lever's check stays where it is (its evaluation trails)."""
        self._held = True

    def let_route53_view_follow(self) -> None:
        self._held = False

    def _report_route53_view(self) -> None:
        lever = self._world.topology.out_of_service
        assert lever is not None
        status = (
            "Success: the alarm's metric is within its threshold"
            if self.lever_check_healthy
            else "Failure: the alarm's metric breaches its threshold"
        )
        checked = datetime.now(UTC)
        self._observations.record(
            lever.health_check_id,
            [
                {
                    "Region": region,
                    "IPAddress": "127.0.0.1",
                    "StatusReport": {"Status": status, "CheckedTime": checked},
                }
                for region in ("us-east-1", "us-west-1", "eu-west-1")
            ],
        )

    def lose_engage_datapoints(self, count: int) -> None:
        """Route 53 will not see the next `count` datapoints of 1 (late, or never listed)."""
        self._to_lose += count

    def _route53_view(self, points: list[dict[str, Any]]) -> bool:
        for point in sorted(points, key=lambda p: p["Timestamp"]):
            accounted = self._minutes.setdefault(point["Timestamp"], [0, 0, 0])
            new_samples = int(point["SampleCount"]) - accounted[0]
            new_ones = int(point["Sum"]) - accounted[1]
            lost = min(new_ones, self._to_lose)
            self._to_lose -= lost
            accounted[0] += new_samples
            accounted[1] += new_ones
            accounted[2] += new_ones - lost
        seen = [
            (minute, counts)
            for minute, counts in self._minutes.items()
            if counts[2] or counts[0] > counts[1]  # a seen 1, or a 0
        ]
        if not seen:
            return self.lever_check_healthy  # InsufficientDataHealthStatus LastKnownStatus
        return max(seen, key=lambda item: item[0])[1][2] == 0

    def _evaluate_lever_alarm(self, cloudwatch: Any) -> str:
        end = datetime.now(UTC) + timedelta(minutes=1)
        points = cloudwatch.get_metric_statistics(
            Namespace=LEVER_NAMESPACE,
            MetricName=LEVER_METRIC,
            Dimensions=[{"Name": "App", "Value": APP}],
            StartTime=end - timedelta(minutes=10),
            EndTime=end,
            Period=60,
            Statistics=["Maximum", "Sum", "SampleCount"],
        )["Datapoints"]
        view = self._route53_view(points)
        if not self._held:
            self.lever_check_healthy = view
        self._report_route53_view()
        state = self._world.lever_alarm()
        if points:
            newest = max(points, key=lambda point: point["Timestamp"])
            wanted = "ALARM" if newest["Maximum"] >= 1 else "OK"
            if wanted != state:
                self._world.set_lever_alarm(wanted)
                state = wanted
        return state

    def _run(self) -> None:
        cloudwatch = self._world.client("cloudwatch", REGIONS["secondary"])
        while not self._stopped.wait(self._interval):
            try:
                self._lever_alarm = self._evaluate_lever_alarm(cloudwatch)
                self._weights = self._world.weights().as_dict()
            except Exception as error:  # a busy emulator: keep the last snapshot, try again
                self.last_error = error

    def answer(self, name: str) -> list[str] | None:
        targets = {alias_target(region): role for role, region in REGIONS.items()}
        if name in targets:
            return [self.fronts.own[targets[name]]]
        if name != RECORD_NAME.rstrip("."):
            return None
        weights = self._weights
        healthy = {"primary": self.lever_check_healthy, "secondary": True}
        pool = [r for r in REGIONS if weights[r] > 0 and healthy[r]] or [
            r for r in REGIONS if healthy[r]
        ]
        chosen = random.choices(pool, weights=[weights[r] or 1 for r in pool])[0]
        doors = self.fronts.doors[chosen]
        return [doors[next(self._turn) % len(doors)]]

    def close(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)
        self.server.close()
