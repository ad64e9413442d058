"""The drills: a whole incident, rehearsed on the sandbox through opsctl's real core.

Every drill runs players against the shared hostname from start to end (each with its own
resolver), records each request on a `Timeline` with the drill's events, and ends with the
timeline drawn and a summary. Scenarios:

`switch` (the default): the primary's failure switch breaks it while the rest of its Region runs.
 1. the primary serves and every Region is healthy (opsctl status);
 2. a player creates a game session through the shared hostname (lands in the primary);
 3. the primary's failure switch is flipped to `failing` through opsctl's switch core (approved,
    reason "drill", audited);
 4. the health checkers see it, the primary's alarm fires and SNS notifies the operator —
    detection time is measured from the flip to the alarm; the primary's own "Region impaired"
    composite alarm follows (its api-5xx alarm counts the health checks' 500s);
 5. failover with approval (non-interactive, reason "drill") through opsctl's plan/apply, with
    players' requests running throughout — approval-to-INSYNC and failed requests are measured;
 6. the probe shows the secondary serving with tokens still accepted, the session created before
    the failover readable there, and a retried POST with the same Idempotency-Key returning the
    same session instead of a second one; a new session is created in the secondary;
 7. the primary is healed (switch back to `healthy`, approved and audited like step 3) and its
    alarms return to OK;
 8. fallback in steps (10, 50, 100 percent) through opsctl, again measured under load;
 9. the primary serves again, all healthy, and the session created in the secondary is readable.

Each check that fails stops the drill with DrillFailed.
"""

from __future__ import annotations

import abc
import contextlib
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from opsctl import output
from opsctl.audit import AuditLog
from opsctl.aws import AwsClients
from opsctl.model import Approval
from opsctl.probe import (
    DEFAULT_TIMEOUT_SECONDS,
    ApiResponse,
    ProbeReport,
    Resolver,
    call_api,
    probe,
)
from opsctl.sandbox.idp import SigningKey
from opsctl.sandbox.periodic import PeriodicWorker
from opsctl.sandbox.scenario import Scenario
from opsctl.sandbox.state import SandboxState
from opsctl.sandbox.stubresolver import sandbox_resolver
from opsctl.sandbox.timeline import Timeline, failed, failure_reasons, render_timeline
from opsctl.shift import (
    ShiftOptions,
    ShiftResult,
    apply_shift,
    plan_failover,
    plan_fallback,
)
from opsctl.status import RegionStatus, StatusReport, read_status
from opsctl.switch import apply_switch, plan_switch
from opsctl.topology import load_topology_file
from topology import Topology

if TYPE_CHECKING:
    from opsctl.sandbox.runtime import SandboxOptions

DRILL_REASON = "drill"
FALLBACK_STEPS = (10, 50, 100)
PROBE_COUNT = 20
SESSION_BODY = {"game": "drill-arena", "maxPlayers": 4}
# Players sending requests through the shared hostname for the whole drill. A player waits for
# each answer (at most PLAYER_TIMEOUT_SECONDS, the probe's: a black-holed Region costs it that
# much), then pauses before the next request.
PLAYERS = 3
PLAYER_PAUSE_SECONDS = 0.05
PLAYER_TIMEOUT_SECONDS = DEFAULT_TIMEOUT_SECONDS


class DrillFailed(RuntimeError):
    """A drill check did not hold; the message says which and what was seen."""


@dataclass(frozen=True)
class ShiftMeasurement:
    shift: str
    detection_seconds: (
        float  # signal changed -> alarm changed (failure for failover, recovery for fallback)
    )
    approval_to_insync_seconds: float
    requests: int
    failed: int

    def to_json(self) -> dict[str, Any]:
        return {
            "shift": self.shift,
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


@dataclass
class DrillReport:
    scenario: Scenario
    checks: list[str] = field(default_factory=list)
    shifts: list[ShiftMeasurement] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)
    note: str = ""  # how to read the summary's numbers


@contextlib.contextmanager
def sandbox_environment(state: SandboxState) -> Iterator[None]:
    """Point boto3 (and so opsctl's clients) at the sandbox for the duration of the block."""
    saved = {key: os.environ.get(key) for key in (*state.environment(), "AWS_PROFILE")}
    os.environ.update(state.environment())
    os.environ.pop("AWS_PROFILE", None)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class Players:
    """Players using the game through the shared hostname from the drill's start to its end, one
    thread each with its own resolver; every request goes on the timeline, stamped when sent."""

    def __init__(
        self,
        timeline: Timeline,
        new_resolver: Callable[[], Resolver],
        send: Callable[[Resolver], ApiResponse],
        count: int = PLAYERS,
        pause_seconds: float = PLAYER_PAUSE_SECONDS,
    ) -> None:
        self._timeline = timeline
        self._new_resolver = new_resolver
        self._send = send
        self._in_flight: dict[int, float] = {}  # player -> when its request was sent
        self._workers = [
            PeriodicWorker(
                f"drill-player-{n}",
                self._player(n),
                pause_seconds,
                join_seconds=PLAYER_TIMEOUT_SECONDS + 1.0,
            )
            for n in range(count)
        ]

    def _player(self, n: int) -> Callable[[], None]:
        """Player `n`'s next request, through its own resolver (made on its first request)."""
        resolvers: list[Resolver] = []

        def play() -> None:
            if not resolvers:
                resolvers.append(self._new_resolver())
            sent_at = self._timeline.now()
            self._in_flight[n] = sent_at
            response = self._send(resolvers[0])
            error = None if response.ok else (response.error or f"HTTP {response.status}")
            self._timeline.record(sent_at, response.region, response.ok, error)
            self._in_flight.pop(n, None)

        return play

    def wait_recorded(self, until: float) -> None:
        """Until every request sent before `until` (timeline seconds) is on the timeline: a
        request is recorded when its answer (or its timeout) comes. Bounded by that timeout."""
        deadline = time.monotonic() + PLAYER_TIMEOUT_SECONDS + 1.0
        while any(sent < until for sent in list(self._in_flight.values())):
            if time.monotonic() > deadline:
                return  # a player stuck past its own timeout is counted as it stands
            time.sleep(0.01)

    @property
    def count(self) -> int:
        return len(self._workers)

    def start(self) -> None:
        for worker in self._workers:
            worker.start()

    def stop(self) -> None:
        """Stop sending; each player finishes its request in flight (bounded by its timeout)."""
        for worker in self._workers:
            worker.stop()


class Drill(abc.ABC):
    """What every scenario shares: opsctl's clients on the sandbox, the players and the timeline,
    checks, waits and the operator's alarm inbox. Use as a context manager (the players play
    inside it); a scenario's `run` calls its steps in order."""

    scenario: Scenario
    title: str

    def __init__(self, state: SandboxState, *, say: Callable[[str], None] = output.info) -> None:
        self.state = state
        self.say = say
        self.clients = AwsClients()
        self.topology: Topology = load_topology_file(Path(state.topology_file))
        self.audit_log = AuditLog(Path(state.log_file).parent / "audit.jsonl")
        self.report = DrillReport(self.scenario)
        self._steps = 0
        self.timeline = Timeline()
        self.resolver = self.new_resolver()
        self.token = SigningKey.load(Path(state.key_file)).mint(
            issuer=state.issuer, audience=state.audience, subject="drill-player"
        )
        scale = state.time_scale
        self.poll_seconds = max(0.05, scale)
        # Long enough for FailureThreshold probes, the alarm period and the switch's cache, and
        # for a clean HealthCheckStatus minute: opsctl reads the newest 1-minute datapoint's
        # Minimum, and CloudWatch's minute does not scale.
        self.signal_timeout = 90.0 + 300 * scale
        self._alarm_inbox = self._subscribe_to_alarms()
        self.players = Players(self.timeline, self.new_resolver, self._play)

    def __enter__(self) -> Drill:
        self.players.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.players.stop()

    @abc.abstractmethod
    def run(self) -> DrillReport:
        """The scenario's steps in order; returns the report."""

    def timeline_table(self) -> Table:
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
        """A client's own stub resolver: asks the sandbox's DNS (Route 53's data plane) and keeps
        each answer for its TTL, so a client follows a shift once its cached answer expires."""
        return sandbox_resolver(self.state)

    def _play(self, resolver: Resolver) -> ApiResponse:
        return call_api(
            self.state.hostname, resolver, token=self.token, timeout=PLAYER_TIMEOUT_SECONDS
        )

    def step(self, text: str) -> None:
        """Announce the next step, numbered."""
        self._steps += 1
        self.say(f"{self._steps}. {text}")

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
            self.state.hostname, self.resolver, method=method, path=path, token=self.token, **kwargs
        )

    def _all_clear(self, region: RegionStatus) -> bool:
        """Healthy by the metric, alarm OK, and every checker's latest observation a success."""
        return (
            region.healthy is True
            and region.alarm == "OK"
            and region.checkers_total == self.state.checkers
            and region.checkers_healthy == region.checkers_total
        )

    def show_status(self) -> StatusReport:
        report = self.status()
        output.stdout.print(output.status_renderable(report))
        return report

    @property
    def _inbox_region(self) -> str:
        """The operator's inbox (e-mail in production) is not in the Region that may be lost."""
        return self.topology.secondary.region

    def _subscribe_to_alarms(self) -> str:
        """An SQS queue on the alarm topic: the drill sees what the on-call operator would get."""
        sns = self.clients.client("sns", self.topology.alarm_region)
        sqs = self.clients.client("sqs", self._inbox_region)
        topic_arn = next(
            topic["TopicArn"]
            for topic in sns.list_topics()["Topics"]
            if topic["TopicArn"].endswith(f":{self.topology.app}-alarms")
        )
        queue_url = sqs.create_queue(QueueName=f"drill-inbox-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        return queue_url

    def wait_for_notice(self, alarm_name: str, state: str) -> list[dict[str, Any]]:
        """The alarm notices received until one says `alarm_name` went to `state`, or the signal
        timeout. CloudWatch sets the alarm's state first and notifies after, and SNS delivers
        asynchronously (on AWS as here), so the notice can trail the state by a moment."""
        sqs = self.clients.client("sqs", self._inbox_region)
        deadline = time.monotonic() + self.signal_timeout
        notices: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            received = sqs.receive_message(
                QueueUrl=self._alarm_inbox, MaxNumberOfMessages=10, WaitTimeSeconds=1
            ).get("Messages", [])
            for message in received:
                notices.append(json.loads(json.loads(message["Body"]).get("Message", "{}")))
            if any(n.get("AlarmName") == alarm_name and n.get("NewStateValue") == state
                   for n in notices):  # fmt: skip
                break
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

    # ---- steps every scenario has ---------------------------------------------------------

    def primary_serving_all_healthy(self) -> StatusReport:
        self.step("status: the primary serves, every Region healthy")
        report = self.wait_for(
            "the primary serving with both Regions healthy",
            lambda r: r.serving == "primary" and all(self._all_clear(x) for x in r.regions),
        )
        output.stdout.print(output.status_renderable(report))
        self.check(
            report.consistent, "primary serves; both Regions healthy, alarms OK", report.headline
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
        primary = self.topology.primary.region
        answered = probe(self.state.hostname, self.resolver, token=self.token, count=PROBE_COUNT)
        self.check(
            report.serving == "primary"
            and report.consistent
            and answered.by_region() == {primary: PROBE_COUNT},
            f"primary serves all traffic again ({PROBE_COUNT}/{PROBE_COUNT} probes from {primary})",
            f"after fallback: {report.headline}; probes {answered.by_region()}",
        )
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
            ),
        )
        self.mark("primary alarms OK")
        cleared = "health alarm and Region-impaired alarm" if impaired_deployed else "alarm"
        self.passed(f"primary healthy again, {cleared} OK after {time.monotonic() - started:.1f}s")


class SwitchDrill(Drill):
    """The primary's failure switch breaks it while the rest of its Region keeps running."""

    scenario = Scenario.SWITCH
    title = "switch drill"

    def run(self) -> DrillReport:
        self.primary_serving_all_healthy()
        session = self.create_session()
        flipped_at = self.fail_primary()
        detection = self.detect_failure(flipped_at)
        self.failover(detection)
        self.verify_secondary_serving(session)
        during_outage = self.create_session_on_secondary()
        recovery = self.heal_primary()
        self.fallback(recovery)
        self.primary_serving_again(during_outage)
        self.report.note = (
            "detection: failure switch flipped -> alarm ALARM (failover); healed -> healthy "
            "with alarm OK (fallback)."
        )
        return self.report

    def _set_switch(self, role: str, value: str) -> None:
        """Flip a failure switch through opsctl's switch core: approved, audited."""
        plan = plan_switch(self.clients, self.topology, role, value)
        apply_switch(
            self.clients, self.topology, plan, Approval(reason=DRILL_REASON), self.audit_log
        )

    def _shift(
        self,
        name: str,
        plan_factory: Callable[[], Any],
        *,
        interval: float,
        detection: float,
    ) -> tuple[ShiftResult, ShiftMeasurement]:
        """Plan, approve and apply a shift while the players play; the measurement is recorded."""
        plan = plan_factory()
        output.stdout.print(output.plan_renderable(plan))
        self.say(f"  approving {name} (reason {DRILL_REASON!r}, non-interactive)")
        approval = Approval(reason=DRILL_REASON)
        started = self.mark(f"{name} approved")
        options = ShiftOptions(
            interval=interval,
            poll_interval=self.poll_seconds,
            on_step=lambda index, weights: self.mark(f"step {index + 1}: {weights}"),
        )
        result = apply_shift(self.clients, self.topology, plan, approval, self.audit_log, options)
        ended = self.mark(f"{name} INSYNC")
        output.stdout.print(output.result_renderable(result))
        self.players.wait_recorded(ended)
        during = self.timeline.between(started, ended)
        measured = ShiftMeasurement(
            name,
            detection,
            result.steps[-1].approval_to_insync_seconds if result.steps else 0.0,
            len(during),
            failed(during),
        )
        self.report.shifts.append(measured)
        return result, measured

    # ---- the steps ----------------------------------------------------------------------------

    def fail_primary(self) -> float:
        self.step("flip the primary's failure switch to `failing`")
        self._set_switch("primary", "failing")
        self.mark("primary switch: failing")
        return time.monotonic()

    def detect_failure(self, flipped_at: float) -> float:
        self.step("wait for the health checkers and the alarm")
        report = self.wait_for(
            "the primary's alarm to fire", lambda r: r.region("primary").alarm == "ALARM"
        )
        detection = time.monotonic() - flipped_at
        self.mark("primary health alarm: ALARM")
        self.show_status()
        primary = report.region("primary")
        self.check(
            primary.healthy is False and report.serving == "primary" and not report.consistent,
            f"primary alarm in ALARM after {detection:.1f}s; traffic still on the sick primary",
            f"unexpected status after the flip: {report.headline}",
        )
        alarm_name = self.topology.primary.alarm_name
        notices = self.wait_for_notice(alarm_name, "ALARM")
        self.check(
            any(
                n.get("NewStateValue") == "ALARM" and n.get("AlarmName") == alarm_name
                for n in notices
            ),
            f"SNS notified the operator of the ALARM (seen at {self.mark('SNS notice'):.1f}s)",
            f"no ALARM notice on the alarm topic (got {notices})",
        )
        if self.topology.primary.impaired_alarm_name is not None:
            self._region_impaired(flipped_at)
        return detection

    def _region_impaired(self, flipped_at: float) -> None:
        """The primary's own signals agree. Its api-5xx alarm watches the stage's 5xx share; with
        the players' traffic still light, Route 53's health checks are most of the requests, and
        every one of them now gets a 500: the share is far above the threshold for the whole
        evaluation window, so the composite "Region impaired" alarm fires too."""
        report = self.wait_for(
            "the primary's Region-impaired alarm",
            lambda r: r.region("primary").impaired_alarm == "ALARM",
        )
        self.mark("primary Region-impaired: ALARM")
        self.show_status()
        self.check(
            report.region("secondary").impaired_alarm == "OK",
            f"primary's Region-impaired alarm in ALARM after {time.monotonic() - flipped_at:.1f}s "
            "(its api-5xx alarm: the health checks' 500s); the secondary's stays OK",
            f"the secondary looks impaired too: {report.region('secondary').impaired_alarm}",
        )

    def failover(self, detection: float) -> ShiftMeasurement:
        self.step("fail over to the secondary, approved")
        result, measured = self._shift(
            "failover",
            lambda: plan_failover(self.clients, self.topology),
            interval=0.0,
            detection=detection,
        )
        report = self.status()
        self.check(
            result.completed and report.serving == "secondary" and report.consistent,
            f"secondary serves after failover (change {result.steps[-1].change_id} INSYNC)",
            f"after failover: {report.headline}",
        )
        return measured

    def verify_secondary_serving(self, session: CreatedSession) -> ProbeReport:
        self.step("probe: the secondary serves, tokens, sessions and idempotency survive")
        secondary = self.topology.secondary.region
        report = probe(self.state.hostname, self.resolver, token=self.token, count=PROBE_COUNT)
        self.check(
            report.by_region() == {secondary: PROBE_COUNT} and report.failed == 0,
            f"{PROBE_COUNT}/{PROBE_COUNT} requests answered 200 by {secondary}: tokens accepted",
            f"probe after failover: by region {report.by_region()}, statuses {report.by_status()}",
        )
        self._check_session_readable(session, secondary)
        self._check_idempotent_retry(session)
        return report

    def heal_primary(self) -> float:
        self.step("heal the primary: failure switch back to `healthy`")
        healed_at = time.monotonic()
        self._set_switch("primary", "healthy")
        self.mark("primary switch: healthy")
        self.wait_primary_clear()
        recovery = time.monotonic() - healed_at
        return recovery

    def fallback(self, recovery: float) -> ShiftMeasurement:
        steps = ", ".join(f"{p}%" for p in FALLBACK_STEPS)
        self.step(f"fall back to the primary in steps ({steps}), approved")
        interval = 30.0 * self.state.time_scale
        result, measured = self._shift(
            f"fallback ({steps})",
            lambda: plan_fallback(self.clients, self.topology, FALLBACK_STEPS),
            interval=interval,
            detection=recovery,
        )
        self.check(
            result.completed and len(result.steps) == len(FALLBACK_STEPS),
            f"fallback completed in {len(result.steps)} steps",
            f"fallback stopped: {result.stopped_reason}",
        )
        return measured


def drill_class(scenario: Scenario) -> type[Drill]:
    if scenario is Scenario.REGION_OUTAGE:
        from opsctl.sandbox.outage_drill import RegionOutageDrill  # it builds on this module

        return RegionOutageDrill
    return SwitchDrill


def run_drill(
    state: SandboxState,
    scenario: Scenario = Scenario.SWITCH,
    say: Callable[[str], None] = output.info,
) -> DrillReport:
    """Every step of `scenario` in order against a running sandbox, players playing throughout;
    raises DrillFailed on the first bad check. The timeline is drawn either way."""
    with sandbox_environment(state):
        drill = drill_class(scenario)(state, say=say)
        try:
            with drill:
                return drill.run()
        finally:
            output.stdout.print(drill.timeline_table())
            output.info(drill.players_summary())


def summary_table(report: DrillReport) -> Table:
    table = Table(title=f"{report.scenario} drill summary")
    table.add_column("shift")
    table.add_column("detection", justify="right")
    table.add_column("approval → INSYNC", justify="right")
    table.add_column("requests during shift", justify="right")
    table.add_column("failed", justify="right")
    for shift in report.shifts:
        table.add_row(
            shift.shift,
            f"{shift.detection_seconds:.1f}s",
            f"{shift.approval_to_insync_seconds:.2f}s",
            str(shift.requests),
            str(shift.failed),
        )
    return table


def measurements_table(report: DrillReport) -> Table:
    table = Table(title=f"{report.scenario} drill measurements")
    table.add_column("measured")
    table.add_column("value", justify="right")
    table.add_column("check")
    verdicts = {True: Text("ok", style="green"), False: Text("FAILED", style="bold red")}
    for measurement in report.measurements:
        verdict = verdicts[measurement.ok] if measurement.ok is not None else Text("")
        table.add_row(measurement.what, measurement.value, verdict)
    return table


def run_drill_command(options: SandboxOptions, scenario: Scenario = Scenario.SWITCH) -> DrillReport:
    """Start a fresh sandbox, run the drill, print the timeline and the summary, and always tear
    down what it started (also on Ctrl-C, SIGTERM or SIGHUP: `opsctl.cli.main` turns them into
    KeyboardInterrupt). A sandbox that was already running is refused and left alone."""
    from opsctl.sandbox.lifecycle import start_background, stop_background

    output.info(f"{scenario} drill: starting a fresh sandbox (time scale {options.time_scale}) ...")
    started = time.monotonic()
    state = start_background(options)  # on failure it has stopped what it started
    try:
        output.info(f"sandbox up in {time.monotonic() - started:.1f}s: {state.hostname}")
        report = run_drill(state, scenario)
        if report.shifts:
            output.stdout.print(summary_table(report))
        if report.measurements:
            output.stdout.print(measurements_table(report))
        output.info(f"{report.note} Intervals scaled by {options.time_scale}; see docs/sandbox.md")
        return report
    finally:
        # Nothing may stand between here and the teardown: not even a closed stdout or stderr
        # (a pipe whose reader went away), which makes any print raise.
        with contextlib.suppress(OSError):
            output.info("tearing the sandbox down ...")
        stopped = stop_background(options.directory, started_pid=state.supervisor_pid)
        with contextlib.suppress(OSError):
            if stopped.leftover_addresses or stopped.leftover_pids:
                output.warn(
                    f"left after teardown: listening {stopped.leftover_addresses}, "
                    f"pids {stopped.leftover_pids}"
                )
            else:
                output.info("sandbox stopped; no process or port left")
