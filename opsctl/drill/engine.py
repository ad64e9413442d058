"""The drills: a whole incident, rehearsed through opsctl's real core on the stack in use (a
real account or the sandbox).

Every drill runs players against the shared hostname from start to end (each with its own
resolver), records each request on a `Timeline` with the drill's events, and ends with the
timeline drawn and a report.

This module is the machinery every scenario shares (`Drill`, acting on a `DrillTarget` from
`model`): players, timeline, checks, bounded waits, the abort criteria, what was found and its
restore. The scenarios are `switch_drill` (`switch`, the default) and `outage_drill`
(`region-outage`, sandbox only), built from the steps they share (`steps`); `inbox` is the
operator's alarm inbox; `runner` runs one and writes its report. Each check that fails stops the
drill with DrillFailed; an abort criterion (`AbortLimits`) that is met stops it with
DrillAborted.
"""

from __future__ import annotations

import abc
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from opsctl.change.apply import ShiftOptions, apply_shift
from opsctl.change.plan import plan_failover, plan_fallback
from opsctl.change.switch import apply_switch, plan_switch
from opsctl.cli import output, status_view
from opsctl.drill.inbox import AlarmInbox
from opsctl.drill.model import (
    AbortLimits,
    DrillAborted,
    DrillFailed,
    DrillReport,
    DrillTarget,
    FoundState,
    Measurement,
    PhaseCount,
    Restored,
    StepRecord,
)
from opsctl.drill.players import PLAYER_TIMEOUT_SECONDS, Players
from opsctl.drill.scenario import Scenario
from opsctl.drill.timeline import (
    Timeline,
    TimelineView,
    failed,
    failure_reasons,
    render_timeline,
)
from opsctl.model import Weights
from opsctl.read.probe import ApiResponse, Resolver, call_api
from opsctl.read.records import read_records
from opsctl.read.signals import read_failure_switch
from opsctl.read.status import read_status
from opsctl.read.status_report import StatusReport
from stack_topology import Topology


class Drill(abc.ABC):
    """What every scenario shares: opsctl's clients on the target, the players and the timeline,
    checks, waits, the abort criteria and (on the sandbox) the operator's alarm inbox. Use as a
    context manager (the players play inside it); a scenario's `run` calls its steps in order."""

    scenario: Scenario
    title: str
    # The drill's phases for "failures per phase": (name, label prefix of the event starting it).
    phases: tuple[tuple[str, str], ...] = ()

    def __init__(
        self,
        target: DrillTarget,
        *,
        say: Callable[[str], None] = output.info,
        limits: AbortLimits | None = None,
    ) -> None:
        self.target = target
        self.say = say
        self.limits = limits or AbortLimits()
        self.clients = target.clients
        self.topology: Topology = target.topology
        self.hostname = target.hostname
        self.audit_log = target.audit_log
        self.report = DrillReport(self.scenario)
        self._steps = 0
        self.timeline = Timeline()
        self.started_wall = time.time()  # the timeline's 0, as a wall-clock time for the report
        self.resolver = self.new_resolver()
        scale = target.time_scale
        self.poll_seconds = min(5.0, max(0.05, scale))
        # Long enough for FailureThreshold probes, the alarm period and the switch's cache, and
        # for a clean HealthCheckStatus minute: opsctl reads the newest 1-minute datapoint's
        # Minimum, and CloudWatch's minute does not scale.
        self.signal_timeout = 90.0 + 300 * scale
        # Windows (timeline seconds; end None: still open) in which players may fail.
        self.expected_failures: list[list[float | None]] = []
        self.inbox = AlarmInbox(
            self.clients,
            self.topology,
            self.timeline,
            subscribe=target.alarm_inbox,
            timeout=self.signal_timeout,
            on_poll=self.check_abort,
        )
        self.players = Players(self.timeline, self.new_resolver, self._play)

    @property
    def token(self) -> str:
        return self.target.tokens.current()

    def __enter__(self) -> Drill:
        self.players.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.players.stop()

    @abc.abstractmethod
    def run(self) -> DrillReport:
        """The scenario's steps in order; returns the report."""

    # ---- what was found, and putting it back ------------------------------------------------

    def read_found(self) -> FoundState:
        switches = {
            str(region.role): read_failure_switch(
                self.clients.client("ssm", region.region), region.failure_switch
            )
            for region in (self.topology.primary, self.topology.secondary)
        }
        weights = read_records(self.clients.route53(), self.topology).weights
        return FoundState(switches, weights)

    def _found_now(self, found: FoundState) -> tuple[bool, str]:
        now = self.read_found()
        switches = ", ".join(f"{role} switch {value}" for role, value in now.switches.items())
        return now == found, f"weights {now.weights}; {switches}"

    def restore(self, found: FoundState, why: str) -> Restored:
        """Put the failure switches and the weights back as found, through the same core (the
        weights forced: a preflight that waits for alarms to clear must not hold a restore up),
        then read both back. Every change is audited with the drill id."""
        actions: list[str] = []
        approval = self.target.approval(force=True, why=f"restore after {why}")
        try:
            for region in (self.topology.primary, self.topology.secondary):
                value = found.switches[str(region.role)]
                if value is None:
                    continue
                switch_plan = plan_switch(self.clients, self.topology, str(region.role), value)
                if not switch_plan.noop:
                    apply_switch(self.clients, self.topology, switch_plan, approval, self.audit_log)
                    actions.append(
                        f"{region.role} failure switch: {switch_plan.current} -> {value}"
                    )
            weights = read_records(self.clients.route53(), self.topology).weights
            if weights != found.weights:
                role = "primary" if found.weights == Weights.all_on("primary") else "secondary"
                shift_plan = (
                    plan_fallback(self.clients, self.topology)
                    if role == "primary"
                    else plan_failover(self.clients, self.topology)
                )
                result = apply_shift(
                    self.clients,
                    self.topology,
                    shift_plan,
                    approval,
                    self.audit_log,
                    ShiftOptions(poll_interval=self.poll_seconds),
                )
                change = result.steps[-1].change_id if result.steps else "none"
                actions.append(f"weights: {weights} -> {result.final} (change {change} INSYNC)")
        except Exception as error:  # say what was done and what was not, never hide it
            confirmed, now = self._found_now(found)
            return Restored(actions, confirmed, now, f"{type(error).__name__}: {error}")
        confirmed, now = self._found_now(found)
        return Restored(actions, confirmed, now)

    def failures_by_phase(self, phases: Sequence[tuple[str, str]]) -> list[PhaseCount]:
        """Requests and failures between consecutive events: `phases` are (name, label prefix of
        the event that starts it); the first phase starts at 0, the last runs to the end. A phase
        whose event never came (an aborted drill) is left out."""
        events = self.timeline.events
        starts: list[tuple[str, float]] = []
        for name, prefix in phases:
            at = (
                0.0
                if not prefix
                else next((e.at for e in events if e.label.startswith(prefix)), None)
            )
            if at is not None:
                starts.append((name, at))
        starts.sort(key=lambda start: start[1])
        counts = []
        for index, (name, start) in enumerate(starts):
            end = starts[index + 1][1] if index + 1 < len(starts) else math.inf
            window = self.timeline.between(start, end)
            counts.append(PhaseCount(name, start, len(window), failed(window)))
        return counts

    def timeline_table(self) -> TimelineView:
        regions = [self.topology.primary.region, self.topology.secondary.region]
        return render_timeline(self.timeline, regions, title=f"{self.title}: players' requests")

    def players_summary(self) -> str:
        samples = self.timeline.samples
        reasons = ", ".join(f"{n} x {reason}" for reason, n in failure_reasons(samples).items())
        return f"players: {len(samples)} requests, {failed(samples)} failed" + (
            f" ({reasons})" if reasons else ""
        )

    # ---- helpers ----------------------------------------------------------------------------

    def new_resolver(self) -> Resolver:
        """A client's own resolver: through DNS as the target says, so a client follows a shift
        once its cached answer expires."""
        return self.target.new_resolver()

    def _play(self, resolver: Resolver) -> ApiResponse:
        try:
            token = self.token
        except Exception as error:  # the token command failed: the request cannot be sent
            return ApiResponse(None, None, f"token: {error}", 0.0)
        return call_api(self.hostname, resolver, token=token, timeout=PLAYER_TIMEOUT_SECONDS)

    def step(self, text: str) -> None:
        """Announce the next step, numbered, and mark it on the timeline."""
        self.check_abort()
        self._steps += 1
        self.say(f"{self._steps}. {text}")
        self.report.steps.append(StepRecord(self._steps, text, self.timeline.now()))

    # ---- abort criteria -------------------------------------------------------------------

    def expect_failures(self) -> None:
        """From now on players may fail (the switch is flipped: the detection window)."""
        self.expected_failures.append([self.timeline.now(), None])

    def failures_no_longer_expected(self) -> None:
        for window in self.expected_failures:
            if window[1] is None:
                window[1] = self.timeline.now()

    def unexpected_failures(self) -> int:
        """Player failures sent outside every window in which failures are expected."""

        def expected(at: float) -> bool:
            return any(
                start is not None and start <= at < (math.inf if end is None else end)
                for start, end in self.expected_failures
            )

        return sum(1 for s in self.timeline.samples if not s.ok and not expected(s.at))

    def check_abort(self) -> None:
        """Raise DrillAborted when an abort criterion is met; every wait calls it each poll."""
        limits = self.limits
        if limits.max_duration is not None and self.timeline.now() > limits.max_duration:
            raise DrillAborted(f"--max-duration {limits.max_duration:g}s reached")
        if limits.max_failed is not None:
            unexpected = self.unexpected_failures()
            if unexpected > limits.max_failed:
                raise DrillAborted(
                    f"--max-failed {limits.max_failed}: {unexpected} player requests failed "
                    "outside the detection window"
                )

    def mark(self, label: str) -> float:
        """An event on the timeline (seconds since the drill started)."""
        return self.timeline.mark(label)

    def measure(self, what: str, value: str, ok: bool | None = None) -> None:
        """A line of the summary's measurements (`ok`: its check, None when informational)."""
        self.report.measurements.append(Measurement(what, value, ok))

    def check(self, condition: bool, passed: str, failed: str) -> None:
        if not condition:
            raise DrillFailed(failed)
        self.passed(passed)

    def passed(self, text: str) -> None:
        self.report.checks.append(text)
        self.say(f"  ok  {text}")

    def status(self) -> StatusReport:
        return read_status(self.clients, self.topology)

    def wait_for(self, what: str, predicate: Callable[[StatusReport], bool]) -> StatusReport:
        deadline = time.monotonic() + self.signal_timeout
        while True:
            self.check_abort()
            report = self.status()
            if predicate(report):
                return report
            if time.monotonic() > deadline:
                raise DrillFailed(f"timed out waiting for {what}; status: {report.headline}")
            time.sleep(self.poll_seconds)

    def wait_until(self, what: str, condition: Callable[[], bool], timeout: float) -> float:
        """Poll `condition` until it holds; the seconds it took. A condition that raises (a read
        that timed out) has not held yet. Fails with the bound when it runs out."""
        started = time.monotonic()
        deadline = started + timeout
        while True:
            self.check_abort()
            try:
                if condition():
                    return time.monotonic() - started
                last = "not yet"
            except Exception as error:
                last = repr(error)
            if time.monotonic() > deadline:
                raise DrillFailed(f"timed out after {timeout:.0f}s waiting for {what} ({last})")
            time.sleep(self.poll_seconds)

    def call(self, method: str = "GET", path: str = "/whoami", **kwargs: Any) -> ApiResponse:
        return call_api(
            self.hostname, self.resolver, method=method, path=path, token=self.token, **kwargs
        )

    def show_status(self) -> StatusReport:
        """The status in a line or two: a drill reads it at every step, the table once is
        enough (`opsctl status` prints it)."""
        report = self.status()
        output.stdout.print(status_view.status_brief(report))
        return report

    def every_player_served_by(self, region: str, since: float) -> float:
        """Waits until each player has had an answer from `region` sent at or after `since`
        (timeline seconds); the seconds from `since` to the last of those first answers."""

        def firsts() -> dict[int, float]:
            seen: dict[int, float] = {}
            for sample in self.timeline.between(since):
                if sample.ok and sample.region == region and sample.player is not None:
                    seen.setdefault(sample.player, sample.at)
            return seen

        self.wait_until(
            f"every player to be served by {region}",
            lambda: len(firsts()) >= self.players.count,
            self.signal_timeout,
        )
        last = max(firsts().values())
        self.mark(f"every player served by {region}")
        self.passed(f"every player served by {region} {last - since:.1f}s after the approval")
        return last - since
