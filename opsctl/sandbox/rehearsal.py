"""`opsctl sandbox drill`: a fresh sandbox, `opsctl drill`'s run against its topology, the report,
the teardown. What only the sandbox has is given to the drill here: its players' resolver (its
DNS server, each answer kept for its TTL), tokens from its IdP, its checker count and an alarm
inbox (a queue on the alarm topic, standing for the on-call e-mail)."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from opsctl.aws import AwsClients
from opsctl.change.audit import AuditLog
from opsctl.cli import output
from opsctl.drill.engine import Drill
from opsctl.drill.model import DrillTarget
from opsctl.drill.outage_drill import RegionOutageDrill
from opsctl.drill.outage_sandbox import OutageSandbox
from opsctl.drill.report import DrillRun, ReportFiles, default_report_dir
from opsctl.drill.runner import report_run, run_drill
from opsctl.drill.scenario import Scenario
from opsctl.drill.switch_drill import SwitchDrill
from opsctl.drill.tokens import TokenOrigin, TokenSource
from opsctl.sandbox.idp import SigningKey
from opsctl.sandbox.state import SandboxState
from opsctl.sandbox.stub_resolver import sandbox_resolver
from opsctl.sandbox.supervisor.processes import SandboxOptions
from opsctl.topology import load_topology_file


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


def sandbox_tokens(state: SandboxState) -> TokenSource:
    key = SigningKey.load(Path(state.key_file))
    return TokenSource(
        TokenOrigin(
            "the sandbox's IdP",
            lambda: key.mint(issuer=state.issuer, audience=state.audience, subject="drill-player"),
        )
    )


def sandbox_target(state: SandboxState) -> DrillTarget:
    """The running sandbox as a drill's target (call inside `sandbox_environment`)."""
    return DrillTarget(
        clients=AwsClients(),
        topology=load_topology_file(Path(state.topology_file)),
        hostname=state.hostname,
        new_resolver=lambda: sandbox_resolver(state),
        tokens=sandbox_tokens(state),
        audit_log=AuditLog(Path(state.log_file).parent / "audit.jsonl"),
        time_scale=state.time_scale,
        checkers=state.checkers,
        alarm_inbox=True,
        dns="sandbox (its DNS server, each answer kept for its TTL)",
    )


def sandbox_drill(
    state: SandboxState, scenario: Scenario, say: Callable[[str], None] = output.info
) -> Drill:
    """The scenario's drill on the running sandbox (call inside `sandbox_environment`)."""
    target = sandbox_target(state)
    if scenario is Scenario.REGION_OUTAGE:
        return RegionOutageDrill(target, OutageSandbox(state), say=say)
    return SwitchDrill(target, say=say)


def run_sandbox_drill(
    options: SandboxOptions, scenario: Scenario = Scenario.SWITCH, report_dir: Path | None = None
) -> tuple[DrillRun, ReportFiles]:
    """Start a fresh sandbox, run the drill, print the timeline and the summary, write the report,
    and always tear down what it started (also on Ctrl-C, SIGTERM or SIGHUP: `opsctl.cli.app.main`
    turns them into KeyboardInterrupt). A sandbox that was already running is refused and left
    alone."""
    from opsctl.sandbox.supervisor.lifecycle import start_background, stop_background

    output.info(f"{scenario} drill: starting a fresh sandbox (time scale {options.time_scale}) ...")
    started = time.monotonic()
    state = start_background(options)  # on failure it has stopped what it started
    try:
        output.info(f"sandbox up in {time.monotonic() - started:.1f}s: {state.hostname}")
        with sandbox_environment(state):
            run = run_drill(sandbox_drill(state, scenario))
        files = report_run(run, report_dir or default_report_dir(scenario.value))
        output.info(f"Intervals scaled by {options.time_scale}; see docs/sandbox.md")
        return run, files
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
                output.info("sandbox torn down; no process or port left")
