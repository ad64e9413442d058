"""The supervisor's side of an outage: it applies what `opsctl sandbox outage | restore` asks for
(faults/outage.py's control file) to the running parts."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from opsctl.periodic import PeriodicWorker
from opsctl.sandbox.cloudwatch.evaluator import AlarmEvaluator
from opsctl.sandbox.dynamodb.replicator import GlobalTableReplicator
from opsctl.sandbox.faults import outage
from opsctl.sandbox.faults.outage import Outages
from opsctl.sandbox.faults.proxy import Fault, FaultProxy
from opsctl.sandbox.supervisor.region_front import (
    FRONT_READY_TIMEOUT_SECONDS,
    FRONT_STOP_TIMEOUT_SECONDS,
    RegionFront,
)


class OutageController(PeriodicWorker):
    """Applies the outages `opsctl sandbox outage | restore` asks for (outage.py's control file)
    to the running parts: the Region's front (and its schedules), the emulator's fault proxy,
    replication, and CloudWatch's evaluation (with SNS delivery) in that Region."""

    def __init__(
        self,
        directory: Path,
        fronts: dict[str, RegionFront],
        replicator: GlobalTableReplicator,
        faults: FaultProxy,
        alarms: AlarmEvaluator,
        *,
        on_applied: Callable[[], None],
    ) -> None:
        self.directory = directory
        self.fronts = fronts
        self.replicator = replicator
        self.faults = faults
        self.alarms = alarms
        self.on_applied = on_applied
        self.applied = Outages()
        # Stopping waits for an outage being applied: a front stopped, then another serving.
        super().__init__(
            "outages",
            self._tick,
            outage.POLL_SECONDS,
            join_seconds=FRONT_STOP_TIMEOUT_SECONDS + FRONT_READY_TIMEOUT_SECONDS,
        )

    def _tick(self) -> None:
        try:
            wanted = Outages.read(self.directory / outage.WANTED_FILE)
        except (ValueError, KeyError, TypeError) as error:
            print(f"outages: unreadable control file: {error!r}", file=sys.stderr, flush=True)
            return
        if wanted.generation != self.applied.generation:
            self.apply(wanted)

    def apply(self, wanted: Outages) -> None:
        before = self.applied.regions
        error = None
        try:
            for region, mode in wanted.regions.items():
                if before.get(region) is not mode:
                    self.faults.set_fault(region, Fault(mode.value))
                    self.replicator.isolate(region)
                    self.alarms.isolate(region)
                    self.fronts[region].take_out(mode)
                    print(f"outage: {region} is out ({mode.value})", file=sys.stderr, flush=True)
            for region in before.keys() - wanted.regions.keys():
                self.faults.clear(region)
                self.replicator.rejoin(region)
                self.alarms.rejoin(region)
                self.fronts[region].bring_back()
                print(f"outage: {region} is restored", file=sys.stderr, flush=True)
        except Exception as failure:  # reported to the caller through the applied file
            error = f"{type(failure).__name__}: {failure}"
            print(f"outage: applying {wanted} failed: {error}", file=sys.stderr, flush=True)
        self.on_applied()
        self.applied = Outages(wanted.generation, wanted.regions, error)
        self.applied.write(self.directory / outage.APPLIED_FILE)
