"""The steps every scenario has, over a drill's checks and waits: the primary serving with every
Region healthy, a player's game session created and read back, the primary clear and serving
again."""

from __future__ import annotations

import time
import uuid

from opsctl.cli import output, status_view
from opsctl.drill.engine import Drill
from opsctl.drill.model import PROBE_COUNT, CreatedSession
from opsctl.read.probe import probe
from opsctl.read.region_status import RegionStatus
from opsctl.read.status_report import StatusReport

SESSION_BODY = {"game": "drill-arena", "maxPlayers": 4}


def primary_serving_all_healthy(drill: Drill) -> StatusReport:
    drill.step("status: the primary serves, every Region healthy")
    report = drill.wait_for(
        "the primary serving with both Regions healthy",
        # Consistent too: every signal (DNS answers, each Region's view of the other) agrees,
        # which a freshly started or loaded stack may take a few polls to show.
        lambda r: (
            r.serving == "primary" and r.consistent and all(_all_clear(drill, x) for x in r.regions)
        ),
    )
    output.stdout.print(status_view.status_brief(report))
    drill.check(
        report.consistent, "primary serves; both Regions healthy, alarms OK", report.headline
    )
    # The operator's own view of each Region: its healthUrl, probed from this machine.
    probed = [r for r in report.regions if r.probe is not None]
    probes = "; ".join(f"{r.region} {r.probe}" for r in probed) or "no healthUrl to probe"
    drill.check(
        all(r.probe is not None and r.probe.ok for r in probed),
        f"the direct probe of each healthUrl answers: {probes}",
        f"the direct probe of a healthUrl does not answer 2xx: {probes}",
    )
    # The story starts once the players are being served (the fronts' first requests are
    # cold: JWKS fetch, first table reads).
    took = drill.wait_until(
        "the players to be served",
        lambda: sum(s.ok for s in drill.timeline.samples) >= drill.players.count,
        drill.signal_timeout,
    )
    drill.mark("players served")
    drill.passed(f"players served by {drill.topology.primary.region} (waited {took:.1f}s)")
    return report


def create_session(drill: Drill, *, announce: bool = True) -> CreatedSession:
    if announce:
        drill.step("a player creates a game session through the shared hostname")
    key = f"drill-{uuid.uuid4().hex}"
    response = drill.call(
        "POST", "/sessions", json_body=SESSION_BODY, headers={"Idempotency-Key": key}
    )
    drill.check(
        response.status == 201 and response.body is not None,
        f"session created in {response.region} (201)",
        f"POST /sessions answered {response.status} {response.body or response.error}",
    )
    assert response.body is not None
    return CreatedSession(str(response.body["id"]), key, str(response.region))


def primary_serving_again(drill: Drill, session: CreatedSession) -> StatusReport:
    drill.step("status: the primary serves again")
    report = drill.show_status()
    drill.resolver = drill.new_resolver()  # a client arriving now: no answer cached from before
    primary = drill.topology.primary.region
    answered = probe(drill.hostname, drill.resolver, token=drill.token, count=PROBE_COUNT)
    drill.check(
        report.serving == "primary"
        and report.consistent
        and answered.by_region() == {primary: PROBE_COUNT},
        f"primary serves all traffic again ({PROBE_COUNT}/{PROBE_COUNT} probes from {primary})",
        f"after fallback: {report.headline}; probes {answered.by_region()}",
    )
    drill.mark("primary serves again")
    check_session_readable(drill, session, primary)
    return report


def create_session_on_secondary(drill: Drill) -> CreatedSession:
    """A session started during the outage must survive the way back too."""
    created = create_session(drill, announce=False)
    drill.check(
        created.region == drill.topology.secondary.region,
        f"session {created.session_id[:8]} created in {created.region} during the failover",
        f"a new session landed in {created.region}, not the secondary",
    )
    return created


def wait_primary_clear(drill: Drill) -> None:
    """Until the primary is healthy with its alarms OK, as the fallback's preflight requires
    of any Region taking traffic."""
    started = time.monotonic()
    impaired_deployed = drill.topology.primary.impaired_alarm_name is not None
    drill.wait_for(
        "the primary's alarms to clear",
        lambda r: (
            r.region("primary").alarm == "OK"
            and r.region("primary").healthy is True
            and (not impaired_deployed or r.region("primary").impaired_alarm == "OK")
            # The secondary's watcher reaches it again (the fallback's preflight asks).
            and _reached(r.region("primary"))
        ),
    )
    drill.mark("primary alarms OK")
    cleared = "health alarm and Region-impaired alarm" if impaired_deployed else "alarm"
    drill.passed(f"primary healthy again, {cleared} OK after {time.monotonic() - started:.1f}s")


def check_session_readable(drill: Drill, session: CreatedSession, serving_region: str) -> None:
    """Read `session` where every request now lands (a probe just showed it): the body names
    the Region that created it, so finding it in the other one proves replication."""
    read = drill.call("GET", f"/sessions/{session.session_id}")
    read_id = read.body.get("id") if read.body else None
    drill.check(
        read.status == 200 and read_id == session.session_id,
        f"session {session.session_id[:8]} created in {session.region} is readable "
        f"in {serving_region}",
        f"GET /sessions/{session.session_id} answered {read.status} {read.body}",
    )


def check_idempotent_retry(drill: Drill, session: CreatedSession) -> None:
    """A client retrying its POST (same Idempotency-Key) gets the first session back."""
    retry = drill.call(
        "POST",
        "/sessions",
        json_body=SESSION_BODY,
        headers={"Idempotency-Key": session.idempotency_key},
    )
    retried_id = retry.body.get("id") if retry.body else None
    drill.check(
        retry.ok and retried_id == session.session_id,
        "retried POST with the same Idempotency-Key returned the first session, no duplicate",
        f"retried POST answered {retry.status} with session {retried_id} "
        f"(the first was {session.session_id})",
    )


def _all_clear(drill: Drill, region: RegionStatus) -> bool:
    """Healthy by the metric, alarm OK, every checker's latest observation a success, and
    the other Region's watcher reaching it."""
    expected = drill.target.checkers
    return (
        region.healthy is True
        and region.alarm == "OK"
        and (expected is None or region.checkers_total == expected)
        and region.checkers_healthy == region.checkers_total
        and _reached(region)
    )


def _reached(region: RegionStatus) -> bool:
    """The other Region's watcher reaches it (or no watch is deployed)."""
    return region.watch is None or region.watch.alarm == "OK"
