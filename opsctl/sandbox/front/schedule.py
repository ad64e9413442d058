"""EventBridge schedules for one Region: its scheduled functions (the peer watcher) invoked on
their rate times the time scale, through the same handler code as on Lambda.

A process of its own beside the Region's front (`python -m opsctl.sandbox.front.schedule`): the
front invokes one handler at a time, and a watcher waiting up to its deadline on a peer that
hangs must not hold the Region's API meanwhile (on AWS they are separate Lambda environments).
"""

from __future__ import annotations

import argparse
import sys
import threading
import uuid
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import boto3

from opsctl.periodic import PeriodicWorker, stop_all
from opsctl.sandbox.front.lambda_runtime import LambdaRuntime
from opsctl.sandbox.front.metrics import MetricsPublisher
from opsctl.sandbox.front.server import exit_when_orphaned
from opsctl.sandbox.front.spec import FrontSpec, ScheduleSpec


def scheduled_event(spec: FrontSpec, schedule: ScheduleSpec) -> dict[str, Any]:
    """The event EventBridge sends a Lambda target of a schedule rule."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": spec.account_id,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": spec.region,
        "resources": [f"arn:aws:events:{spec.region}:{spec.account_id}:rule/{schedule.rule}"],
        "detail": {},
    }


class Schedules:
    """One fixed-rate loop per schedule; an invocation that fails is reported, never retried
    (the target's retry policy allows none: the next run is the retry)."""

    def __init__(self, spec: FrontSpec, runtime: LambdaRuntime, time_scale: float) -> None:
        self.spec = spec
        self.runtime = runtime
        self.workers = [
            PeriodicWorker(
                f"schedule-{schedule.rule}",
                partial(self.invoke, schedule),
                schedule.rate_seconds * time_scale,
                fixed_rate=True,
            )
            for schedule in spec.schedules
        ]

    def invoke(self, schedule: ScheduleSpec) -> None:
        try:
            self.runtime.invoke(schedule.function, scheduled_event(self.spec, schedule))
        except Exception as error:  # the next run is the retry
            print(f"schedule {schedule.rule}: {schedule.function} failed: {error!r}", flush=True)

    def start(self) -> None:
        for worker in self.workers:
            worker.start()

    def stop(self) -> None:
        stop_all(self.workers)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("spec", type=Path, help="the FrontSpec JSON file")
    parser.add_argument("--time-scale", type=float, required=True)
    parser.add_argument("--supervisor-pid", type=int, required=True)
    args = parser.parse_args(argv)
    exit_when_orphaned(args.supervisor_pid)
    spec = FrontSpec.from_json(args.spec.read_text())
    spec.enter_region()
    metrics = MetricsPublisher(boto3.client("cloudwatch", region_name=spec.region))
    metrics.start()
    runtime = LambdaRuntime(spec.scheduled_functions(), spec.region, spec.account_id, metrics)
    runtime.preload()
    schedules = Schedules(spec, runtime, args.time_scale)
    schedules.start()
    print(f"schedules {spec.region}: {len(spec.schedules)} running", flush=True)
    stopped = threading.Event()
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        schedules.stop()
        metrics.stop()
        sys.stdout.flush()


if __name__ == "__main__":
    main()
