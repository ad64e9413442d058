"""The drills: a whole incident, rehearsed through opsctl's real core on the stack in use (a
real account or the sandbox).

Every drill runs players against the shared hostname from start to end (each with its own
resolver), records each request on a `Timeline` with the drill's events, and ends with the
timeline drawn and a report.

This module is what every scenario shares (`Drill`, acting on a `DrillTarget`); the scenarios are
`switch_drill` (`switch`, the default) and `outage_drill` (`region-outage`, sandbox only);
`players` plays throughout; `drillrun` runs one and writes its report. Each check that fails stops
the drill with DrillFailed; an abort criterion (`AbortLimits`) that is met stops it with
DrillAborted.
"""

from __future__ import annotations

import abc
import json
import math
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from opsctl.aws import AwsClients
from opsctl.change.apply import ShiftOptions, apply_shift
from opsctl.change.audit import AuditLog
from opsctl.change.plan import plan_failover, plan_fallback
from opsctl.change.route53 import read_records
from opsctl.change.switch import apply_switch, plan_switch
from opsctl.cli import output
from opsctl.drill.players import PLAYER_TIMEOUT_SECONDS, Players
from opsctl.drill.scenario import Scenario
from opsctl.drill.timeline import (
    Timeline,
    TimelineView,
    failed,
    failure_reasons,
    render_timeline,
)
from opsctl.drill.tokens import TokenSource
from opsctl.model import Approval, Weights
from opsctl.read.probe import ApiResponse, Resolver, call_api, probe
from opsctl.read.signals import read_failure_switch
from opsctl.read.status import RegionStatus, StatusReport, read_status
from stack_topology import Topology

DRILL_REASON = "drill"
FALLBACK_STEPS = (10, 50, 100)
PROBE_COUNT = 20
SESSION_BODY = {"game": "drill-arena", "maxPlayers": 4}


class DrillFailed(RuntimeError):
    """A drill check did not hold; the message says which and what was seen."""


class DrillAborted(RuntimeError):
    """An abort criterion was met (--max-failed, --max-duration); the message says which."""


def new_drill_id() -> str:
    return f"drill-{uuid.uuid4().hex[:12]}"


@dataclass(frozen=True)
class DrillTarget:
    """The stack a drill acts on and how its players reach it: the same for a real account and
    for the sandbox (which also knows its checker count and has an alarm inbox to subscribe)."""

    clients: AwsClients
    topology: Topology
    hostname: str
    new_resolver: Callable[[], Resolver]  # one per player: each caches its own answers
    tokens: TokenSource
    audit_log: AuditLog
    reason: str = DRILL_REASON
    drill_id: str = field(default_factory=new_drill_id)
    # 1 on AWS; the sandbox runs AWS's intervals scaled by this.
    time_scale: float = 1.0
    checkers: int | None = None  # Route 53 checkers expected to report; None: not known
    alarm_inbox: bool = False  # subscribe a queue to the alarm topic and wait for the notice
    dns: str = "system"  # how the players resolve: system | authoritative | sandbox

    def approval(self, *, force: bool = False, why: str = "") -> Approval:
        """An approval for one of the drill's changes: its reason and drill id go in the audit."""
        reason = f"{self.reason} ({why})" if why else self.reason
        return Approval(reason=reason, force=force, drill_id=self.drill_id)


@dataclass(frozen=True)
class AbortLimits:
    """When a drill stops by itself and restores what it found."""

    max_failed: int | None = None  # player failures outside the windows where they are expected
    max_duration: float | None = None  # seconds from the drill's start


@dataclass(frozen=True)
class ShiftMeasurement:
    shift: str
    detection_seconds: (
        float  # signal changed -> alarm changed (failure for failover, recovery for fallback)
    )
    approval_to_insync_seconds: float
    requests: int
    failed: int
    change_ids: tuple[str, ...] = ()  # Route 53's, one per step

    def to_json(self) -> dict[str, Any]:
        return {
            "shift": self.shift,
            "changeIds": list(self.change_ids),
            "detectionSeconds": round(self.detection_seconds, 2),
            "approvalToInsyncSeconds": round(self.approval_to_insync_seconds, 2),
            "requests": self.requests,
            "failed": self.failed,
        }


@dataclass(frozen=True)
class Measurement:
    """One line of a summary: what was measured, its value, and the check on it (if any)."""

    what: str
    value: str
    ok: bool | None = None  # None: information only


@dataclass(frozen=True)
class CreatedSession:
    session_id: str
    idempotency_key: str
    region: str


@dataclass(frozen=True)
class StepRecord:
    number: int
    text: str
    at: float  # timeline seconds


@dataclass(frozen=True)
class StepGate:
    """One step of a gradual fallback: the health gate it passed and what it took."""

    step: str  # "2/3"
    weights: str
    gate_passed_at: float  # timeline seconds: the primary's health re-checked, the step submitted
    insync_seconds: float
    requests: int
    failed: int


@dataclass(frozen=True)
class FoundState:
    """What the drill found before it changed anything: what an abort restores."""

    switches: dict[str, str | None]  # role -> failure switch value
    weights: Weights


@dataclass(frozen=True)
class Restored:
    """What an abort put back, and whether a re-read confirmed the stack is as found."""

    actions: list[str]
    confirmed: bool
    now: str  # the state read back, in words
    error: str | None = None  # what kept the restore from finishing

    def lines(self) -> list[str]:
        done = self.actions or ["nothing needed restoring"]
        verdict = "confirmed" if self.confirmed else "NOT confirmed"
        tail = [f"restore {verdict}: {self.now}"]
        if self.error:
            tail.append(f"restore stopped: {self.error}")
        return [*done, *tail]


@dataclass(frozen=True)
class PhaseCount:
    phase: str
    start: float  # timeline seconds
    requests: int
    failed: int


@dataclass
class DrillReport:
    scenario: Scenario
    checks: list[str] = field(default_factory=list)
    shifts: list[ShiftMeasurement] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)
    note: str = ""  # how to read the summary's numbers
    steps: list[StepRecord] = field(default_factory=list)
    gates: list[StepGate] = field(default_factory=list)
    phases: list[PhaseCount] = field(default_factory=list)


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
        self._alarm_inbox = self._subscribe_to_alarms() if target.alarm_inbox else None
        # Every alarm notice the inbox received: (when the drill saw it, CloudWatch's message).
        self.notices: list[tuple[float, dict[str, Any]]] = []
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

    def _all_clear(self, region: RegionStatus) -> bool:
        """Healthy by the metric, alarm OK, every checker's latest observation a success, and
        the other Region's watcher reaching it."""
        expected = self.target.checkers
        return (
            region.healthy is True
            and region.alarm == "OK"
            and (expected is None or region.checkers_total == expected)
            and region.checkers_healthy == region.checkers_total
            and _reached(region)
        )

    def show_status(self) -> StatusReport:
        """The status in a line or two: a drill reads it at every step, the table once is
        enough (`opsctl status` prints it)."""
        report = self.status()
        output.stdout.print(output.status_brief(report))
        return report

    @property
    def _inbox_region(self) -> str:
        """The operator's inbox (e-mail in production) is not in the Region that may be lost."""
        return self.topology.secondary.region

    def _subscribe_to_alarms(self) -> str:
        """An SQS queue on every alert topic, as a pager is subscribed (docs/paging.md): the
        health alarms' topic in the alarm Region and each Region's own `<app>-alerts` (the peer
        watchers' alarms), so the drill sees what the on-call operator would get, from where."""
        sqs = self.clients.client("sqs", self._inbox_region)
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

    def wait_for_notice(self, alarm_name: str, state: str) -> list[dict[str, Any]]:
        """The alarm notices received until one says `alarm_name` went to `state`, or the signal
        timeout. CloudWatch sets the alarm's state first and notifies after, and SNS delivers
        asynchronously (on AWS as here), so the notice can trail the state by a moment."""
        if self._alarm_inbox is None:
            return []
        deadline = time.monotonic() + self.signal_timeout
        notices: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            self.check_abort()
            notices.extend(self.receive_notices())
            if any(n.get("AlarmName") == alarm_name and n.get("NewStateValue") == state
                   for n in notices):  # fmt: skip
                break
        return notices

    def receive_notices(self) -> list[dict[str, Any]]:
        """What reached the inbox since the last look (waiting at most a second); each is also
        kept, with when it was seen, in `notices`."""
        if self._alarm_inbox is None:
            return []
        sqs = self.clients.client("sqs", self._inbox_region)
        received = sqs.receive_message(
            QueueUrl=self._alarm_inbox, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", [])
        seen_at = self.timeline.now()
        notices = [json.loads(json.loads(m["Body"]).get("Message", "{}")) for m in received]
        self.notices.extend((seen_at, notice) for notice in notices)
        return notices

    def _check_session_readable(self, session: CreatedSession, serving_region: str) -> None:
        """Read `session` where every request now lands (a probe just showed it): the body names
        the Region that created it, so finding it in the other one proves replication."""
        read = self.call("GET", f"/sessions/{session.session_id}")
        read_id = read.body.get("id") if read.body else None
        self.check(
            read.status == 200 and read_id == session.session_id,
            f"session {session.session_id[:8]} created in {session.region} is readable "
            f"in {serving_region}",
            f"GET /sessions/{session.session_id} answered {read.status} {read.body}",
        )

    def _check_idempotent_retry(self, session: CreatedSession) -> None:
        """A client retrying its POST (same Idempotency-Key) gets the first session back."""
        retry = self.call(
            "POST",
            "/sessions",
            json_body=SESSION_BODY,
            headers={"Idempotency-Key": session.idempotency_key},
        )
        retried_id = retry.body.get("id") if retry.body else None
        self.check(
            retry.ok and retried_id == session.session_id,
            "retried POST with the same Idempotency-Key returned the first session, no duplicate",
            f"retried POST answered {retry.status} with session {retried_id} "
            f"(the first was {session.session_id})",
        )

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

    # ---- steps every scenario has ---------------------------------------------------------

    def primary_serving_all_healthy(self) -> StatusReport:
        self.step("status: the primary serves, every Region healthy")
        report = self.wait_for(
            "the primary serving with both Regions healthy",
            # Consistent too: every signal (DNS answers, each Region's view of the other) agrees,
            # which a freshly started or loaded stack may take a few polls to show.
            lambda r: (
                r.serving == "primary"
                and r.consistent
                and all(self._all_clear(x) for x in r.regions)
            ),
        )
        output.stdout.print(output.status_brief(report))
        self.check(
            report.consistent, "primary serves; both Regions healthy, alarms OK", report.headline
        )
        # The operator's own view of each Region: its healthUrl, probed from this machine.
        probed = [r for r in report.regions if r.probe is not None]
        probes = "; ".join(f"{r.region} {r.probe}" for r in probed) or "no healthUrl to probe"
        self.check(
            all(r.probe is not None and r.probe.ok for r in probed),
            f"the direct probe of each healthUrl answers: {probes}",
            f"the direct probe of a healthUrl does not answer 2xx: {probes}",
        )
        # The story starts once the players are being served (the fronts' first requests are
        # cold: JWKS fetch, first table reads).
        took = self.wait_until(
            "the players to be served",
            lambda: sum(s.ok for s in self.timeline.samples) >= self.players.count,
            self.signal_timeout,
        )
        self.mark("players served")
        self.passed(f"players served by {self.topology.primary.region} (waited {took:.1f}s)")
        return report

    def create_session(self, *, announce: bool = True) -> CreatedSession:
        if announce:
            self.step("a player creates a game session through the shared hostname")
        key = f"drill-{uuid.uuid4().hex}"
        response = self.call(
            "POST", "/sessions", json_body=SESSION_BODY, headers={"Idempotency-Key": key}
        )
        self.check(
            response.status == 201 and response.body is not None,
            f"session created in {response.region} (201)",
            f"POST /sessions answered {response.status} {response.body or response.error}",
        )
        assert response.body is not None
        return CreatedSession(str(response.body["id"]), key, str(response.region))

    def primary_serving_again(self, session: CreatedSession) -> StatusReport:
        self.step("status: the primary serves again")
        report = self.show_status()
        self.resolver = self.new_resolver()  # a client arriving now: no answer cached from before
        primary = self.topology.primary.region
        answered = probe(self.hostname, self.resolver, token=self.token, count=PROBE_COUNT)
        self.check(
            report.serving == "primary"
            and report.consistent
            and answered.by_region() == {primary: PROBE_COUNT},
            f"primary serves all traffic again ({PROBE_COUNT}/{PROBE_COUNT} probes from {primary})",
            f"after fallback: {report.headline}; probes {answered.by_region()}",
        )
        self.mark("primary serves again")
        self._check_session_readable(session, primary)
        return report

    def create_session_on_secondary(self) -> CreatedSession:
        """A session started during the outage must survive the way back too."""
        created = self.create_session(announce=False)
        self.check(
            created.region == self.topology.secondary.region,
            f"session {created.session_id[:8]} created in {created.region} during the failover",
            f"a new session landed in {created.region}, not the secondary",
        )
        return created

    def wait_primary_clear(self) -> None:
        """Until the primary is healthy with its alarms OK, as the fallback's preflight requires
        of any Region taking traffic."""
        started = time.monotonic()
        impaired_deployed = self.topology.primary.impaired_alarm_name is not None
        self.wait_for(
            "the primary's alarms to clear",
            lambda r: (
                r.region("primary").alarm == "OK"
                and r.region("primary").healthy is True
                and (not impaired_deployed or r.region("primary").impaired_alarm == "OK")
                # The secondary's watcher reaches it again (the fallback's preflight asks).
                and _reached(r.region("primary"))
            ),
        )
        self.mark("primary alarms OK")
        cleared = "health alarm and Region-impaired alarm" if impaired_deployed else "alarm"
        self.passed(f"primary healthy again, {cleared} OK after {time.monotonic() - started:.1f}s")


def _reached(region: RegionStatus) -> bool:
    """The other Region's watcher reaches it (or no watch is deployed)."""
    return region.watch is None or region.watch.alarm == "OK"
