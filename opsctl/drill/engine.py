"""The drills: a whole incident, rehearsed on the sandbox through opsctl's real core.

Every drill runs players against the shared hostname from start to end (each with its own
resolver), records each request on a `Timeline` with the drill's events, and ends with the
timeline drawn and a summary.

This module is what every scenario shares (`Drill`); the scenarios are `switch_drill`
(`switch`, the default) and `outage_drill` (`region-outage`); `players` plays throughout;
`drillrun` runs one from the command line. Each check that fails stops the drill with
DrillFailed.
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
from typing import Any

from rich.table import Table

from opsctl import output
from opsctl.audit import AuditLog
from opsctl.aws import AwsClients
from opsctl.drill.players import PLAYER_TIMEOUT_SECONDS, Players
from opsctl.drill.scenario import Scenario
from opsctl.drill.timeline import Timeline, failed, failure_reasons, render_timeline
from opsctl.probe import ApiResponse, Resolver, call_api, probe
from opsctl.sandbox.idp import SigningKey
from opsctl.sandbox.state import SandboxState
from opsctl.sandbox.stubresolver import sandbox_resolver
from opsctl.status import RegionStatus, StatusReport, read_status
from opsctl.topology import load_topology_file
from stack_topology import Topology

DRILL_REASON = "drill"
FALLBACK_STEPS = (10, 50, 100)
PROBE_COUNT = 20
SESSION_BODY = {"game": "drill-arena", "maxPlayers": 4}


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
